"""Prometheus from the Debian package, scraping every service of the stack."""

from __future__ import annotations

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import Service, installed, render


def prometheus(config: Config) -> Service:
    settings = config.service("prometheus")
    conf = config.conf_dir / "prometheus"
    monitoring = config.root / "monitoring" / "prometheus"

    def prepare() -> None:
        # the folder's only file is the scrape config; rules are read in place
        render(
            monitoring,
            conf,
            {
                "rules_dir": monitoring / "rules",
                "prometheus": config.address("prometheus"),
                "kafka_metrics": config.address("kafka", "metrics_port"),
                "cassandra_metrics": config.address("cassandra", "metrics_port"),
                "namenode_http": config.address("namenode", "http_port"),
                "datanode_http": config.address("datanode", "http_port"),
                "thriftserver_ui": config.address("thriftserver", "ui_port"),
                "node_exporter": config.address("node_exporter"),
                "process_exporter": config.address("process_exporter"),
                "alertmanager": config.address("alertmanager"),
                "speed_layer": f"{config.raw['host']}:{config.raw['streaming']['metrics_port']}",
                "producer": f"{config.raw['host']}:{config.raw['producer']['metrics_port']}",
                "alert_notifier": config.address("alert_notifier"),
            },
        )

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            installed("prometheus"),
            f"--config.file={conf / 'prometheus.yml'}",
            f"--storage.tsdb.path={config.data_dir / 'prometheus'}",
            f"--storage.tsdb.retention.time={settings['retention']}",
            f"--web.listen-address={config.address('prometheus')}",
            "--web.enable-lifecycle",
        ], {}

    return Service(
        name="prometheus",
        host=config.host("prometheus"),
        ports={"port": settings["port"]},
        command=command,
        health=lambda: health.prometheus_ready(config.address("prometheus")),
        prepare=prepare,
        start_timeout=60,
    )
