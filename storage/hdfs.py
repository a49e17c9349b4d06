"""Small file operations on HDFS (or any Hadoop file system) through Spark's JVM.

Used for pointer files (the current batch-view version, the promoted model) that
must be replaced atomically: write a temporary file, then rename it over the old.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def read_text(spark: SparkSession, path: str) -> str | None:
    """The content of a small text file, or None if it does not exist."""
    fs, hadoop_path = _fs(spark, path)
    if not fs.exists(hadoop_path):
        return None
    stream = fs.open(hadoop_path)
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (readers see the old or the new, never half)."""
    fs, target = _fs(spark, path)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    temporary = jvm.org.apache.hadoop.fs.Path(f"{path}.{uuid.uuid4().hex}.tmp")
    stream = fs.create(temporary, True)
    try:
        stream.write(text.encode())
    finally:
        stream.close()
    options = jvm.org.apache.hadoop.fs.Options.Rename.OVERWRITE
    gateway = spark.sparkContext._gateway
    assert gateway is not None
    rename_options = gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 1)
    rename_options[0] = options
    jvm.org.apache.hadoop.fs.FileContext.getFileContext(
        target.toUri(), spark.sparkContext._jsc.hadoopConfiguration()
    ).rename(temporary, target, rename_options)


def list_names(spark: SparkSession, path: str) -> list[str]:
    """Names of the entries directly under ``path`` (empty if it does not exist)."""
    fs, hadoop_path = _fs(spark, path)
    if not fs.exists(hadoop_path):
        return []
    return sorted(str(status.getPath().getName()) for status in fs.listStatus(hadoop_path))
