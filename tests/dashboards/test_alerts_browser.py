"""The analyst's live-alert screen in headless Chromium, over the whole real pipeline.

A transaction produced during the test goes through Kafka and the speed layer into
Cassandra; the Streamlit page that `fraudstack up` serves must show it within seconds,
its filters must change what is listed, and the verdict button must write a label.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from fraudstack.config import Config
from fraudstack.events import format_time
from storage.alert_store import AlertStore
from storage.kafka_producer import EventProducer
from tests.browser import grid_text
from tests.polling import wait_for
from tests.speed_layer import running_speed_layer

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.browser, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
SHOWN_WITHIN = 10.0  # seconds from "in Cassandra" to "on the analyst's screen"


@pytest.fixture(scope="module")
def job(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    with running_speed_layer(tmp_path_factory.mktemp("alerts"), f"/tests/alerts-{RUN}") as config:
        yield config


@pytest.fixture(scope="module")
def store(job: Config) -> Iterator[AlertStore]:
    from storage.cassandra_client import connected

    with connected(job.host("cassandra"), job.port("cassandra")) as session:
        yield AlertStore(session, job.keyspace)


def new_account_big_buy(n: int) -> dict:
    """$2,500 from a two-day-old account: LARGE_AMOUNT and NEW_ACCOUNT_HIGH_VALUE."""
    who = f"{RUN}-{n}"
    return {
        "schema_version": 1, "transaction_id": f"tx-ui-{who}",
        "event_time": format_time(dt.datetime.now(dt.UTC)), "customer_id": f"c-ui-{who}",
        "merchant_id": "m-00007", "amount": 2500.0, "currency": "USD", "payment_method": "card",
        "card_token": f"card-{who}", "email_token": f"mail-{who}", "ip_token": f"ip-{who}",
        "device_id": f"dev-{who}", "category": "electronics", "quantity": 1, "channel": "web",
        "country": "US", "lat": 40.71, "lon": -74.01, "account_age_days": 2,
    }  # fmt: skip


def produce(config: Config, record: dict) -> None:
    producer = EventProducer(config.kafka_bootstrap)
    try:
        producer.send("transactions", record["customer_id"].encode(), json.dumps(record).encode())
        producer.flush(30)
    finally:
        producer.close()


def pick(page, label: str, option: str, attempts: int = 5) -> None:
    """Choose ``option`` in the select box ``label``. A click that lands while the list's
    fragment redraws focuses the box without opening it; a person clicks again, so do we."""
    box = page.locator("[data-testid=stSelectbox]").filter(has_text=label)
    wanted = page.get_by_role("option").filter(has_text=option)
    for _ in range(attempts):
        box.click()
        try:
            wanted.wait_for(timeout=3_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        wanted.click()
        return
    pytest.fail(f"the {label!r} list never offered {option!r}")


def test_a_new_alert_appears_filters_and_gets_a_verdict(
    job: Config, store: AlertStore, page, screenshots: Path
):
    page.goto(f"http://{job.address('streamlit')}/")
    page.get_by_text("Live fraud alerts").wait_for(timeout=60_000)
    # the page is open and refreshing (its first fragment run, a cold start, is done)
    page.get_by_text("Alerts shown").wait_for(timeout=60_000)

    record = new_account_big_buy(1)
    produce(job, record)
    alert_id = record["transaction_id"]
    wait_for(lambda: store.alert(alert_id) is not None, 120, "the speed layer to store the alert")
    stored = time.monotonic()
    try:
        wait_for(lambda: alert_id in grid_text(page), SHOWN_WITHIN, f"{alert_id} on the screen")
    finally:
        page.screenshot(path=screenshots / "streamlit-first-wait.png", full_page=True)
    shown_after = time.monotonic() - stored
    page.screenshot(path=screenshots / "streamlit-alerts.png", full_page=True)
    alert = store.alert(alert_id)
    assert alert is not None and alert["decision"] == "REVIEW"
    assert set(alert["reasons"]) >= {"LARGE_AMOUNT", "NEW_ACCOUNT_HIGH_VALUE"}
    print(f"alert on screen {shown_after:.1f}s after it was stored")

    # Filter on a reason this alert does not have: it leaves the list.
    reasons = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").nth(1)
    reasons.click()
    page.keyboard.type("IP_VELOCITY")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_for(lambda: alert_id not in grid_text(page), SHOWN_WITHIN, "the filter to hide the alert")
    page.screenshot(path=screenshots / "streamlit-filtered.png", full_page=True)
    reasons.click()
    page.keyboard.press("Backspace")  # removes the selected reason
    page.keyboard.press("Escape")
    wait_for(lambda: alert_id in grid_text(page), SHOWN_WITHIN, "the alert back without the filter")

    # Open it (newest first: it is the first option) and mark it fraud.
    pick(page, "Open an alert", record["customer_id"])
    page.get_by_text("REVIEW · risk").filter(has_text=alert_id).wait_for(timeout=15_000)
    page.get_by_role("button", name="Fraud", exact=True).click()
    wait_for(lambda: (store.alert(alert_id) or {}).get("verdict") == "fraud", 15, "the verdict row")
    page.get_by_text("Verdict: fraud").wait_for(timeout=15_000)
    page.screenshot(path=screenshots / "streamlit-verdict.png", full_page=True)
    verdict_at = store.alert(alert_id)["verdict_at"]  # type: ignore[index]
    labels = [r for r in store.labels(verdict_at.date()) if r["transaction_id"] == alert_id]
    assert [(r["verdict"], r["customer_id"]) for r in labels] == [("fraud", record["customer_id"])]
