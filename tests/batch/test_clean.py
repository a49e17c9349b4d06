"""Cleaning the master dataset: reasons in the contract's words, first copy kept, repairs
listed, outliers flagged and kept."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from batch.clean import clean_transactions, quarantine_rows, with_reason
from batch.master import wire_schema

pytestmark = pytest.mark.spark


def wire_row(tx_id: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "schema_version": 1, "transaction_id": tx_id, "event_time": "2026-07-01T10:00:00Z",
        "customer_id": "c1", "merchant_id": "m1", "amount": 20.0, "currency": "USD",
        "payment_method": "card", "card_token": "k1", "email_token": "e1", "ip_token": "i1",
        "device_id": "d1", "category": "books", "quantity": 1, "channel": "web",
        "country": "US", "lat": 40.0, "lon": -74.0, "account_age_days": 300,
        "event_date": "2026-07-01",
    }  # fmt: skip
    return {**row, **changes}


@pytest.fixture(scope="module")
def raw(spark):
    rows = [
        wire_row("ok"),
        wire_row("dup", event_time="2026-07-01T11:00:00Z"),
        wire_row("dup", event_time="2026-07-01T10:30:00Z", amount=21.0),
        wire_row("no-category", category=None, channel=None),
        wire_row("bad-time", event_time="yesterday"),
        wire_row("bad-currency", currency="XXX"),
        wire_row("no-customer", customer_id=None),
        wire_row("too-much", amount=2_000_000.0),
        *[wire_row(f"n{i}", amount=float(10 + i)) for i in range(30)],
        wire_row("huge", amount=9_000.0),
    ]
    df = spark.createDataFrame([tuple(r.values()) for r in rows], wire_schema("transaction"))
    return with_reason(df.withColumn("source", F.lit("history")), "transaction").cache()


def test_invalid_rows_get_the_contracts_reason(raw) -> None:
    reasons = {r.transaction_id: r.rejection for r in raw.where("rejection IS NOT NULL").collect()}
    assert reasons == {
        "bad-time": "event_time: not a timestamp",
        "bad-currency": "currency: unknown value 'XXX'",
        "no-customer": "missing required field customer_id",
        "too-much": "amount: 2000000.0 above maximum 1e+06",
    }
    stored = quarantine_rows(raw.where("rejection IS NOT NULL"), "transaction").first()
    assert stored.event_type == "transaction" and '"transaction_id":' in stored.raw


def test_clean_rows_are_deduplicated_repaired_and_flagged(raw) -> None:
    clean = {
        r.transaction_id: r for r in clean_transactions(raw.where("rejection IS NULL"), 4).collect()
    }
    assert len(clean) == raw.where("rejection IS NULL").count() - 1  # one duplicate removed
    assert clean["dup"].amount == 21.0, "the earliest copy is kept"
    assert (clean["no-category"].category, clean["no-category"].channel) == ("unknown", "unknown")
    assert clean["no-category"].repaired == ["category", "channel"] and clean["ok"].repaired == []
    assert clean["huge"].is_outlier and not clean["n29"].is_outlier and not clean["ok"].is_outlier
    assert clean["ok"].amount_usd == 20.0 and str(clean["ok"].event_time).startswith("2026-07-01")


def test_a_chargebacks_own_reason_survives_cleaning(spark) -> None:
    from batch.clean import clean_chargebacks

    row = (1, "cb1", "t1", "c1", "m1", "2026-07-09T10:00:00Z", "2026-07-01T10:00:00Z", 20.0,
           "USD", "fraud_card_not_present", True, "2026-07-09")  # fmt: skip
    raw = spark.createDataFrame([row], wire_schema("chargeback")).withColumn(
        "source", F.lit("history")
    )
    checked = with_reason(raw, "chargeback")
    [clean] = clean_chargebacks(checked.where("rejection IS NULL")).collect()
    assert clean.reason == "fraud_card_not_present" and clean.is_fraud
