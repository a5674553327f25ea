"""Load `cells/*.yaml` with tier defaults into a validated Fleet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleet.errors import InputError, InputErrors, display_path
from fleet.model import Cell, Fleet, Product, Tier
from fleet.parsing import clean_loc, error_message
from fleet.yamlio import Document, Loc, dotted, load_document

CELLS_DIR = "cells"
DEFAULTS_FILE = "_defaults.yaml"
_DEFAULTS_KEYS = {"all", "tiers"}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `override` replaces `base`."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _Defaults:
    """`cells/_defaults.yaml`: values for every cell (`all`) and per tier (`tiers`)."""

    def __init__(self, doc: Document | None) -> None:
        self.doc = doc
        self.errors: list[InputError] = []
        data = doc.data if doc is not None else {}
        if doc is not None and not isinstance(data, dict):
            self.errors.append(doc.error((), "expected a mapping with `all` and `tiers`", "(file)"))
            data = {}
        self.data: dict[str, Any] = data
        if doc is None:
            return
        fields = set(Cell.model_fields) - {"id", "tier"}
        for key in data:
            if key not in _DEFAULTS_KEYS:
                self.errors.append(doc.error((key,), "unknown key"))
        for key in data.get("all") or {}:
            if key not in fields:
                self.errors.append(doc.error(("all", key), "unknown key"))
        for tier, values in (data.get("tiers") or {}).items():
            if tier not in {t.value for t in Tier}:
                self.errors.append(doc.error(("tiers", tier), "unknown tier"))
                continue
            for key in values or {}:
                if key not in fields:
                    self.errors.append(doc.error(("tiers", tier, key), "unknown key"))

    def for_tier(self, tier: Any) -> dict[str, Any]:
        """Defaults for a cell of `tier`; keys already reported as unknown are left out."""
        fields = set(Cell.model_fields) - {"id", "tier"}
        merged = deep_merge({}, self.data.get("all") or {})
        if isinstance(tier, str):
            merged = deep_merge(merged, (self.data.get("tiers") or {}).get(tier) or {})
        return {k: v for k, v in merged.items() if k in fields}

    def locate(self, tier: Any, loc: Loc) -> tuple[str, int, str] | None:
        """Where in the defaults file a value at `loc` came from: (path, line, dotted field there)."""
        if self.doc is None:
            return None
        for prefix in (("tiers", str(tier)), ("all",)):
            if self.doc.has((*prefix, *loc)):
                return self.doc.shown, self.doc.line_of((*prefix, *loc)), dotted((*prefix, *loc))
        return None


def cell_files(root: Path) -> list[Path]:
    """The cell variable files: every `*.yaml`/`*.yml` in `cells/` not starting with `_`."""
    folder = root / CELLS_DIR
    return sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and not p.name.startswith("_"))


def _parse_cell(doc: Document, defaults: _Defaults) -> tuple[Cell | None, list[InputError]]:
    data = doc.data
    if not isinstance(data, dict):
        return None, [doc.error((), "expected a mapping of cell variables", "(file)")]
    merged = deep_merge(defaults.for_tier(data.get("tier")), data)
    try:
        cell = Cell.model_validate(merged)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = clean_loc(tuple(err["loc"]))
            where = (doc.shown, doc.line_of(loc), dotted(loc)) if doc.has(loc) or not loc else None
            where = where or defaults.locate(data.get("tier"), loc) or (doc.shown, doc.line_of(loc), dotted(loc))
            errors.append(InputError(where[0], where[1], where[2], error_message(err)))
        return None, errors
    errors = []
    if cell.id != doc.path.stem:
        errors.append(doc.error(("id",), f"must equal the file name {doc.path.stem!r}"))
    missing = [p.value for p in Product if p not in cell.services]
    if missing:
        services_loc: tuple[str, ...] = ("services",) if doc.has(("services",)) else ()
        errors.append(doc.error(services_loc, f"missing product service(s): {', '.join(missing)}", "services"))
    if cell.is_enterprise:
        for key in ("maintenance_window", "notification_channel"):
            if getattr(cell, key) is None:
                errors.append(doc.error(("tier",), "required for enterprise cells", key))
    return cell, errors


def _overlaps(cells: Iterable[tuple[Cell, Document]]) -> list[InputError]:
    groups: dict[tuple[str, str], list[tuple[IPv4Network, Cell, Document]]] = defaultdict(list)
    for cell, doc in cells:
        groups[(cell.account, cell.region)].append((cell.vpc_cidr, cell, doc))
    errors = []
    for members in groups.values():
        members.sort(key=lambda m: (int(m[0].network_address), m[1].id))
        widest: tuple[IPv4Network, Cell] | None = None
        for net, cell, doc in members:
            if widest is not None and net.overlaps(widest[0]):
                message = f"{net} overlaps {widest[0]} of cell {widest[1].id} in the same account and region"
                errors.append(doc.error(("vpc_cidr",), message))
            if widest is None or int(net.broadcast_address) > int(widest[0].broadcast_address):
                widest = (net, cell)
    return errors


def load_fleet(root: Path) -> Fleet:
    """Parse and validate every cell file under `root/cells`; raise InputErrors listing all problems."""
    folder = root / CELLS_DIR
    if not folder.is_dir():
        raise InputErrors([InputError(display_path(folder, root), 1, "(file)", "no cells/ folder in the fleet root")])
    errors: list[InputError] = []
    defaults_path = folder / DEFAULTS_FILE
    defaults_doc = None
    if defaults_path.exists():
        try:
            defaults_doc = load_document(defaults_path, root)
        except InputErrors as exc:
            # Every cell builds on the defaults: report the file alone rather than each cell's fallout.
            raise InputErrors(exc.errors) from None
    defaults = _Defaults(defaults_doc)
    errors.extend(defaults.errors)

    parsed: list[tuple[Cell, Document]] = []
    seen: dict[str, Document] = {}
    for path in cell_files(root):
        try:
            doc = load_document(path, root)
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        cell, cell_errors = _parse_cell(doc, defaults)
        errors.extend(cell_errors)
        if cell is None:
            continue
        if cell.id in seen:
            errors.append(doc.error(("id",), f"duplicate cell id, also in {seen[cell.id].shown}"))
            continue
        seen[cell.id] = doc
        parsed.append((cell, doc))

    errors.extend(_overlaps(parsed))
    if not parsed and not errors:
        errors.append(InputError(display_path(folder, root), 1, "(file)", "no cell files"))
    if not any(cell.tier is Tier.CANARY for cell, _ in parsed) and not errors:
        errors.append(InputError(display_path(folder, root), 1, "tier", "the fleet has no canary cell"))
    if errors:
        raise InputErrors(errors)
    parsed.sort(key=lambda item: item[0].id)
    return Fleet(root=root, cells=tuple(c for c, _ in parsed), sources={c.id: d.shown for c, d in parsed})
