from __future__ import annotations

import datetime as dt
import json

import pytest

from fraudstack.events import CONTRACTS, MAX_RECORD_BYTES, TRANSACTION_SCHEMA, validate

GOOD = {
    "schema_version": 1,
    "transaction_id": "tx-1",
    "event_time": "2026-11-01T10:00:00.000Z",
    "customer_id": "c-1",
    "merchant_id": "m-1",
    "amount": 12.5,
    "currency": "EUR",
    "payment_method": "card",
    "card_token": "ab" * 16,
    "email_token": None,
    "ip_token": None,
    "device_id": None,
    "category": "books",
    "quantity": 1,
    "channel": "web",
    "country": "DE",
    "lat": 52.5,
    "lon": 13.4,
    "account_age_days": 10,
}


def test_a_good_transaction_is_valid_as_object_text_and_bytes() -> None:
    assert validate(GOOD) is None
    assert validate(json.dumps(GOOD)) is None
    assert validate(json.dumps(GOOD).encode()) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": "12.5"}, "amount: expected float, got str"),
        ({"amount": True}, "amount: expected float, got bool"),
        ({"amount": -1}, "amount: -1 below minimum 0.01"),
        ({"amount": None}, "missing required field amount"),
        ({"currency": "XXX"}, "currency: unknown value 'XXX'"),
        ({"event_time": "yesterday"}, "event_time: not a timestamp"),
        (
            {"event_time": "2026-11-01T10:00:00"},
            "event_time: not a timestamp (timestamp without a timezone)",
        ),
        ({"customer_id": " "}, "customer_id: empty string"),
        ({"schema_version": 2}, "unsupported schema_version 2"),
        ({"card_number": "4111111111111111"}, "unknown field(s) ['card_number']"),
        ({"quantity": 0}, "quantity: 0 below minimum 1"),
        ({"amount": float("nan")}, "amount: not a finite number"),
        ({"amount": float("inf")}, "amount: not a finite number"),
        ({"lat": float("-inf")}, "lat: not a finite number"),
        ({"merchant_id": "m" * 257}, "merchant_id: 257 characters, more than 256"),
        ({"device_id": "d-\ud800"}, "device_id: not valid Unicode (a lone surrogate)"),
        (
            {"event_time": "9999-12-31T23:59:59Z"},
            "event_time: 9999-12-31T23:59:59Z outside 2000-01-01 to 2100-01-01",
        ),
        (
            {"event_time": "1970-01-01T00:00:00Z"},
            "event_time: 1970-01-01T00:00:00Z outside 2000-01-01 to 2100-01-01",
        ),
        ({"event_time": "2026-11-01T10:00:00+25:00"}, "event_time: not a timestamp"),
    ],
)
def test_each_invalid_record_says_why(change: dict, reason: str) -> None:
    assert (validate({**GOOD, **change}) or "").startswith(reason)


def test_malformed_payloads_are_rejected_with_a_reason() -> None:
    assert (validate(b'{"schema_version": 1, "amount": ') or "").startswith("malformed JSON")
    assert validate(b"\xff\xfe") is not None
    assert validate("[1, 2]") == "expected a JSON object, got list"


def test_oversized_and_deeply_nested_payloads_are_refused_before_parsing() -> None:
    padded = json.dumps({**GOOD, "device_id": "d" * 200}) + " " * MAX_RECORD_BYTES
    assert validate(padded) == f"record of {len(padded)} bytes, more than {MAX_RECORD_BYTES}"
    assert validate(b"[" * 10_000) == "malformed JSON: nested too deeply"
    long_version = validate({**GOOD, "schema_version": "v" * 5_000}) or ""
    assert len(long_version) < 200, "a reason never carries the whole payload"


def test_surrogate_bytes_the_json_decoder_lets_through_are_refused() -> None:
    raw = json.dumps(GOOD).encode().replace(b'"c-1"', b'"c-\xed\xa0\x80"')  # CESU-8
    assert validate(raw) == "customer_id: not valid Unicode (a lone surrogate)"
    assert validate({**GOOD, "device_id": "caf\u00e9"}) is None


