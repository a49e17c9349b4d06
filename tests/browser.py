"""Browser fixtures: Debian's headless Chromium driven by Playwright, screenshots kept.

The fixtures are registered once for every test by ``tests/conftest.py``.

Playwright's own browser download is not reachable here, so it drives the system
Chromium (`make setup` installs it). Screenshots land in ``test-output/screenshots/``
(git-ignored) so a person can look at what a user would see.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the test session."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: run `make setup` (installs Debian's chromium)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh 1440x900 page in its own browser context."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where browser tests save what they saw."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def grid_text(page) -> str:
    """The cells of every data grid on the page (the grid keeps an accessible table of what
    it draws)."""
    return " ".join(page.locator("[data-testid=stDataFrame] td").all_text_contents())
