"""Order tracking and stock alerts end to end on the real stack: Kafka in, Cassandra, the
``stock_alerts`` topic and a webhook out.

One speed layer (its ``orders``, ``stock`` and ``quarantine`` queries) runs for the module
with its own checkpoints; the notifier runs beside it with a local webhook receiver. Every
order, customer and product is this run's own. The last test opens the analysts'
order-tracking and stock-alerts pages (served by ``fraudstack up``) in headless Chromium
on what this speed layer wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fraudstack.config import Config
from fraudstack.events import format_time
from monitoring import block_alerts
from storage.kafka_log import end_offsets, read_between
from tests.browser import grid_text
from tests.monitoring.conftest import Webhook
from tests.polling import free_port, wait_for
from tests.speed_layer import running_speed_layer

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
ROOT = f"/tests/order-tracking-{RUN}"
PRODUCT = f"p-{RUN}-hot"  # thresholds of its own: warning at 30, critical at 10
SHOWN = f"p-{RUN}-ui"  # the browser test's product: the same thresholds


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def job(
    stack: Config, webhook: Webhook, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Config]:
    """The notifier, then the speed layer's order, stock and quarantine queries."""
    sections = {
        "stock": {"products": {p: {"warning": 30, "critical": 10} for p in (PRODUCT, SHOWN)}},
        "notifications": {
            "webhook_url": webhook.url, "email_to": None, "group": f"test-stock-{RUN}",
            "starting_offsets": "latest", "max_per_minute": 100_000,
        },
        "services": {"alert_notifier": {"port": free_port()}},
    }  # fmt: skip
    folder = tmp_path_factory.mktemp("order-tracking")
    stop = threading.Event()
    with running_speed_layer(
        folder, ROOT, queries=("orders", "stock", "quarantine"), sections=sections,
        orders_trigger="1 second", stock_trigger="1 second",
    ) as config:  # fmt: skip
        # the notifier's new consumer group joins while the job starts: it reads from then on
        notifier = threading.Thread(target=block_alerts.run, args=(config, stop), daemon=True)
        notifier.start()
        try:
            yield config
        finally:
            stop.set()
            notifier.join(30)


@pytest.fixture(scope="module")
def cassandra(job: Config) -> Iterator[Any]:
    from storage.cassandra_client import connected

    with connected(job.host("cassandra"), job.port("cassandra"), job.keyspace) as session:
        yield session


