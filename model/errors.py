"""Input errors: one line per problem, `path:line: field: message`; the one error type of the project."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class InputError:
    """One problem in one input file (or CLI option, with line 0)."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class InputErrors(Exception):
    """Raised with every problem found; the CLI prints them and exits 1."""

    def __init__(self, errors: Iterable[InputError]) -> None:
        self.errors: tuple[InputError, ...] = tuple(sorted(set(errors)))
        super().__init__("\n".join(str(e) for e in self.errors))


def option_error(option: str, field: str, message: str) -> InputError:
    """A problem with a command-line value, reported like an input file's (line 0)."""
    return InputError(option, 0, field, message)
