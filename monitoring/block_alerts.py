"""Tell people about every BLOCK and stock alert: ``fraud_alerts`` and ``stock_alerts`` → the
notifier (webhook, email).

Runs as the stack service ``alert_notifier`` (``python -m monitoring.block_alerts``). It
reads the speed layer's alerts topic in its own consumer group and commits offsets only
after a batch was handled, so a restart re-reads rather than loses; the notifier's
per-customer window drops the copies that a re-read (or a burst of BLOCKs for one
customer) produces. Each notification links to the alert on the live-alert screen.

Stock alerts (``streaming/stock.py``) are already one per product and severity until a
restock; their notifications are keyed by product, kind and severity, so a re-read
copy is dropped the same way.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from typing import Any

from prometheus_client import Counter, start_http_server

from fraudstack.config import Config, load_config
from monitoring.notifier import Notification, Notifier, SmtpSettings

log = logging.getLogger("fraudstack.alert_notifier")
GROUP = "fraudstack-alert-notifier"


def notification(alert: dict[str, Any], screen_url: str) -> Notification:
    """The message for one BLOCK alert; duplicates are per customer."""
    reasons = ", ".join(alert.get("reasons") or ()) or "no reason recorded"
    amount = alert.get("amount_usd") or 0.0
    return Notification(
        key=str(alert.get("customer_id")),
        subject=(
            f"BLOCK: ${amount:,.2f} by {alert.get('customer_id')} "
            f"(risk {alert['risk_score']:.2f})"
        ),
        body=(
            f"Transaction {alert.get('transaction_id')} at {alert.get('event_time')} was blocked.\n"
            f"Risk {alert['risk_score']:.3f} (rules {alert.get('rule_score')}, model "
            f"{alert.get('model_score')}); reasons: {reasons}.\n"
            f"Merchant {alert.get('merchant_id')}, {alert.get('amount')} {alert.get('currency')}.\n"
            "Further BLOCKs for this customer within the window are not notified again."
        ),
        severity="critical",
        link=f"{screen_url}/?alert={alert.get('alert_id')}",
        details={key: alert.get(key) for key in ("alert_id", "customer_id", "risk_score",
                                                 "reasons", "event_time")},
    )  # fmt: skip


def stock_notification(alert: dict[str, Any], screen_url: str) -> Notification:
    """The message for one stock alert; duplicates are per product, kind and severity."""
    product, kind = alert.get("product_id"), alert.get("kind")
    severity = str(alert.get("severity") or "warning")
    hours = alert.get("hours_to_stockout")
    outlook = f"runs out in about {hours:.1f} hours" if hours is not None else "is not selling"
    return Notification(
        key=f"stock:{product}:{kind}:{severity}",
        subject=(
            f"Stock {severity}: {product} at {alert.get('stock_level')} units"
            if kind == "threshold"
            else f"Stock running out: {product} in {hours or 0:.1f} hours"
        ),
        body=(
            f"{alert.get('message')}.\n"
            f"Stock {alert.get('stock_level')} units (warning at {alert.get('warning_threshold')}, "
            f"critical at {alert.get('critical_threshold')}); selling "
            f"{alert.get('sales_per_hour') or 0:.1f} an hour, so it {outlook}.\n"
            "No further alert of this kind for this product until it is restocked."
        ),
        severity=severity,
        link=f"{screen_url}/?product={product}",
        details={key: alert.get(key) for key in ("alert_id", "product_id", "kind", "severity",
                                                 "stock_level", "hours_to_stockout",
                                                 "event_time")},
    )  # fmt: skip


def notifier_from(config: Config) -> Notifier:
    """Channels from ``notifications`` in the config, overridden by the environment
    (``FRAUDSTACK_FRAUD_WEBHOOK_URL``, ``FRAUDSTACK_FRAUD_EMAIL_TO``, ``SMTP_*``)."""
    settings = config.raw.get("notifications", {})
    smtp_defaults = config.raw.get("alerting", {}).get("smtp", {})
    webhook = os.environ.get("FRAUDSTACK_FRAUD_WEBHOOK_URL") or settings.get("webhook_url")
    email_to = os.environ.get("FRAUDSTACK_FRAUD_EMAIL_TO") or settings.get("email_to")
    smtp = None
    if email_to:
        smtp = SmtpSettings(
            host=os.environ.get("SMTP_HOST") or smtp_defaults.get("host", "127.0.0.1"),
            port=int(os.environ.get("SMTP_PORT") or smtp_defaults.get("port", 25)),
            sender=os.environ.get("SMTP_FROM") or smtp_defaults.get("from", "fraudstack@localhost"),
            recipients=tuple(address.strip() for address in email_to.split(",")),
            username=os.environ.get("SMTP_USERNAME"),
            password=os.environ.get("SMTP_PASSWORD"),
            starttls=bool(smtp_defaults.get("require_tls", False)),
        )
    return Notifier(
        webhook_url=webhook,
        smtp=smtp,
        dedup_seconds=float(settings.get("dedup_seconds", 900)),
        max_per_minute=int(settings.get("max_per_minute", 30)),
    )


def run(config: Config, stop: threading.Event) -> None:
    """Consume alerts until ``stop`` is set."""
    from kafka import KafkaConsumer

    settings = config.raw.get("notifications", {})
    notifier = notifier_from(config)
    read = Counter("fraudstack_alert_notifier_alerts", "Alerts read, by decision", ["decision"],
                   registry=notifier.registry)  # fmt: skip
    bad = Counter("fraudstack_alert_notifier_unreadable", "Alert messages that were not JSON",
                  registry=notifier.registry)  # fmt: skip
    start_http_server(config.port("alert_notifier"), config.host("alert_notifier"),
                      registry=notifier.registry)  # fmt: skip
    screen = settings.get("screen_url") or f"http://{config.address('streamlit')}"
    alerts_topic = config.raw["streaming"]["alerts_topic"]
    stock_topic = config.raw.get("stock", {}).get("alerts_topic", "stock_alerts")
    consumer = KafkaConsumer(
        alerts_topic,
        stock_topic,
        bootstrap_servers=config.kafka_bootstrap,
        group_id=settings.get("group", GROUP),
        enable_auto_commit=False,
        auto_offset_reset=settings.get("starting_offsets", "latest"),  # for a new group
    )
    log.info("reading %s and %s; webhook=%s email=%s", alerts_topic, stock_topic,
             bool(notifier.webhook_url), bool(notifier.smtp))  # fmt: skip
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    try:
                        alert = json.loads(record.value)
                    except ValueError:
                        bad.inc()
                        continue
                    if record.topic == stock_topic:
                        read.labels(f"stock_{alert.get('severity')}").inc()
                        outcome = notifier.notify(stock_notification(alert, screen))
                        log.info("stock alert %s: %s", alert.get("alert_id"), outcome)
                        continue
                    read.labels(str(alert.get("decision"))).inc()
                    if alert.get("decision") == "BLOCK":
                        outcome = notifier.notify(notification(alert, screen))
                        log.info("BLOCK %s: %s", alert.get("alert_id"), outcome)
            if batches:
                consumer.commit()
    finally:
        consumer.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run(load_config(), stop)


if __name__ == "__main__":
    main()
