from pathlib import Path

from storage.cassandra_schema import schema_statements


def test_schema_statements_fill_the_keyspace_and_drop_comments(tmp_path: Path) -> None:
    schema = tmp_path / "schema.cql"
    schema.write_text(
        "-- a comment; with a semicolon\n"
        "CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': ${replication_factor}};\n\n"
        "CREATE TABLE IF NOT EXISTS ${keyspace}.t (\n  k text PRIMARY KEY -- key\n);\n"
    )
    assert schema_statements(schema, "ks", 3) == [
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 3}",
        "CREATE TABLE IF NOT EXISTS ks.t ( k text PRIMARY KEY )",
    ]


def test_every_committed_statement_is_idempotent() -> None:
    schema = Path(__file__).parents[2] / "storage" / "cassandra" / "schema.cql"
    statements = schema_statements(schema, "fraudstack")
    assert statements
    assert all("IF NOT EXISTS" in statement for statement in statements)
