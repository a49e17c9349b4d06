"""The BLOCK-alert notifier: ``fraud_alerts`` to the fraud team's webhook and email."""

from __future__ import annotations

import sys

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import Service


def alert_notifier(config: Config) -> Service:
    address = config.address("alert_notifier")

    def command() -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "monitoring.block_alerts"], {"PYTHONPATH": str(config.root)}

    return Service(
        name="alert_notifier",
        host=config.host("alert_notifier"),
        ports={"port": config.port("alert_notifier")},
        command=command,
        health=lambda: health.metrics_served(address, "fraudstack_alert_notifier_unreadable_total"),
        depends_on=("kafka",),
        start_timeout=60,
    )
