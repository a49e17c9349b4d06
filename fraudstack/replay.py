"""Replay a user's own transactions (CSV or Parquet) into Kafka through the same checks.

Columns are the transaction contract's field names (see the README). Raw personal
data may come as ``card_number``, ``email`` and ``ip``: those columns are tokenised
into ``card_token``, ``email_token`` and ``ip_token`` and never sent. Rows are sent
in event-time order, paced by their event-time gaps divided by ``speedup``
(0 = as fast as possible); invalid rows go to the dead-letter topic with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fraudstack.events import SCHEMA_VERSION, TRANSACTION_FIELDS, format_time, parse_time
from fraudstack.pii import Tokeniser

RAW_PII = {
    "card_number": ("card", "card_token"),
    "email": ("email", "email_token"),
    "ip": ("ip", "ip_token"),
}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or Parquet file, as dictionaries."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # card numbers, ids and times stay text: no guessing that turns them into numbers
    text = (
        "card_number",
        "ip",
        "event_time",
        "transaction_id",
        "customer_id",
        "merchant_id",
        "device_id",
    )
    options = pacsv.ConvertOptions(column_types={column: pa.string() for column in text})
    return pacsv.read_csv(path, convert_options=options).to_pylist()


def to_record(row: dict[str, Any], tokens: Tokeniser) -> dict[str, Any]:
    """A contract-shaped record from a user row: PII tokenised, times normalised."""
    record = {key: value for key, value in row.items() if key not in RAW_PII}
    for column, (kind, token_field) in RAW_PII.items():
        if row.get(column) is not None:
            record[token_field] = tokens.token(kind, str(row[column]))
    record.setdefault("schema_version", SCHEMA_VERSION)
    for field in TRANSACTION_FIELDS:  # CSV columns with one bad cell arrive as text
        value = record.get(field.name)
        if isinstance(value, str) and field.kind in ("int", "float"):
            try:
                record[field.name] = int(value) if field.kind == "int" else float(value)
            except ValueError:
                pass  # left as text: validation rejects it with the reason
    when = record.get("event_time")
    if isinstance(when, dt.datetime):
        record["event_time"] = format_time(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    return record


def paced(records: list[dict[str, Any]], speedup: float) -> Iterator[dict[str, Any]]:
    """Yield records in event-time order, sleeping the event-time gaps divided by ``speedup``."""

    def moment(record: dict[str, Any]) -> float:
        try:
            return parse_time(str(record.get("event_time"))).timestamp()
        except ValueError:
            return 0.0  # unparsable: sent at once, rejected by validation

    ordered = sorted(records, key=moment)
    if not ordered:
        return
    first, began = moment(ordered[0]), time.monotonic()
    for record in ordered:
        if speedup > 0:
            delay = (moment(record) - first) / speedup - (time.monotonic() - began)
            if delay > 0:
                time.sleep(delay)
        yield record


def replay(
    path: Path,
    bootstrap: str,
    tokens: Tokeniser,
    speedup: float,
    topic: str = "transactions",
    metrics: tuple[str, int] | None = None,
) -> Counter[str]:
    """Send every row of ``path`` to ``topic``; returns counts of sent and dead-lettered rows."""
    from storage.kafka_producer import EventProducer

    producer = EventProducer(bootstrap, metrics=metrics)
    counts: Counter[str] = Counter()
    try:
        for record in paced([to_record(row, tokens) for row in read_rows(path)], speedup):
            key = str(record.get("customer_id") or "").encode() or None
            rejected = producer.send(topic, key, json.dumps(record, default=str).encode())
            counts["dead_letter" if rejected else "sent"] += 1
        producer.flush()
    finally:
        producer.close()
    return counts