def produce(config: Config, topic: str, records: list[tuple[str, bytes]]) -> None:
    """Send raw records in order, each acknowledged (no validation: bad input reaches Kafka)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=config.kafka_bootstrap, acks="all")
    try:
        for key, value in records:
            producer.send(topic, key=key.encode(), value=value).get(timeout=30)
    finally:
        producer.close()


def order_change(
    order: str, status: str, when: dt.datetime, customer: str, product: str = PRODUCT
) -> dict[str, Any]:
    return {
        "schema_version": 1, "event_id": f"os-{RUN}-{order}-{status}",
        "order_id": f"o-{RUN}-{order}",
        "customer_id": f"c-{RUN}-{customer}", "status": status, "event_time": format_time(when),
        "transaction_id": f"tx-{RUN}-{order}", "merchant_id": "m-00001", "product_id": product,
        "quantity": 1, "amount": 25.0, "currency": "USD",
    }  # fmt: skip


def stock_change(
    n: int, kind: str, change: int, level: int, when: dt.datetime, product: str = PRODUCT
) -> dict[str, Any]:
    return {
        "schema_version": 1, "event_id": f"inv-{RUN}-{product}-{n:03d}", "product_id": product,
        "event_time": format_time(when), "change_type": kind, "quantity_change": change,
        "stock_level": level, "merchant_id": "m-00001", "category": "toys",
    }  # fmt: skip


def wire(records: list[dict[str, Any]], key: str) -> list[tuple[str, bytes]]:
    return [(r[key], json.dumps(r).encode()) for r in records]


def history(session: Any, order: str) -> list[Any]:
    return list(
        session.execute(
            "SELECT * FROM order_status_by_order WHERE order_id = %s", [f"o-{RUN}-{order}"]
        )
    )


def test_an_orders_whole_history_is_queryable_in_order_and_invalid_input_is_flagged(
    job: Config, cassandra: Any
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    steps = [
        ("created", 0), ("confirmed", 2), ("paid", 10), ("shipped", 24 * 60),
        ("delivered", 3 * 24 * 60),
    ]  # fmt: skip
    good = [order_change("good", s, start + dt.timedelta(minutes=m), "ann") for s, m in steps]
    # delivered straight after paid, then shipped: two invalid transitions
    bad_steps = [("created", 0), ("confirmed", 1), ("paid", 5), ("delivered", 60), ("shipped", 90)]
    bad = [order_change("bad", s, start + dt.timedelta(minutes=m), "ann") for s, m in bad_steps]
    produce(job, "order_status", wire(good[:3], "order_id"))  # two micro-batches at least
    wait_for(lambda: len(history(cassandra, "good")) == 3, 180, "the first three changes")
    produce(job, "order_status", wire(good[3:] + bad + good[:2], "order_id"))  # + a replay
    broken = [
        (f"o-{RUN}-broken", json.dumps({**good[0], "status": "lost"}).encode()),
        (PRODUCT, json.dumps(stock_change(999, "sale", -1, -1, start)).encode()),
    ]
    produce(job, "order_status", broken[:1])
    produce(job, "inventory", broken[1:])

    wait_for(lambda: len(history(cassandra, "good")) == 5, 120, "the whole good order")
    rows = history(cassandra, "good")
    assert [r.status for r in rows] == [s for s, _ in steps], "oldest first, each change once"
    assert [r.seconds_in_previous_status for r in rows] == [None, 120.0, 480.0, 85_800.0, 172_800.0]
    assert all(r.is_valid_transition for r in rows)

    def by_customer() -> list[str]:  # written after the by-order rows: wait for it too
        rows = cassandra.execute(
            "SELECT order_id, status FROM order_status_by_customer WHERE customer_id = %s",
            [f"c-{RUN}-ann"],
        )
        return [r.status for r in rows if r.order_id.endswith("-good")]

    wait_for(lambda: len(by_customer()) == 5, 60, "the good order's changes by customer")
    assert by_customer() == [s for s, _ in reversed(steps)]

    wait_for(lambda: len(history(cassandra, "bad")) == 5, 120, "the bad order")
    flagged = [
        (r.status, r.transition_problem)
        for r in history(cassandra, "bad")
        if not r.is_valid_transition
    ]
    assert flagged == [
        ("delivered", "delivered after paid (allowed: cancelled, refunded, shipped)"),
        ("shipped", "shipped after delivered (allowed: refunded)"),
    ]
    day = (start + dt.timedelta(minutes=60)).date()

    def listed() -> set[tuple[str, str]]:
        rows = cassandra.execute(
            "SELECT order_id, status FROM invalid_order_transitions_by_day WHERE day = %s", [day]
        )
        return {(r.order_id, r.status) for r in rows}

    wait_for(lambda: (f"o-{RUN}-bad", "delivered") in listed(), 60, "the flagged transition")

    def quarantined() -> dict[str, str]:
        today = dt.datetime.now(dt.UTC).date()
        return {
            row.source_topic: row.reason
            for topic in ("order_status", "inventory")
            for row in cassandra.execute(
                "SELECT * FROM quarantine_by_day WHERE day = %s AND source_topic = %s",
                [today, topic],
            )
            if RUN in (row.kafka_key or "")
        }

    wait_for(lambda: len(quarantined()) == 2, 120, "both broken records in quarantine")
    assert quarantined() == {
        "order_status": "status: unknown value 'lost'",
        "inventory": "stock_level: -1 below minimum 0",
    }


def stock_alerts(session: Any, product: str = PRODUCT) -> list[Any]:
    rows = session.execute("SELECT * FROM stock_alerts_by_product WHERE product_id = %s", [product])
    return sorted(rows, key=lambda r: r.event_time)


def test_falling_stock_raises_one_warning_then_one_critical_and_a_demand_alert_first(
    job: Config, cassandra: Any, webhook: Webhook
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    changes, level = [stock_change(0, "restock", 100, 100, start)], 100
    for n in range(1, 21):  # 5 sold a minute: from 100 down to nothing in 20 minutes
        level -= 5
        changes.append(stock_change(n, "sale", -5, level, start + dt.timedelta(minutes=n)))
    for n, (change, after) in enumerate(((1, 1), (-1, 0), (0, 0)), start=21):  # hovering at 0
        changes.append(
            stock_change(n, "adjustment", change, after, start + dt.timedelta(minutes=n))
        )

    def level_now() -> int | None:
        row = cassandra.execute(
            "SELECT stock_level FROM stock_levels WHERE product_id = %s", [PRODUCT]
        ).one()
        return None if row is None else row.stock_level

    before = end_offsets(job.kafka_bootstrap, ["stock_alerts"])
    for part in (changes[:8], changes[8:17], changes[17:]):  # several micro-batches
        produce(job, "inventory", wire(part, "product_id"))
        last = part[-1]["stock_level"]
        wait_for(lambda last=last: level_now() == last, 180, f"stock level {last}")

    wait_for(lambda: len(stock_alerts(cassandra)) >= 3 and level_now() == 0, 120, "three alerts")
    alerts = stock_alerts(cassandra)
    assert [(a.kind, a.severity, a.stock_level) for a in alerts] == [
        ("demand", "warning", 95),  # 5 sold in the last hour, 95 left: out in 19 hours
        ("threshold", "warning", 30),
        ("threshold", "critical", 10),
    ], "exactly one of each: no storm while the stock stays low"
    demand = alerts[0]
    stock_out = start + dt.timedelta(minutes=20)
    assert demand.event_time.replace(tzinfo=dt.UTC) < stock_out
    assert demand.hours_to_stockout == pytest.approx(19.0)
    assert "runs out in 19.0 hours" in demand.message

    def sent() -> set[str]:  # Kafka is written after Cassandra, in the same micro-batch
        after = end_offsets(job.kafka_bootstrap, ["stock_alerts"])
        records = [json.loads(r.value) for r in read_between(job.kafka_bootstrap, before, after)]
        return {a["alert_id"] for a in records if a["product_id"] == PRODUCT}

    wait_for(lambda: len(sent()) >= 3, 60, "three alerts on the stock_alerts topic")
    assert sent() == {a.alert_id for a in alerts}

    ours = lambda: [b for b in webhook.bodies if PRODUCT in b["key"]]  # noqa: E731
    wait_for(lambda: len(ours()) >= 3, 60, "three notifications on the webhook")
    threading.Event().wait(3)  # would any copy still arrive?
    assert sorted(b["key"] for b in ours()) == [
        f"stock:{PRODUCT}:demand:warning",
        f"stock:{PRODUCT}:threshold:critical",
        f"stock:{PRODUCT}:threshold:warning",
    ]
    critical = next(b for b in ours() if b["severity"] == "critical")
    assert "at 10 units" in critical["subject"] and critical["details"]["stock_level"] == 10


@pytest.mark.browser
def test_the_order_and_stock_pages_show_what_the_speed_layer_wrote(
    job: Config, cassandra: Any, page, screenshots
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    steps = [("created", 0), ("confirmed", 5), ("paid", 10), ("delivered", 40)]  # no shipped
    order = [order_change("ui", s, start + dt.timedelta(minutes=m), "ui", SHOWN) for s, m in steps]
    stock = [
        stock_change(0, "restock", 50, 50, start, SHOWN),
        stock_change(1, "sale", -25, 25, start + dt.timedelta(minutes=30), SHOWN),  # warning
        stock_change(2, "sale", -17, 8, start + dt.timedelta(minutes=60), SHOWN),  # critical
    ]  # fmt: skip
    produce(job, "order_status", wire(order, "order_id"))
    produce(job, "inventory", wire(stock, "product_id"))
    wait_for(lambda: len(history(cassandra, "ui")) == 4, 180, "the order's four changes")
    wait_for(
        lambda: {(a.kind, a.severity) for a in stock_alerts(cassandra, SHOWN)}
        >= {("threshold", "warning"), ("threshold", "critical")}, 180, "the product's alerts",
    )  # fmt: skip
    base = f"http://{job.address('streamlit')}"

    page.goto(f"{base}/orders?order=o-{RUN}-ui")
    page.get_by_text("Order tracking").first.wait_for(timeout=60_000)
    try:
        wait_for(lambda: "delivered after paid" in grid_text(page), 30, "the order's history")
    finally:
        page.screenshot(path=screenshots / "streamlit-order-tracking.png", full_page=True)
    cells = grid_text(page)
    assert all(status in cells for status, _ in steps)
    page.get_by_text("1 invalid transition(s)").wait_for(timeout=10_000)
    assert page.get_by_test_id("stMetricValue").first.inner_text() == "delivered"

    page.goto(f"{base}/stock?product={SHOWN}")
    page.get_by_text("Stock alerts").first.wait_for(timeout=60_000)
    try:
        wait_for(lambda: SHOWN in grid_text(page), 30, "the product's alerts")
    finally:
        page.screenshot(path=screenshots / "streamlit-stock-alerts.png", full_page=True)
    page.get_by_text("At or below threshold now").wait_for(timeout=10_000)
    assert "critical" in grid_text(page) and "warning" in grid_text(page)
    stock_now = page.get_by_test_id("stMetric").filter(has=page.get_by_text("Stock", exact=True))
    assert stock_now.get_by_test_id("stMetricValue").inner_text() == "8"