def test_an_event_dated_over_a_day_after_it_was_received_is_refused() -> None:
    received = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    assert validate(GOOD, received_at=received) is None
    tomorrow = {**GOOD, "event_time": "2026-11-02T09:59:59.000Z"}
    assert validate(tomorrow, received_at=received) is None
    next_week = {**GOOD, "event_time": "2026-11-08T10:00:00.000Z"}
    assert validate(next_week, received_at=received) == (
        "event_time: 2026-11-08T10:00:00.000Z is more than 1 day after it was received "
        "(2026-11-01T10:00:00.000Z)"
    )
    assert validate(next_week) is None, "history re-read without a receive time: fixed bounds"


def test_nullable_fields_may_be_missing_but_required_ones_may_not() -> None:
    optional = {f.name for f in CONTRACTS["transaction"] if not f.required}
    assert validate({k: v for k, v in GOOD.items() if k not in optional}) is None
    assert (
        validate({k: v for k, v in GOOD.items() if k != "merchant_id"})
        == "missing required field merchant_id"
    )


def test_the_spark_schema_follows_the_contract() -> None:
    assert TRANSACTION_SCHEMA.names == [f.name for f in CONTRACTS["transaction"]]
    assert not TRANSACTION_SCHEMA["amount"].nullable
    assert TRANSACTION_SCHEMA["device_id"].nullable
    assert TRANSACTION_SCHEMA["event_time"].dataType.typeName() == "timestamp"


@pytest.mark.spark
def test_the_column_form_of_the_contract_agrees_with_validate(spark) -> None:
    from pyspark.sql import functions as F

    from fraudstack.events import is_valid_column, spark_schema

    good = {
        "schema_version": 1, "transaction_id": "t1", "event_time": "2026-11-01T10:00:00.000Z",
        "customer_id": "c1", "merchant_id": "m1", "amount": 10.0, "currency": "USD",
        "payment_method": "card", "quantity": 2,
    }  # fmt: skip
    cases = [
        good,
        {**good, "currency": "XXX"},
        {**good, "amount": -1},
        {**good, "amount": None},
        {**good, "quantity": 0},
        {**good, "schema_version": 2},
        {**good, "payment_method": "cash"},
        {**good, "amount": float("nan")},
        {**good, "lat": float("inf")},
        {**good, "merchant_id": "m" * 257},
        {**good, "event_time": "9999-01-01T00:00:00Z"},
        {**good, "event_time": "1999-12-31T23:59:59Z"},
    ]
    rows = [(json.dumps(case),) for case in cases]
    parsed = spark.createDataFrame(rows, "value string").select(
        F.from_json("value", spark_schema("transaction")).alias("t")
    )
    verdicts = [row[0] for row in parsed.select("t.*").select(is_valid_column()).collect()]
    assert verdicts == [validate(case) is None for case in cases]


@pytest.mark.spark
def test_the_reason_column_words_rejections_as_validate_does(spark) -> None:
    from pyspark.sql import functions as F

    from fraudstack.events import rejection_reason_column
    from streaming.transforms import wire_schema

    cases = [
        GOOD,
        {**GOOD, "amount": float("nan")},
        {**GOOD, "lon": float("-inf")},
        {**GOOD, "device_id": "d" * 300},
        {**GOOD, "event_time": "1970-01-01T00:00:00.000Z"},
    ]
    typed = (
        spark.createDataFrame([(json.dumps(case),) for case in cases], "value string")
        .select(F.from_json("value", wire_schema("transaction")).alias("t"))
        .select("t.*")
    )
    reasons = [row[0] for row in typed.select(rejection_reason_column()).collect()]
    assert reasons == [validate(case) for case in cases]
    assert reasons[1:] == [
        "amount: not a finite number",
        "lon: not a finite number",
        "device_id: 300 characters, more than 256",
        "event_time: 1970-01-01T00:00:00.000Z outside 2000-01-01 to 2100-01-01",
    ]
