"""The speed layer's validation and dead-letter shaping, as plain batch functions."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest

from fraudstack.events import MAX_RECORD_BYTES
from streaming.transforms import dead_letter_records, with_rejection_reason
from tests.fraudstack.test_events import GOOD

pytestmark = pytest.mark.spark

RECEIVED = dt.datetime(2026, 11, 1, 10, 30)  # naive UTC, as Spark holds timestamps


def kafka_rows(spark, values: list[bytes | None]):
    rows = [("transactions", 0, n, RECEIVED, b"k", v) for n, v in enumerate(values)]
    schema = (
        "topic string, partition int, offset long, timestamp timestamp, key binary, value binary"
    )
    return spark.createDataFrame(rows, schema)


def test_a_record_dated_days_after_its_kafka_timestamp_is_refused(spark) -> None:
    future = {**GOOD, "event_time": "2026-11-05T10:00:00.000Z"}
    values = [json.dumps(GOOD).encode(), json.dumps(future).encode(), None, b"\xff"]
    reasons = [
        row.reason
        for row in with_rejection_reason(kafka_rows(spark, values)).orderBy("offset").collect()
    ]
    assert reasons[0] is None
    assert reasons[1] == (
        "event_time: 2026-11-05T10:00:00.000Z is more than 1 day after it was received "
        "(2026-11-01T10:30:00.000Z)"
    )
    assert reasons[2] == "empty message (null value)"
    assert reasons[3].startswith("malformed JSON")


def test_an_oversized_record_leaves_a_dead_letter_that_fits_in_kafka(spark) -> None:
    huge = b"{" + b" " * (3 * MAX_RECORD_BYTES) + b"}"
    rejected_df = with_rejection_reason(kafka_rows(spark, [huge]))
    letter = json.loads(dead_letter_records(rejected_df).collect()[0].value)
    assert letter["reason"] == f"record of {len(huge)} bytes, more than {MAX_RECORD_BYTES}"
    assert letter["raw_bytes"] == len(huge) and letter["raw_truncated"] is True
    assert base64.b64decode(letter["raw_base64"]) == huge[:MAX_RECORD_BYTES]
    assert letter["raw_sha256"] == hashlib.sha256(huge).hexdigest()
    assert letter["source_offset"] == 0 and letter["stage"] == "speed_layer"


def test_personal_data_in_a_refused_record_is_masked_in_dead_letter_and_quarantine(spark) -> None:
    from streaming.transforms import quarantine_rows

    raw = json.dumps({**GOOD, "email": "ann@example.com", "note": "ip 10.1.2.3"}).encode()
    rejected_df = with_rejection_reason(kafka_rows(spark, [raw]))
    letter = json.loads(dead_letter_records(rejected_df).collect()[0].value)
    stored = quarantine_rows(rejected_df).collect()[0].raw
    for text in (letter["raw"], base64.b64decode(letter["raw_base64"]).decode(), stored.decode()):
        assert "ann@example.com" not in text and "10.1.2.3" not in text
        assert '"email": "<email>"' in text and "ip <ip>" in text
        assert GOOD["card_token"] in text, "tokens and ids are left alone"
    assert letter["raw_redacted"] is True
    assert letter["raw_sha256"] == hashlib.sha256(raw).hexdigest()
