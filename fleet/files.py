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
            # The folder resolved, not the file: a symlinked input is shown where it sits, not where it points.
            return (path.parent.resolve() / path.name).relative_to(root.resolve()).as_posix()
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
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc.__class__.__name__
        raise InputErrors([InputError(shown, 1, "(file)", f"cannot read: {reason}")]) from None
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
    """`*.yaml`/`*.yml` entries of a folder not starting with `_`, sorted; folders are skipped.

    A broken symlink or a symlink loop is kept, so reading it reports the problem instead of the cell
    silently missing from the fleet.
    """
    out = []
    for path in folder.iterdir():
        if path.suffix not in {".yaml", ".yml"} or path.name.startswith("_"):
            continue
        try:
            if path.is_dir():
                continue
        except OSError:
            pass
        out.append(path)
    return sorted(out)
