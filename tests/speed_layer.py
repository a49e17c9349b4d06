"""A speed layer of a test module's own on the real stack: own checkpoints, registry, port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fraudstack.config import Config
from streaming import control
from tests.overlay import overlaid
from tests.polling import free_port


@contextmanager
def running_speed_layer(
    folder: Path,
    root: str,
    *,
    queries: tuple[str, ...] = (),
    sections: dict[str, dict[str, Any]] | None = None,
    **settings: Any,
) -> Iterator[Config]:
    """``fraudstack stream start`` with every path under the HDFS folder ``root`` (deleted
    afterwards), reading only what arrives from now on; ``settings`` override the
    ``streaming`` section, ``sections`` other sections, and ``queries`` (default: all)
    names the queries to run."""
    streaming = {
        "metrics_port": free_port(),
        "checkpoint_dir": f"{root}/checkpoints",
        "archive_dir": f"{root}/master",
        "views_dir": f"{root}/views",
        "models_dir": f"{root}/models",
        "starting_offsets": "latest",
        "refresh_seconds": 1,
        "quarantine_trigger": "1 second",
        "archive_trigger": "5 seconds",
        **settings,
    }
    with overlaid(folder, root, {**(sections or {}), "streaming": streaming}) as config:
        if control.status(config).running:
            pytest.fail("a speed layer is already running: `fraudstack stream stop` first")
        control.start(config, queries)
        try:
            yield config
        finally:
            control.stop(config)
