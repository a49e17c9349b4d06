"""The dashboards' browser tests use the shared headless Chromium fixtures."""

from tests.browser import browser, page, screenshots  # noqa: F401
