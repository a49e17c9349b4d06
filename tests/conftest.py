"""Shared fixtures: the real local stack (once per test session), one SparkSession and
one headless browser.

Integration tests run against the same services a user gets from `fraudstack up`.
If the stack is already up (a developer's session), it is reused and left running;
otherwise the test session starts it and stops it at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fraudstack.config import Config, load_config
from fraudstack.stack import launcher

# one headless Chromium for the whole session: Playwright's sync API allows one instance
# at a time, so its fixtures are defined here once, not per folder
from tests.browser import browser, page, screenshots  # noqa: F401


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def stack(config: Config) -> Iterator[Config]:
    """The whole local stack, healthy."""
    already = {s.name for s in launcher.status(config) if s.state == "healthy"}
    launcher.up(config, report=lambda name, event: print(f"[stack] {name}: {event}"))
    yield config
    if already:
        return
    launcher.down(config)
    deadline = time.monotonic() + 15  # a listener can take a moment to close after exit
    while left := [
        f"{s.name} ({s.state}: {s.detail})" for s in launcher.status(config) if s.state != "stopped"
    ]:
        assert time.monotonic() < deadline, f"`down` left services running or ports taken: {left}"
        time.sleep(0.5)


@pytest.fixture(scope="session")
def spark(stack: Config):
    """One SparkSession for the whole test session, wired to the real HDFS and metastore."""
    from fraudstack.spark import build_session

    session = build_session("fraudstack-tests", stack, extra={"spark.ui.enabled": "false"})
    yield session
    session.stop()
