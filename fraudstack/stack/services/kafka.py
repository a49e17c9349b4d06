"""Apache Kafka, KRaft single node (broker + controller)."""

from __future__ import annotations

import base64
import uuid

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import (
    CONF_TEMPLATES,
    Service,
    classpath,
    java,
    jmx_agent,
    jvm_flags,
    render,
    run_checked,
)


def kafka(config: Config) -> Service:
    settings = config.service("kafka")
    conf = config.conf_dir / "kafka"
    data = config.data_dir / "kafka"

    def prepare() -> None:
        render(CONF_TEMPLATES / "kafka", conf, {**settings, "data_dir": data})
        if (data / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        run_checked(
            [
                java(),
                "-cp",
                classpath(config, "kafka"),
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",  # an id may start with "-": never a separate argv
                "--config",
                str(conf / "server.properties"),
            ],
            what="format Kafka storage",
        )

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            java(),
            *jvm_flags("kafka", settings["heap"]),
            f"-Dlog4j2.configurationFile={conf / 'log4j2.yaml'}",
            jmx_agent(config, "kafka"),
            "-cp",
            classpath(config, "kafka"),
            "kafka.Kafka",
            str(conf / "server.properties"),
        ], {}

    def bootstrap() -> list[str]:
        from storage.topics import ensure_topics, load_topics

        return ensure_topics(
            config.kafka_bootstrap,
            load_topics(config.path("topics_file", "kafka")),
            int(config.raw["kafka"].get("replication_factor", 1)),
        )

    return Service(
        name="kafka",
        host=config.host("kafka"),
        ports={k: config.port("kafka", k) for k in ("port", "controller_port", "metrics_port")},
        command=command,
        health=lambda: health.kafka_roundtrip(config.kafka_bootstrap),
        prepare=prepare,
        bootstrap=bootstrap,
        start_timeout=120,
    )
