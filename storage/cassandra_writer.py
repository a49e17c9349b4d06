"""Write Spark DataFrames to Cassandra from the executors with the Python driver.

No Spark Cassandra Connector is published for Spark 4 (the newest on Maven Central
is 3.5.x), so each Spark task writes its own partition with ``cassandra-driver``:
one session per Python worker process (reused across tasks), a prepared INSERT and
``execute_concurrent_with_args``. Cassandra INSERTs are upserts, so writing the same
rows twice (a retried task or a replayed micro-batch) leaves one copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cassandra.cluster import Session
    from pyspark.sql import DataFrame, Row

_SESSIONS: dict[tuple[str, int], Session] = {}


@dataclass(frozen=True)
class CassandraTarget:
    """Where and how to write: contact point, table and the columns to fill."""

    host: str
    port: int
    keyspace: str
    table: str
    columns: tuple[str, ...]
    ttl_seconds: int | None = None
    concurrency: int = 64
    consistency: str | None = None  # e.g. LOCAL_QUORUM with RF 3; None: the driver's default

    def insert_cql(self) -> str:
        names = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        ttl = f" USING TTL {self.ttl_seconds}" if self.ttl_seconds else ""
        return f"INSERT INTO {self.keyspace}.{self.table} ({names}) VALUES ({marks}){ttl}"


def worker_session(host: str, port: int) -> Session:
    """One driver session per worker process and contact point."""
    from storage.cassandra_client import cluster

    key = (host, port)
    if key not in _SESSIONS:
        _SESSIONS[key] = cluster(host, port).connect()
    return _SESSIONS[key]


RETRIES = 3  # rounds of re-sending the writes that failed (timeouts under load)


def with_retries(
    execute: Callable[[list[Any]], list[tuple[bool, Any]]],
    rows: list[Any],
    table: str,
    retries: int = RETRIES,
    pause: float = 1.0,
    action: str = "writes to",
) -> list[Any]:
    """Run ``execute`` over ``rows``, then again over the rows that failed, up to ``retries``
    times with a doubling pause: safe for upserts and reads, which any number of tries
    leaves the same.

    Returns:
        The results of the rows, the first round's successes first.

    Raises:
        RuntimeError: rows still failed after the last round; the message holds an error.
    """
    pending, done = rows, []
    for attempt in range(retries + 1):
        results = execute(pending)
        done += [result for ok, result in results if ok]
        failed = [row for row, (ok, _) in zip(pending, results, strict=True) if not ok]
        if not failed:
            return done
        if attempt == retries:
            error = next(result for ok, result in results if not ok)
            raise RuntimeError(
                f"{len(failed)} of {len(rows)} {action} {table} failed after {retries} "
                f"retries: {error}"
            )
        time.sleep(pause * 2**attempt)
        pending = failed
    raise AssertionError("unreachable")


def execute_with_retries(
    session: Session,
    statement: Any,
    params: list[Any],
    table: str,
    concurrency: int,
    retries: int = RETRIES,
    pause: float = 1.0,
    action: str = "writes to",
) -> list[Any]:
    """``statement`` over every tuple of ``params``, ``concurrency`` in flight; those that
    fail are sent again (:func:`with_retries`). Returns the results (result sets)."""
    from cassandra.concurrent import execute_concurrent_with_args

    def execute(batch: list[Any]) -> list[tuple[bool, Any]]:
        return list(
            execute_concurrent_with_args(
                session, statement, batch, concurrency=concurrency, raise_on_first_error=False
            )
        )

    return with_retries(execute, params, table, retries, pause, action)


def write_rows(target: CassandraTarget, rows: Iterable[Sequence[Any]]) -> int:
    """Upsert ``rows`` (values in ``target.columns`` order) and return how many were written.

    Writes that fail (a timeout on a loaded node) are sent again (:func:`with_retries`).

    Raises:
        RuntimeError: writes still failed after the retries; the message holds an error.
    """
    session = worker_session(target.host, target.port)
    prepared = session.prepare(target.insert_cql())
    if target.consistency:
        from cassandra import ConsistencyLevel

        prepared.consistency_level = ConsistencyLevel.name_to_value[target.consistency]

    written = execute_with_retries(session, prepared, list(rows), target.table, target.concurrency)
    return len(written)


def _write_partition(target: CassandraTarget, partition: Iterator[Row]) -> None:
    write_rows(target, (tuple(row[name] for name in target.columns) for row in partition))


def write_to_tables(
    targets: Sequence[tuple[CassandraTarget, str | None]], rows: Sequence[Row]
) -> None:
    """Upsert ``rows`` into each target table (the rows whose ``flag`` column is true)."""
    for target, flag in targets:
        chosen = (row for row in rows if flag is None or row[flag])
        write_rows(target, (tuple(row[name] for name in target.columns) for row in chosen))


def write_dataframe(df: DataFrame, target: CassandraTarget) -> None:
    """Upsert every row of ``df`` into the target table, each Spark task its own partition.

    Args:
        df: rows to write; must have every column named in ``target.columns``.
        target: the table and how to reach it.

    Raises:
        ValueError: ``df`` lacks a target column.
    """
    missing = [name for name in target.columns if name not in df.columns]
    if missing:
        raise ValueError(f"cannot write to {target.table}: DataFrame lacks columns {missing}")
    df.select(*target.columns).foreachPartition(lambda rows: _write_partition(target, rows))


def write_dataframe_to_tables(
    df: DataFrame, targets: Sequence[tuple[CassandraTarget, str | None]]
) -> None:
    """Upsert the rows of ``df`` into several tables in one pass over the data.

    Args:
        df: rows holding every column any target names.
        targets: each table with the name of a boolean column of ``df`` that selects
            the rows it receives (None: every row).

    Raises:
        ValueError: ``df`` lacks a column a target needs.
    """
    needed = {name for target, flag in targets for name in (*target.columns, flag) if name}
    missing = sorted(needed - set(df.columns))
    if missing:
        raise ValueError(f"cannot write to Cassandra: DataFrame lacks columns {missing}")
    chosen = list(targets)
    df.select(*sorted(needed)).foreachPartition(lambda rows: write_to_tables(chosen, list(rows)))
