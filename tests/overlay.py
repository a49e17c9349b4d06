"""Configuration overlays for tests: own paths, databases and ports per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from fraudstack.config import Config, load_config
from storage.master_dataset import delete_from_hdfs


@contextmanager
def overlaid(folder: Path, hdfs_root: str, sections: dict[str, dict[str, Any]]) -> Iterator[Config]:
    """The configuration with ``sections`` (e.g. ``{"streaming": {...}}``) laid over it
    (``$FRAUDSTACK_CONFIG``, so jobs spawned meanwhile see them too); ``hdfs_root`` is
    deleted afterwards."""
    overlay = folder / "overlay.yaml"
    overlay.write_text(yaml.safe_dump(sections))
    previous = os.environ.get("FRAUDSTACK_CONFIG")
    os.environ["FRAUDSTACK_CONFIG"] = str(overlay)
    config = load_config()
    try:
        yield config
    finally:
        if previous is None:
            os.environ.pop("FRAUDSTACK_CONFIG", None)
        else:
            os.environ["FRAUDSTACK_CONFIG"] = previous
        delete_from_hdfs(config.address("namenode", "http_port"), hdfs_root)
