"""A stopped service raises an alert in the real Prometheus that Alertmanager delivers."""

from __future__ import annotations

import uuid

import pytest
import requests
import yaml

from fraudstack.config import Config
from fraudstack.stack import launcher
from fraudstack.stack.services.alertmanager import alertmanager_config
from tests.monitoring.conftest import Mailbox, Webhook
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def reload_alertmanager(stack: Config, settings: dict) -> None:
    path = stack.conf_dir / "alertmanager" / "alertmanager.yml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    response = requests.post(f"http://{stack.address('alertmanager')}/-/reload", timeout=10)
    assert response.status_code == 200, response.text


def test_stopping_a_service_fires_service_down_to_webhook_and_email(
    stack: Config, webhook: Webhook, mailbox: Mailbox
) -> None:
    # a receiver of its own: Alertmanager's notification log is kept per receiver, and
    # an identical alert already notified to "ops" would not be sent again for hours
    receiver = f"test-{uuid.uuid4().hex[:8]}"
    settings = alertmanager_config(stack)
    settings["route"].update(receiver=receiver, group_wait="1s", group_interval="5s")
    settings["receivers"] = [
        {
            "name": receiver,
            "webhook_configs": [{"url": webhook.url, "send_resolved": True}],
            "email_configs": [
                {
                    "to": "ops@localhost",
                    "from": "fraudstack@localhost",
                    "smarthost": f"127.0.0.1:{mailbox.port}",
                    "require_tls": False,
                }
            ],
        }
    ]
    reload_alertmanager(stack, settings)
    try:
        launcher.down(stack, ["node_exporter"])

        def node_down_alerts() -> list[dict]:
            return [
                alert
                for body in webhook.bodies
                for alert in body["alerts"]
                if alert["labels"].get("alertname") == "ServiceDown"
                and alert["labels"].get("job") == "node"
                and alert["status"] == "firing"
            ]

        wait_for(lambda: bool(node_down_alerts()), 180, "ServiceDown for the node exporter")
        alert = node_down_alerts()[0]
        assert alert["labels"]["severity"] == "critical"
        assert "does not answer scrapes" in alert["annotations"]["summary"]
        wait_for(
            lambda: any("ServiceDown" in (m["Subject"] or "") for m in mailbox.messages),
            60,
            "the ServiceDown email",
        )
    finally:
        launcher.up(stack, ["node_exporter"])
        launcher.down(stack, ["alertmanager"])
        launcher.up(stack, ["alertmanager"])  # back to the configured receivers
