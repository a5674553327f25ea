"""Pulumi entry point: the stack name selects the program (a cell id, `landing-zone`, `control-plane`)."""

from pathlib import Path

import pulumi

from fleet.stacks import StackError, run_stack
from model.errors import InputErrors

try:
    run_stack(pulumi.get_stack(), Path(__file__).resolve().parent)
except InputErrors as exc:
    raise pulumi.RunError(f"invalid fleet inputs:\n{exc}") from None
except StackError as exc:
    raise pulumi.RunError(str(exc)) from None
