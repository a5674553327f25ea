"""One headless Chromium (Debian's, driven by playwright; no browser download) for every page test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.tools import system_command

ARTEFACTS = Path(__file__).resolve().parents[2] / ".test-artefacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: while playwright's sync driver runs, its event loop is the running loop, which the
    rest of the suite (Pulumi's mocks) must not see; it is closed when the module's tests are done."""
    executable = system_command("chromium")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS


@pytest.fixture(autouse=True)
def _fresh_event_loop() -> None:
    """Overrides the suite's fresh Pulumi event loop: playwright's sync driver runs its own loop here."""
