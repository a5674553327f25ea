"""Reading input files: bounded in size, relative paths in messages, every failure an InputError."""

from __future__ import annotations

from pathlib import Path

from model.errors import InputError, InputErrors
from model.yamldoc import Document, parse_document

MAX_INPUT_BYTES = 1024 * 1024  # no cell file, policy, routes config, manifest or script comes near 1 MiB


def display_path(path: Path, root: Path | None = None) -> str:
    """The path as users should see it: relative to the fleet root when inside it."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):
            pass
    return str(path)


def read_text(path: Path, shown: str) -> str:
    """The UTF-8 text of an input file, or InputErrors (missing, unreadable, binary, too large)."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputErrors([InputError(shown, 1, "(file)", f"{size:,} bytes; input files are limited to "
                                                               f"{MAX_INPUT_BYTES:,}")])
        data = path.read_bytes()
    except (OSError, RuntimeError) as exc:
        raise InputErrors([InputError(shown, 1, "(file)", f"cannot read: {exc.__class__.__name__}: {exc}")]) from None
    if b"\0" in data:
        raise InputErrors([InputError(shown, 1, "(file)", "binary file, expected UTF-8 text")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputErrors([InputError(shown, line, "(file)", "not valid UTF-8 text")]) from None


def load_document(path: Path, root: Path | None = None, *, allow_empty: bool = False) -> Document:
    """Read and parse one YAML input file."""
    shown = display_path(path, root)
    return parse_document(read_text(path, shown), shown, allow_empty=allow_empty)


def yaml_files(folder: Path) -> list[Path]:
    """`*.yaml`/`*.yml` files of a folder not starting with `_`, sorted (symlink loops are skipped)."""
    out = []
    for path in folder.iterdir():
        try:
            if path.suffix in {".yaml", ".yml"} and not path.name.startswith("_") and path.is_file():
                out.append(path)
        except OSError:
            continue
    return sorted(out)
