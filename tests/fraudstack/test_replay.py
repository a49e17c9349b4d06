"""Replay of a user's own file, and the live generator, through the real Kafka."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudstack.config import Config
from fraudstack.events import parse_time
from fraudstack.pii import Tokeniser, load_key
from fraudstack.replay import replay
from fraudstack.simulator.run import live
from fraudstack.simulator.settings import SimulatorSettings
from storage.kafka_log import end_offsets, read_between

pytestmark = pytest.mark.integration
TOPICS = ["transactions", "dead_letter"]
HEADER = (
    "transaction_id,event_time,customer_id,merchant_id,amount,currency,payment_method,"
    "card_number,email,ip,category,quantity,channel,country"
)
CSV = (
    "\n".join(
        [
            HEADER,
            "u-1,2026-11-01T10:00:00Z,cust-9,m-1,19.99,EUR,card,4111 1111 1111 1111,"
            "Ana@Example.com,10.1.2.3,books,1,web,DE",
            "u-2,2026-11-01T10:00:00.500Z,cust-9,m-2,1500,EUR,card,4111111111111111,"
            "ana@example.com,10.1.2.3,electronics,1,web,DE",
            "u-3,2026-11-01T10:00:01Z,cust-7,m-2,abc,EUR,card,4000000000000002,"
            "c@d.com,10.9.9.9,electronics,1,web,FR",
        ]
    )
    + "\n"
)


def sent_between(stack: Config, action) -> list:
    before = end_offsets(stack.kafka_bootstrap, TOPICS)
    result = action()
    return result, read_between(
        stack.kafka_bootstrap, before, end_offsets(stack.kafka_bootstrap, TOPICS)
    )


def test_replaying_a_csv_tokenises_pii_and_dead_letters_bad_rows(
    stack: Config, tmp_path: Path
) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(CSV)
    tokens = Tokeniser(load_key(stack.home))
    counts, records = sent_between(
        stack, lambda: replay(path, stack.kafka_bootstrap, tokens, speedup=10)
    )
    assert counts == {"sent": 2, "dead_letter": 1}
    good = sorted(
        (json.loads(r.value) for r in records if r.topic == "transactions"),
        key=lambda r: r["transaction_id"],
    )
    assert [r["transaction_id"] for r in good] == ["u-1", "u-2"]
    assert (
        good[0]["card_token"] == good[1]["card_token"] == tokens.token("card", "4111111111111111")
    )
    assert good[0]["email_token"] == good[1]["email_token"]
    assert good[1]["amount"] == 1500.0 and good[0]["quantity"] == 1
    payloads = b"".join(r.value for r in records if r.topic == "transactions")
    assert b"4111" not in payloads and b"xample.com" not in payloads and b"10.1.2.3" not in payloads
    [letter] = [json.loads(r.value) for r in records if r.topic == "dead_letter"]
    assert letter["reason"] == "amount: expected float, got str"


def test_replaying_parquet_keeps_event_times(stack: Config, tmp_path: Path) -> None:
    path = tmp_path / "mine.parquet"
    when = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    base = {
        "customer_id": "c-p",
        "merchant_id": "m-1",
        "currency": "USD",
        "payment_method": "wallet",
    }
    rows = [
        {
            **base,
            "transaction_id": f"p-{i}",
            "event_time": when + dt.timedelta(seconds=i),
            "amount": 10.0 + i,
        }
        for i in range(5)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    counts, records = sent_between(
        stack,
        lambda: replay(path, stack.kafka_bootstrap, Tokeniser(load_key(stack.home)), speedup=0),
    )
    assert counts == {"sent": 5}
    times = sorted(
        parse_time(json.loads(r.value)["event_time"]) for r in records if r.topic == "transactions"
    )
    assert times == [when + dt.timedelta(seconds=i) for i in range(5)]


def test_live_mode_sends_at_the_rate_with_event_time_now(stack: Config, tmp_path: Path) -> None:
    settings = SimulatorSettings(seed=4, customers=500, merchants=30)
    started = dt.datetime.now(dt.UTC)
    counts, records = sent_between(
        stack, lambda: live(stack, settings, 200, 3, tmp_path / "truth.parquet")
    )
    sent = [json.loads(r.value) for r in records if r.topic == "transactions"]
    assert len(sent) == counts["transactions:sent"]
    assert 550 <= len(sent) <= 700  # 3 s at 200/s, plus ~1% duplicates
    times = [parse_time(r["event_time"]) for r in sent]
    assert min(times) >= started - dt.timedelta(seconds=1)
    assert max(times) <= dt.datetime.now(dt.UTC)
    truth = pq.read_table(tmp_path / "truth.parquet").to_pylist()
    assert {row["transaction_id"] for row in truth} >= {r["transaction_id"] for r in sent}
