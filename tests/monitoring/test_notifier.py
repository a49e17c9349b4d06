from __future__ import annotations

from monitoring.notifier import Notification, Notifier, SmtpSettings
from tests.monitoring.conftest import Mailbox, Webhook
from tests.polling import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def block(customer: str, n: int = 0) -> Notification:
    return Notification(
        key=customer,
        subject=f"BLOCK for {customer}",
        body=f"transaction t-{n} scored 0.93: velocity_1h, new_device",
        severity="critical",
        link=f"http://127.0.0.1:8501/?alert=t-{n}",
        details={"transaction_id": f"t-{n}", "score": 0.93},
    )


def test_a_notification_reaches_the_webhook_and_the_mailbox(
    webhook: Webhook, mailbox: Mailbox
) -> None:
    smtp = SmtpSettings(
        "127.0.0.1", mailbox.port, "fraudstack@localhost", ("fraud-team@localhost",)
    )
    notifier = Notifier(webhook_url=webhook.url, smtp=smtp)
    assert notifier.notify(block("c-1")) == "sent"
    assert webhook.bodies == [
        {
            "key": "c-1",
            "subject": "BLOCK for c-1",
            "body": "transaction t-0 scored 0.93: velocity_1h, new_device",
            "severity": "critical",
            "link": "http://127.0.0.1:8501/?alert=t-0",
            "details": {"transaction_id": "t-0", "score": 0.93},
        }
    ]
    [message] = mailbox.messages
    assert message["Subject"] == "[fraudstack critical] BLOCK for c-1"
    assert message["To"] == "fraud-team@localhost"
    assert "http://127.0.0.1:8501/?alert=t-0" in message.get_payload()


def test_a_burst_for_one_customer_is_one_notification_per_window(webhook: Webhook) -> None:
    clock = Clock()
    notifier = Notifier(webhook_url=webhook.url, dedup_seconds=600, clock=clock)
    outcomes = [notifier.notify(block("c-1", n)) for n in range(20)]
    assert outcomes == ["sent"] + ["duplicate"] * 19
    assert notifier.notify(block("c-2")) == "sent"
    clock.now += 601
    assert notifier.notify(block("c-1", 99)) == "sent"
    assert [body["key"] for body in webhook.bodies] == ["c-1", "c-2", "c-1"]
    value = notifier.registry.get_sample_value
    assert value("fraudstack_notifications_total", {"outcome": "duplicate"}) == 19
    assert value("fraudstack_notifications_total", {"outcome": "sent"}) == 3


def test_many_customers_at_once_are_rate_limited_then_recover(webhook: Webhook) -> None:
    clock = Clock()
    notifier = Notifier(webhook_url=webhook.url, max_per_minute=5, clock=clock)
    outcomes = [notifier.notify(block(f"c-{n}")) for n in range(8)]
    assert outcomes == ["sent"] * 5 + ["rate_limited"] * 3
    clock.now += 12  # one token back (5 a minute)
    assert notifier.notify(block("c-late")) == "sent"
    assert notifier.notify(block("c-later")) == "rate_limited"
    assert len(webhook.bodies) == 6


def test_a_dead_channel_is_counted_not_raised() -> None:
    notifier = Notifier(webhook_url=f"http://127.0.0.1:{free_port()}/nobody")
    assert notifier.notify(block("c-1")) == "failed"
    value = notifier.registry.get_sample_value
    assert value("fraudstack_notification_channel_failures_total", {"channel": "webhook"}) == 1
