"""Parse the cell files (`cells/*.yaml`) with their tier defaults into a validated Fleet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from model.cells import Cell, Fleet, Product, Tier
from model.errors import InputError, InputErrors
from model.validation import validation_errors
from model.yamldoc import Document, Loc

CELLS_DIR = "cells"
DEFAULTS_FILE = "_defaults.yaml"
_DEFAULTS_KEYS = {"all", "tiers"}
_PER_CELL = {"id", "tier", "customers", "decommission"}  # never a default: one cell's identity and lifecycle


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `override` replaces `base`."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping, else empty (the defaults file's shape errors are reported on their own)."""
    return value if isinstance(value, dict) else {}


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
        for key in data:
            if key not in _DEFAULTS_KEYS:
                self.errors.append(doc.error((key,), "unknown key"))
        self.errors.extend(self._section_errors(doc, data))

    @staticmethod
    def _section_errors(doc: Document, data: dict[str, Any]) -> list[InputError]:
        """Unknown tiers and keys, and sections that are not mappings."""
        fields = set(Cell.model_fields) - _PER_CELL
        errors: list[InputError] = []
        sections: list[tuple[tuple[str, ...], Any]] = [(("all",), data.get("all"))]
        tiers = data.get("tiers")
        if tiers is not None and not isinstance(tiers, dict):
            errors.append(doc.error(("tiers",), "expected a mapping of tier -> values"))
        for tier, values in _mapping(tiers).items():
            if tier in {t.value for t in Tier}:
                sections.append((("tiers", tier), values))
            else:
                errors.append(doc.error(("tiers", tier), "unknown tier"))
        for loc, values in sections:
            if values is not None and not isinstance(values, dict):
                errors.append(doc.error(loc, "expected a mapping of cell variables"))
            errors.extend(doc.error((*loc, key), "set in the cell's own file, never as a default" if key in _PER_CELL
                                    else "unknown key") for key in _mapping(values) if key not in fields)
        return errors

    def for_tier(self, tier: Any) -> dict[str, Any]:
        """Defaults for a cell of `tier`; keys already reported as unknown are left out."""
        fields = set(Cell.model_fields) - _PER_CELL
        merged = deep_merge({}, _mapping(self.data.get("all")))
        if isinstance(tier, str):
            merged = deep_merge(merged, _mapping(_mapping(self.data.get("tiers")).get(tier)))
        return {k: v for k, v in merged.items() if k in fields}

    def locate(self, tier: Any, loc: Loc) -> InputError | None:
        """Where in the defaults file a value at `loc` came from (the message left empty)."""
        if self.doc is None:
            return None
        for prefix in (("tiers", str(tier)), ("all",)):
            if self.doc.has((*prefix, *loc)):
                return self.doc.error((*prefix, *loc), "")
        return None


def _parse_cell(doc: Document, defaults: _Defaults) -> tuple[Cell | None, list[InputError]]:
    data = doc.data
    if not isinstance(data, dict):
        return None, [doc.error((), "expected a mapping of cell variables", "(file)")]
    merged = deep_merge(defaults.for_tier(data.get("tier")), data)
    try:
        cell = Cell.model_validate(merged)
    except ValidationError as exc:
        return None, validation_errors(exc, doc, locate=lambda loc: defaults.locate(data.get("tier"), loc))
    errors = []
    stem = PurePosixPath(doc.shown).stem
    if cell.id != stem:
        errors.append(doc.error(("id",), f"must equal the file name {stem!r}"))
    missing = [p.value for p in Product if p not in cell.services]
    if missing:
        services_loc: tuple[str, ...] = ("services",) if doc.has(("services",)) else ()
        errors.append(doc.error(services_loc, f"missing product service(s): {', '.join(missing)}", "services"))
    if not cell.private_cidr and not cell.public_vpc_cidr:
        errors.append(doc.error(("vpc_cidr",), f"{cell.vpc_cidr} is outside the private ranges (10/8, 172.16/12, "
                                               "192.168/16); set public_vpc_cidr: true if that is intended"))
    if cell.decommission and cell.customers:
        errors.append(doc.error(("decommission",), f"customers still mapped to this cell: {', '.join(cell.customers)}; "
                                                   "move them to another cell first (and drop them from `customers`)"))
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


def _one_delivery(cells: Sequence[tuple[Cell, Document]]) -> list[InputError]:
    """Workloads have one owner fleet-wide: every cell names the same `delivery` (the first cell's)."""
    if not cells:
        return []
    first = min(cells, key=lambda item: item[0].id)[0]
    return [
        doc.error(("delivery",) if doc.has(("delivery",)) else (), f"{cell.delivery.value!r} differs from the fleet's "
                  f"{first.delivery.value!r} (cell {first.id}); set it once under `all:` in {DEFAULTS_FILE}", "delivery")
        for cell, doc in cells if cell.delivery is not first.delivery
    ]


def parse_fleet(cell_docs: Sequence[Document], defaults_doc: Document | None, folder: str = CELLS_DIR) -> Fleet:
    """Validate every parsed cell file with the tier defaults; raise InputErrors listing all problems."""
    defaults = _Defaults(defaults_doc)
    if defaults.errors:  # every cell builds on the defaults: their problems alone, not each cell's fallout
        raise InputErrors(defaults.errors)
    errors: list[InputError] = []
    parsed: list[tuple[Cell, Document]] = []
    seen: dict[str, Document] = {}
    for doc in cell_docs:
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
    errors.extend(_one_delivery(parsed))
    retiring = sorted((c for c, _ in parsed if c.decommission), key=lambda c: c.id)
    parsed = [(c, d) for c, d in parsed if not c.decommission]
    if not parsed and not errors:
        errors.append(InputError(folder, 1, "(file)", "no active cell files (all say decommission: true)" if retiring
                                 else "no cell files"))
    if not any(cell.tier is Tier.CANARY for cell, _ in parsed) and not errors:
        leaving = [c.id for c in retiring if c.tier is Tier.CANARY]
        errors.append(InputError(folder, 1, "tier", "the fleet has no canary cell" + (
            f" ({', '.join(leaving)} says decommission: true; add another canary first)" if leaving else "")))
    if errors:
        raise InputErrors(errors)
    parsed.sort(key=lambda item: item[0].id)
    return Fleet(cells=tuple(c for c, _ in parsed), sources={cid: d.shown for cid, d in sorted(seen.items())},
                 decommissioning=tuple(retiring))
