from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections import Counter

import pytest

from fraudstack.events import parse_time, validate
from fraudstack.pii import Tokeniser
from fraudstack.simulator.faults import on_the_wire
from fraudstack.simulator.generator import Marketplace
from fraudstack.simulator.settings import (
    SCENARIOS,
    ChargebackSettings,
    FaultRates,
    SimulatorSettings,
)

START = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)  # a Monday
TOKENS = Tokeniser(b"test-key-" * 4)


def history(settings: SimulatorSettings, days: int) -> list:
    return list(Marketplace(settings, TOKENS, START).history(START, days))


@pytest.fixture(scope="module")
def month() -> list:
    settings = SimulatorSettings(seed=3, customers=2_000, transactions_per_day=4_000)
    return history(settings, 30)


def test_same_seed_same_data_other_seed_other_data() -> None:
    settings = SimulatorSettings(seed=1, customers=300, transactions_per_day=500)
    first, again = history(settings, 2), history(settings, 2)
    assert [e.record for e in first] == [e.record for e in again]
    other = history(SimulatorSettings(seed=2, customers=300, transactions_per_day=500), 2)
    assert [e.record for e in other] != [e.record for e in first]


def test_every_generated_event_is_valid_and_in_time_order(month: list) -> None:
    assert all(validate(e.record, e.kind) is None for e in month)
    times = [e.time for e in month]
    assert times == sorted(times)


def test_every_scenario_appears_at_its_rate_and_is_labelled(month: list) -> None:
    sales = [e for e in month if e.kind == "transaction"]
    rates = SimulatorSettings().scenario_rates
    counts = Counter(e.scenario for e in sales if e.is_fraud)
    assert set(counts) == set(SCENARIOS)
    for scenario, rate in rates.items():
        # exact per day by construction; rounding per day is the only slack
        assert counts[scenario] / len(sales) == pytest.approx(rate, rel=0.1), scenario
    assert all(e.scenario is None for e in sales if not e.is_fraud)


def test_scenarios_look_like_what_they_are(month: list) -> None:
    fraud = [e for e in month if e.kind == "transaction" and e.is_fraud]
    by = {s: [e.record for e in fraud if e.scenario == s] for s in SCENARIOS}
    assert max(r["amount"] for r in by["card_testing"]) <= 5.0
    assert min(r["amount"] for r in by["account_takeover"]) >= 400
    assert max(r["account_age_days"] for r in by["new_customer_high_value"]) <= 2
    rings: dict[str, set[str]] = {}
    for r in by["shared_ring"]:
        rings.setdefault(r["device_id"], set()).add(r["customer_id"])
    shared = sum(1 for members in rings.values() if len(members) >= 2)
    assert shared >= 0.9 * len(rings), "ring devices should be shared by several accounts"
    assert len({r["merchant_id"] for r in by["compromised_merchant"]}) <= 30  # one breach a day
    legit = [e.record for e in month if e.kind == "transaction" and not e.is_fraud]
    assert max(r["amount"] for r in legit) > 1000, "legitimate customers splurge too"


def test_chargebacks_follow_their_sale_with_the_configured_delay() -> None:
    labels = ChargebackSettings(
        delay_median_days=5, delay_sigma=0.5, fraud_dispute_rate=1.0, max_delay_days=20
    )
    settings = SimulatorSettings(
        seed=9, customers=1_000, transactions_per_day=2_000, chargebacks=labels
    )
    events = history(settings, 60)
    sales = {e.record["transaction_id"]: e for e in events if e.kind == "transaction"}
    chargebacks = [e for e in events if e.kind == "chargeback"]
    delays = []
    for cb in chargebacks:
        sale = sales[cb.record["transaction_id"]]
        delay = (
            parse_time(cb.record["event_time"]) - parse_time(sale.record["event_time"])
        ).total_seconds()
        assert 86_400 <= delay <= 20 * 86_400
        assert cb.record["is_fraud"] == sale.is_fraud
        delays.append(delay / 86_400)
    frauds_due = [
        e for e in sales.values() if e.is_fraud and e.time < START + dt.timedelta(days=40)
    ]
    fraud_charged = {cb.record["transaction_id"] for cb in chargebacks if cb.record["is_fraud"]}
    assert {e.record["transaction_id"] for e in frauds_due} - fraud_charged == set(), (
        "late fraud label lost"
    )
    assert statistics.median(delays) == pytest.approx(5, rel=0.15)
    # a chargeback never precedes what it disputes, so labels are always late
    assert all(cb.time > sales[cb.record["transaction_id"]].time for cb in chargebacks)
    false = [cb for cb in chargebacks if not cb.record["is_fraud"]]
    assert false and len(false) < len(chargebacks) / 2


def test_faults_occur_at_their_rates_and_malformed_records_fail_validation(month: list) -> None:
    rates = FaultRates()
    wire = list(on_the_wire(iter(month), rates, seed=3))
    sales = sum(1 for e in month if e.kind == "transaction")
    faults = Counter((w.fault or "none").split(":")[0] for w in wire if w.topic == "transactions")
    expectations = {
        "missing": rates.missing,
        "outlier": rates.outlier,
        "duplicate": rates.duplicate,
        "malformed": rates.malformed,
    }
    for fault, rate in expectations.items():
        expected = rate * sales
        assert abs(faults[fault] - expected) < 4 * math.sqrt(expected) + 2, (
            fault,
            faults[fault],
            expected,
        )
    for w in wire:
        reason = validate(w.value, "transaction" if w.topic == "transactions" else "chargeback")
        assert (reason is not None) == (w.fault == "malformed"), (w.fault, reason)
        if w.fault and w.fault.startswith("missing:"):
            assert json.loads(w.value)[w.fault.split(":")[1]] is None
