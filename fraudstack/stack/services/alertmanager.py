"""Prometheus Alertmanager (Debian package): routes the stack's alerts to a webhook and email."""

from __future__ import annotations

import os
from typing import Any

import yaml

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import Service, installed


def receivers(config: Config) -> dict[str, Any]:
    """The ``ops`` receiver: a webhook and/or email, from config and the environment.

    ``FRAUDSTACK_ALERT_WEBHOOK_URL``, ``FRAUDSTACK_ALERT_EMAIL_TO`` and ``SMTP_HOST``,
    ``SMTP_PORT``, ``SMTP_FROM``, ``SMTP_USERNAME``, ``SMTP_PASSWORD`` override
    ``alerting`` in the config; secrets belong in the environment, never in git.
    """
    settings = config.raw.get("alerting", {})
    webhook = os.environ.get("FRAUDSTACK_ALERT_WEBHOOK_URL") or settings.get("webhook_url")
    email_to = os.environ.get("FRAUDSTACK_ALERT_EMAIL_TO") or settings.get("email_to")
    receiver: dict[str, Any] = {"name": "ops"}
    if webhook:
        receiver["webhook_configs"] = [{"url": webhook, "send_resolved": True}]
    if email_to:
        smtp = settings.get("smtp", {})
        host = os.environ.get("SMTP_HOST") or smtp.get("host", "127.0.0.1")
        port = os.environ.get("SMTP_PORT") or smtp.get("port", 25)
        email: dict[str, Any] = {
            "to": email_to,
            "from": os.environ.get("SMTP_FROM") or smtp.get("from", "fraudstack@localhost"),
            "smarthost": f"{host}:{port}",
            "require_tls": bool(smtp.get("require_tls", False)),
            "send_resolved": True,
        }
        if os.environ.get("SMTP_USERNAME"):
            email["auth_username"] = os.environ["SMTP_USERNAME"]
            email["auth_password"] = os.environ.get("SMTP_PASSWORD", "")
        receiver["email_configs"] = [email]
    return receiver


def alertmanager_config(config: Config) -> dict[str, Any]:
    """The whole Alertmanager configuration as a mapping (written as YAML)."""
    routing = config.raw.get("alerting", {})
    return {
        "route": {
            "receiver": "ops",
            "group_by": ["alertname", "job", "groupname"],
            "group_wait": routing.get("group_wait", "10s"),
            "group_interval": routing.get("group_interval", "1m"),
            "repeat_interval": routing.get("repeat_interval", "4h"),
        },
        "receivers": [receivers(config)],
        "inhibit_rules": [
            {  # a dead host explains everything else on it
                "source_matchers": ['severity="critical"', 'alertname="ServiceDown"', 'job="node"'],
                "target_matchers": ['severity="warning"'],
            }
        ],
    }


def alertmanager(config: Config) -> Service:
    conf = config.conf_dir / "alertmanager" / "alertmanager.yml"
    address = config.address("alertmanager")

    def prepare() -> None:
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(yaml.safe_dump(alertmanager_config(config), sort_keys=False))
        conf.chmod(0o600)  # may hold SMTP credentials

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            installed("prometheus-alertmanager"),
            f"--config.file={conf}",
            f"--storage.path={config.data_dir / 'alertmanager'}",
            f"--web.listen-address={address}",
            f"--web.external-url=http://{address}",
            "--cluster.listen-address=",  # single instance: no gossip port at all
        ], {}

    return Service(
        name="alertmanager",
        host=config.host("alertmanager"),
        ports={"port": config.port("alertmanager")},
        command=command,
        health=lambda: health.http_ok(f"http://{address}/-/ready", "alertmanager"),
        prepare=prepare,
        start_timeout=30,
    )
