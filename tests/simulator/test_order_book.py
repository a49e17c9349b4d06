"""Orders and stock behind the simulated sales: consistent, valid, sales left as they were."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import replace

import pytest

from fraudstack.config import Config
from fraudstack.events import validate
from fraudstack.orders import transition_problem
from fraudstack.simulator.faults import WireRecord
from fraudstack.simulator.run import wire_history
from fraudstack.simulator.settings import OrderSettings, SimulatorSettings

START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
SETTINGS = SimulatorSettings(seed=5, customers=200, merchants=30, transactions_per_day=800)
WITH_ORDERS = replace(SETTINGS, orders=OrderSettings(enabled=True, invalid_transition_rate=0.01))


@pytest.fixture(scope="module")
def week(config: Config) -> list[WireRecord]:
    return list(wire_history(config, WITH_ORDERS, START, 7))


def test_orders_leave_the_sales_and_chargebacks_of_a_seed_byte_for_byte(
    config: Config, week: list[WireRecord]
) -> None:
    without = [(r.topic, r.key, r.value) for r in wire_history(config, SETTINGS, START, 7)]
    sales = [(r.topic, r.key, r.value) for r in week if r.topic in ("transactions", "chargebacks")]
    assert sales == without


def test_every_order_and_stock_event_is_valid_keyed_and_in_time_order(
    week: list[WireRecord],
) -> None:
    topics = collections.Counter(r.topic for r in week)
    assert topics["order_status"] > 3 * topics["transactions"]
    assert topics["inventory"] > 0.9 * topics["transactions"]
    for record in week:
        if record.topic == "order_status":
            assert validate(record.value, "order_status") is None
            assert record.key == record.event.record["order_id"].encode()
        if record.topic == "inventory":
            assert validate(record.value, "inventory") is None
            assert record.key == record.event.record["product_id"].encode()
    times = [r.event.time for r in week]
    assert times == sorted(times)


def test_an_order_behind_each_sale_progresses_over_time_with_a_few_invalid_transitions(
    week: list[WireRecord],
) -> None:
    sales = {r.event.record["transaction_id"]: r.event for r in week if r.topic == "transactions"}
    history: dict[str, list[dict]] = collections.defaultdict(list)
    for record in week:
        if record.topic == "order_status":
            history[record.event.record["order_id"]].append(record.event.record)
    created = [h[0] for h in history.values()]
    assert all(first["status"] == "created" for first in created)
    assert {first["transaction_id"] for first in created} == set(sales)
    for first in created[:200]:  # created at checkout, with the payment's facts
        sale = sales[first["transaction_id"]].record
        assert (first["event_time"], first["customer_id"], first["amount"]) == (
            sale["event_time"], sale["customer_id"], sale["amount"],
        )  # fmt: skip
    problems = collections.Counter()
    for changes in history.values():
        assert [c["event_time"] for c in changes] == sorted(c["event_time"] for c in changes)
        previous = None
        for change in changes:
            problems[transition_problem(previous, change["status"])] += 1
            previous = change["status"]
    invalid = sum(n for problem, n in problems.items() if problem)
    assert 0 < invalid < 0.03 * len(history)
    assert set(problems) - {None} == {
        "delivered after paid (allowed: cancelled, refunded, shipped)"
    }
    finished = collections.Counter(changes[-1]["status"] for changes in history.values())
    assert finished["delivered"] > finished["cancelled"] > 0 and finished["refunded"] > 0


def test_sales_take_stock_down_restocks_bring_it_up_and_some_products_run_out(
    week: list[WireRecord],
) -> None:
    level: dict[str, int] = {}
    kinds: collections.Counter[str] = collections.Counter()
    for record in week:
        if record.topic != "inventory":
            continue
        change = record.event.record
        product, kind = change["product_id"], change["change_type"]
        kinds[kind] += 1
        if product in level:  # each change moves the level by exactly its quantity
            assert change["stock_level"] == level[product] + change["quantity_change"]
        assert (change["quantity_change"] < 0) == (kind == "sale")
        level[product] = change["stock_level"]
    assert kinds["restock"] > 0 and kinds["sale"] > 10 * kinds["restock"]
    emptied = {r.event.record["product_id"] for r in week
               if r.topic == "inventory" and r.event.record["stock_level"] == 0}  # fmt: skip
    assert 0 < len(emptied) < 0.2 * len(level), "occasional stock-outs"
