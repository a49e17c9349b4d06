"""The speed layer's browser test (the order and stock pages) uses the shared headless
Chromium fixtures."""

from tests.browser import browser, page, screenshots  # noqa: F401
