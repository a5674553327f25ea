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
    errors: list[InputError] = list(defaults.errors)
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
    if not parsed and not errors:
        errors.append(InputError(folder, 1, "(file)", "no cell files"))
    if not any(cell.tier is Tier.CANARY for cell, _ in parsed) and not errors:
        errors.append(InputError(folder, 1, "tier", "the fleet has no canary cell"))
    if errors:
        raise InputErrors(errors)
    parsed.sort(key=lambda item: item[0].id)
    return Fleet(cells=tuple(c for c, _ in parsed), sources={c.id: d.shown for c, d in parsed})
