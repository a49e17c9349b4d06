"""The Cassandra schema declared in ``storage/cassandra/schema.cql``, applied idempotently."""

from __future__ import annotations

import re
import string
from pathlib import Path

from storage.cassandra_client import cluster as cassandra_cluster


def schema_statements(path: Path, keyspace: str, replication_factor: int = 1) -> list[str]:
    """The CQL statements of the schema file, placeholders filled, comments dropped."""
    text = string.Template(path.read_text()).substitute(
        keyspace=keyspace, replication_factor=replication_factor
    )
    text = re.sub(r"--[^\n]*", "", text)
    statements = [" ".join(part.split()) for part in text.split(";")]
    return [statement for statement in statements if statement]


def apply_schema(host: str, port: int, statements: list[str], keyspace: str) -> list[str]:
    """Run every statement (all ``IF NOT EXISTS``) and report the tables that are new.

    Returns:
        One line per keyspace or table created by this call.
    """
    cluster = cassandra_cluster(host, port, timeout=30)
    try:
        session = cluster.connect()

        def tables() -> set[str]:
            rows = session.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,)
            )
            return {row.table_name for row in rows}

        had_keyspace = (
            session.execute(
                "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
                (keyspace,),
            ).one()
            is not None
        )
        before = tables()
        for statement in statements:
            session.execute(statement)
        created = sorted(tables() - before)
    finally:
        cluster.shutdown()
    return ([] if had_keyspace else [f"created keyspace {keyspace}"]) + [
        f"created table {keyspace}.{name}" for name in created
    ]
