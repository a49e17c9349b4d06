"""The live-alert screen's logic with Streamlit's AppTest, over the real Cassandra.

Alerts are written into the speed layer's tables the way its sink writes them, with
ids no other test uses; the screen is then driven like an analyst would.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from fraudstack.config import Config
from storage.alert_store import AlertStore
from storage.cassandra_schema import apply_schema, schema_statements
from tests.polling import free_port

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "alerts" / "app.py")
RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def store(stack: Config) -> Iterator[AlertStore]:
    from storage.cassandra_client import connected

    with connected(stack.host("cassandra"), stack.port("cassandra")) as session:
        yield AlertStore(session, stack.keyspace)


def put_alert(store: AlertStore, n: int, decision: str, score: float, reasons: list[str]) -> dict:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    row: dict[str, Any] = {
        "alert_id": f"tx-{RUN}-{n}", "day": now.date(), "event_time": now - dt.timedelta(seconds=n),
        "customer_id": f"c-{RUN}-{n}", "merchant_id": "m-00001", "amount": 700.0 + n,
        "currency": "USD", "amount_usd": 700.0 + n, "risk_score": score, "decision": decision,
        "reasons": reasons, "scored_at": now,
    }  # fmt: skip
    ks, session = store.keyspace, store.session
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    session.execute(session.prepare(f"INSERT INTO {ks}.alerts_by_day ({columns}) VALUES ({marks})"),
                    list(row.values()))  # fmt: skip
    detail = {**row, "features": {"customer_tx_count_1h": 1.0, "amount_usd": row["amount_usd"]},
              "model_version": None}  # fmt: skip
    columns, marks = ", ".join(detail), ", ".join("?" * len(detail))
    session.execute(session.prepare(f"INSERT INTO {ks}.alerts_by_id ({columns}) VALUES ({marks})"),
                    list(detail.values()))  # fmt: skip
    session.execute(
        session.prepare(
            f"INSERT INTO {ks}.transactions_by_customer (customer_id, event_time, transaction_id,"
            " amount_usd, decision, risk_score) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        (row["customer_id"], row["event_time"], row["alert_id"], row["amount_usd"], decision,
         score),
    )  # fmt: skip
    return row


def listed(at: AppTest) -> list[str]:
    assert not at.exception, at.exception
    return list(at.dataframe[0].value["alert_id"]) if at.dataframe else []


@pytest.mark.integration
def test_alerts_filters_detail_and_verdict(store: AlertStore):
    block = put_alert(store, 1, "BLOCK", 0.93, ["LARGE_AMOUNT", "NEW_ACCOUNT_HIGH_VALUE"])
    review = put_alert(store, 2, "REVIEW", 0.41, ["IP_VELOCITY"])
    at = AppTest.from_file(APP, default_timeout=30).run()
    ids = listed(at)
    assert block["alert_id"] in ids and review["alert_id"] in ids
    assert ids.index(block["alert_id"]) < ids.index(review["alert_id"])  # newest first

    at.multiselect(key="decisions").set_value(["REVIEW"]).run()
    assert review["alert_id"] in listed(at) and block["alert_id"] not in listed(at)
    at.multiselect(key="decisions").set_value(["BLOCK", "REVIEW"]).run()
    at.slider(key="score").set_value((0.9, 1.0)).run()
    assert block["alert_id"] in listed(at) and review["alert_id"] not in listed(at)
    at.slider(key="score").set_value((0.0, 1.0)).run()
    at.multiselect(key="reasons").set_value(["IP_VELOCITY"]).run()
    assert review["alert_id"] in listed(at) and block["alert_id"] not in listed(at)
    at.multiselect(key="reasons").set_value([]).run()

    at.selectbox(key="open_alert").set_value(block["alert_id"]).run()
    page = " ".join(m.value for m in at.markdown)
    assert "LARGE_AMOUNT" in page and "an account younger than 30 days" in page
    assert at.subheader[0].value.startswith(f"BLOCK · risk 0.930 · {block['alert_id']}")
    at.text_input(key="analyst").set_value("ana").run()
    at.button(key="verdict-fraud").click().run()
    assert not at.exception, at.exception

    detail = store.alert(block["alert_id"])
    assert detail and detail["verdict"] == "fraud" and detail["verdict_by"] == "ana"
    labels = [r for r in store.labels(detail["verdict_at"].date()) if r["transaction_id"] ==
              block["alert_id"]]  # fmt: skip
    assert [(r["verdict"], r["analyst"], r["customer_id"]) for r in labels] == [
        ("fraud", "ana", block["customer_id"])
    ]
    assert "fraud" in " ".join(i.value for i in at.info)  # the screen shows the verdict


@pytest.mark.integration
def test_a_notification_link_opens_its_alert(store: AlertStore):
    older = put_alert(store, 3, "BLOCK", 0.8, ["IMPOSSIBLE_TRAVEL"])
    put_alert(store, 0, "REVIEW", 0.31, ["IP_VELOCITY"])  # newer: first in the list
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["alert"] = older["alert_id"]
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == f"BLOCK · risk 0.800 · {older['alert_id']}"


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Lay configuration sections over the defaults for the app under test."""

    def lay(sections: dict[str, Any]) -> None:
        overlay = tmp_path / "overlay.yaml"
        overlay.write_text(yaml.safe_dump(sections))
        monkeypatch.setenv("FRAUDSTACK_CONFIG", str(overlay))

    return lay


@pytest.mark.integration
def test_an_empty_keyspace_says_how_to_get_alerts(stack: Config, store: AlertStore, configured):
    keyspace = f"empty_{RUN}"
    schema = stack.root / stack.raw["cassandra"]["schema_file"]
    apply_schema(stack.host("cassandra"), stack.port("cassandra"),
                 schema_statements(schema, keyspace), keyspace)  # fmt: skip
    try:
        configured({"cassandra": {"keyspace": keyspace}})
        at = AppTest.from_file(APP, default_timeout=30).run()
        assert not at.exception, at.exception
        assert at.error == [] and at.dataframe == []
        assert "No alerts in this time range yet" in at.info[0].value
    finally:
        store.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


def test_stack_not_running_is_a_message_not_a_trace(configured):
    closed = free_port()  # nothing listens here
    configured({"services": {"cassandra": {"port": closed}}})
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "is the stack running?" in at.error[0].value
    assert f"127.0.0.1:{closed}" in at.error[0].value
