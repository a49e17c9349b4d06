"""BLOCK alerts on the real ``fraud_alerts`` topic become deduplicated notifications,
delivered to a real local webhook and SMTP server."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest

from fraudstack.config import Config
from monitoring import block_alerts
from tests.overlay import overlaid
from tests.polling import free_port, wait_for

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:8]


def alert(n: int, customer: str, decision: str) -> dict:
    return {
        "alert_id": f"tx-{RUN}-{n}", "transaction_id": f"tx-{RUN}-{n}",
        "event_time": "2026-12-02T10:00:00.000Z", "customer_id": f"c-{RUN}-{customer}",
        "merchant_id": "m-1", "amount": 900.0, "currency": "USD", "amount_usd": 900.0,
        "risk_score": 0.91 if decision == "BLOCK" else 0.4, "rule_score": 0.9,
        "model_score": None, "model_version": None, "decision": decision,
        "reasons": ["LARGE_AMOUNT", "IMPOSSIBLE_TRAVEL"], "scored_at": "2026-12-02T10:00:01Z",
    }  # fmt: skip


def test_a_burst_of_blocks_notifies_once_per_customer(
    stack: Config, webhook, mailbox, tmp_path: Path
):
    from kafka import KafkaProducer

    sections = {
        "notifications": {
            "webhook_url": webhook.url, "email_to": "fraud-team@example.test",
            "group": f"test-notifier-{RUN}", "starting_offsets": "earliest",
            "max_per_minute": 100_000,
        },
        "services": {"alert_notifier": {"port": free_port()}},
        "alerting": {"smtp": {"host": "127.0.0.1", "port": mailbox.port}},
    }  # fmt: skip
    burst = (
        [alert(n, "a", "BLOCK") for n in range(5)]
        + [alert(10 + n, "b", "BLOCK") for n in range(3)]
        + [alert(20 + n, "c", "REVIEW") for n in range(4)]
    )
    with overlaid(tmp_path, f"/tests/notifier-{RUN}", sections) as config:
        producer = KafkaProducer(bootstrap_servers=config.kafka_bootstrap, acks="all")
        producer.send("fraud_alerts", b"not json at all")  # a consumer must survive this
        for record in burst:
            producer.send("fraud_alerts", json.dumps(record).encode(),
                          key=record["customer_id"].encode())  # fmt: skip
        producer.flush()
        producer.close()
        stop = threading.Event()
        worker = threading.Thread(target=block_alerts.run, args=(config, stop), daemon=True)
        worker.start()
        try:
            ours = lambda: [b for b in webhook.bodies if RUN in b["key"]]  # noqa: E731
            wait_for(lambda: len(ours()) >= 2, 60, "two notifications on the webhook")
            wait_for(lambda: sum(RUN in m["Subject"] for m in mailbox.messages) >= 2, 30,
                     "two emails")  # fmt: skip
            stop.wait(3)  # would any copy still arrive?
        finally:
            stop.set()
            worker.join(30)
    received = ours()
    assert sorted(b["key"] for b in received) == [f"c-{RUN}-a", f"c-{RUN}-b"]
    first = next(b for b in received if b["key"].endswith("-a"))
    assert first["link"] == f"http://{config.address('streamlit')}/?alert=tx-{RUN}-0"
    assert first["severity"] == "critical" and "LARGE_AMOUNT" in first["body"]
    mails = [m for m in mailbox.messages if RUN in m["Subject"]]
    assert len(mails) == 2 and all(m["To"] == "fraud-team@example.test" for m in mails)
    assert f"/?alert=tx-{RUN}-" in mails[0].get_payload()
