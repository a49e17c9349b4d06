"""The fraud-model registry on HDFS: versions, their evaluation, and the promoted one.

Layout: ``<models_dir>/version=<v>/model`` (a Spark ML PipelineModel),
``<models_dir>/version=<v>/metrics.json`` (evaluation), and ``<models_dir>/PROMOTED``
naming the version the speed layer scores with. The batch layer registers and
promotes; the speed layer checks ``PROMOTED`` between micro-batches and swaps models
without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from storage import hdfs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def register(spark: SparkSession, models_dir: str, model: Any, metrics: dict[str, Any]) -> str:
    """Save a fitted PipelineModel and its evaluation as a new version (not promoted).

    Returns:
        The version: a UTC timestamp, so versions sort in registration order.
    """
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    model.write().save(f"{models_dir}/version={version}/model")
    hdfs.write_text(
        spark, f"{models_dir}/version={version}/metrics.json", json.dumps(metrics, indent=2)
    )
    return version


def promote(spark: SparkSession, models_dir: str, version: str) -> None:
    """Make ``version`` the model the speed layer uses.

    Raises:
        FileNotFoundError: no such version.
    """
    if f"version={version}" not in hdfs.list_names(spark, models_dir):
        raise FileNotFoundError(f"no model version {version} under {models_dir}")
    hdfs.write_text(spark, f"{models_dir}/PROMOTED", version)


def promoted_version(spark: SparkSession, models_dir: str) -> str | None:
    """The promoted version, or None while no model has been promoted."""
    text = hdfs.read_text(spark, f"{models_dir}/PROMOTED")
    return text.strip() if text else None


def load(models_dir: str, version: str) -> Any:
    """The PipelineModel of ``version``."""
    from pyspark.ml import PipelineModel

    return PipelineModel.load(f"{models_dir}/version={version}/model")


def versions(spark: SparkSession, models_dir: str) -> list[str]:
    """Every registered version, oldest first."""
    names = hdfs.list_names(spark, models_dir)
    return [name.removeprefix("version=") for name in names if name.startswith("version=")]
