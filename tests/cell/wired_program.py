"""A stand-in reserved-stack program, for the stack selection test."""

from __future__ import annotations

import pulumi

from fleet.model import Fleet


def program(fleet: Fleet) -> None:
    pulumi.export("cells", len(fleet.cells))
