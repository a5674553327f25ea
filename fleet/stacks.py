"""Which program a Pulumi stack runs: a cell id builds that cell; a few names are reserved.

Reserved stacks map to `"module:function"`; the function takes the loaded Fleet and runs
inside the Pulumi program. A capability wires its stack by filling in its one line below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from fleet.loader import load_fleet
from fleet.model import Fleet

Program = Callable[[], None]

RESERVED: dict[str, str | None] = {
    "landing-zone": "landing_zone.stack:program",
    "control-plane": "pipelines.control_plane:program",
}


class StackError(Exception):
    """The stack name selects no program; the message says why and what is valid."""


def valid_stacks(fleet: Fleet) -> list[str]:
    return [*sorted(RESERVED), *fleet.ids]


def program_for(stack: str, fleet: Fleet) -> Program:
    """The program for stack `stack` of `fleet`, or StackError naming the valid stacks."""
    if stack in RESERVED:
        target = RESERVED[stack]
        if target is None:
            raise StackError(f"stack {stack!r} is reserved for a program that is not wired yet (fleet/stacks.py)")
        module, _, attr = target.partition(":")
        function: Callable[[Fleet], None] = getattr(importlib.import_module(module), attr)
        return lambda: function(fleet)
    if stack in fleet.ids:
        from modules.cell.program import cell_program

        cell = fleet.cell(stack)
        return lambda: cell_program(cell)
    raise StackError(f"unknown stack {stack!r}; valid stacks: {', '.join(valid_stacks(fleet))}")


def run_stack(stack: str, root: Path) -> None:
    """Load the fleet under `root` and run the program of `stack` (called by `__main__.py`)."""
    program_for(stack, load_fleet(root))()
