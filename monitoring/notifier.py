"""Notifications to people: a webhook and email, deduplicated and rate-limited.

Used for fraud BLOCK alerts from the speed layer (one notification per customer per
window, however many transactions are blocked) and for anything else that must
reach a person directly. Operator alerts from Prometheus go through Alertmanager.
A failing channel is counted and logged, never raised: the caller keeps running.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import requests
from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One message. ``key`` decides what counts as a duplicate (e.g. the customer id)."""

    key: str
    subject: str
    body: str
    severity: str = "warning"
    link: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SmtpSettings:
    """Where to send email from, and to whom."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    starttls: bool = False


class Notifier:
    """Sends notifications to a webhook and/or by email.

    Args:
        webhook_url: receives a JSON POST per notification, if set.
        smtp: email settings, if email is wanted.
        dedup_seconds: a second notification with the same key within this window is dropped.
        max_per_minute: at most this many notifications a minute (a token bucket).
        registry: Prometheus registry for the counters.
        clock: seconds, monotonic; replaceable in tests.
    """

    def __init__(
        self,
        webhook_url: str | None = None,
        smtp: SmtpSettings | None = None,
        dedup_seconds: float = 600.0,
        max_per_minute: int = 30,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.webhook_url = webhook_url
        self.smtp = smtp
        self.dedup_seconds = dedup_seconds
        self.max_per_minute = max_per_minute
        self.clock = clock
        self._last_sent: dict[str, float] = {}
        self._tokens = float(max_per_minute)
        self._refilled = clock()
        self._lock = threading.Lock()
        self.registry = registry or CollectorRegistry()
        self.outcomes = Counter(
            "fraudstack_notifications",
            "Notifications by outcome (sent, duplicate, rate_limited, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.channel_failures = Counter(
            "fraudstack_notification_channel_failures",
            "Failed deliveries by channel",
            ["channel"],
            registry=self.registry,
        )

    def _admit(self, key: str) -> str | None:
        """None if the notification may go out now, else why not."""
        now = self.clock()
        with self._lock:
            last = self._last_sent.get(key)
            if last is not None and now - last < self.dedup_seconds:
                return "duplicate"
            self._tokens = min(
                float(self.max_per_minute),
                self._tokens + (now - self._refilled) * self.max_per_minute / 60.0,
            )
            self._refilled = now
            if self._tokens < 1:
                return "rate_limited"
            self._tokens -= 1
            self._last_sent[key] = now
            if len(self._last_sent) > 10_000:  # forget keys whose window has passed
                self._last_sent = {
                    k: t for k, t in self._last_sent.items() if now - t < self.dedup_seconds
                }
            return None

    def notify(self, notification: Notification) -> str:
        """Send ``notification`` on every configured channel.

        Returns:
            ``sent``, ``duplicate``, ``rate_limited`` or ``failed`` (no channel delivered).
        """
        refused = self._admit(notification.key)
        if refused:
            self.outcomes.labels(refused).inc()
            return refused
        delivered = [
            sender(notification)
            for sender, configured in ((self._post, self.webhook_url), (self._mail, self.smtp))
            if configured
        ]
        outcome = "sent" if any(delivered) else "failed"
        self.outcomes.labels(outcome).inc()
        return outcome

    def _post(self, notification: Notification) -> bool:
        payload = {
            "key": notification.key,
            "subject": notification.subject,
            "body": notification.body,
            "severity": notification.severity,
            "link": notification.link,
            "details": notification.details,
        }
        try:
            requests.post(str(self.webhook_url), json=payload, timeout=5).raise_for_status()
            return True
        except requests.RequestException as exc:
            self.channel_failures.labels("webhook").inc()
            log.warning("webhook notification failed: %s", exc)
            return False

    def _mail(self, notification: Notification) -> bool:
        assert self.smtp is not None
        message = EmailMessage()
        message["Subject"] = f"[fraudstack {notification.severity}] {notification.subject}"
        message["From"] = self.smtp.sender
        message["To"] = ", ".join(self.smtp.recipients)
        link = f"\n\nOpen: {notification.link}" if notification.link else ""
        message.set_content(notification.body + link)
        try:
            with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=10) as client:
                if self.smtp.starttls:
                    client.starttls()
                if self.smtp.username:
                    client.login(self.smtp.username, self.smtp.password or "")
                client.send_message(message)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            self.channel_failures.labels("email").inc()
            log.warning("email notification failed: %s", exc)
            return False
