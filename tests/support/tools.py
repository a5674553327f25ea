"""Where the tests find third-party tools installed by `scripts/setup`."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools"


def tool_command(env: str, command: str | None = None) -> Path:
    """The executable `command` (default: `env`) from the tool environment `.tools/<env>/`.

    Fails (never skips) when it is missing: the README's test command installs it.
    """
    path = TOOLS / env / "bin" / (command or env)
    if not path.exists():
        raise AssertionError(f"{path} is missing: run ./scripts/setup (tools/{env}.txt)")
    return path


def system_command(name: str) -> str:
    """A Debian-installed executable (also looked up in /usr/sbin); fails when missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/lib/postgresql")
    if found is None:
        raise AssertionError(f"{name} is missing: run ./scripts/setup (it installs the Debian package)")
    return found
