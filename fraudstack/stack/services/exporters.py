"""Host and per-process metrics for Prometheus, from Debian's exporters."""

from __future__ import annotations

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import Service, installed


def node_exporter(config: Config) -> Service:
    address = config.address("node_exporter")
    textfiles = config.textfile_dir

    def command() -> tuple[list[str], dict[str, str]]:
        textfiles.mkdir(parents=True, exist_ok=True)
        return [
            installed("prometheus-node-exporter"),
            f"--web.listen-address={address}",
            # batch jobs drop <name>.prom files here (runs, durations, model metrics)
            f"--collector.textfile.directory={textfiles}",
            "--no-collector.systemd",
        ], {}

    return Service(
        name="node_exporter",
        host=config.host("node_exporter"),
        ports={"port": config.port("node_exporter")},
        command=command,
        health=lambda: health.metrics_served(address, "node_cpu_seconds_total"),
        start_timeout=30,
    )


def process_exporter(config: Config) -> Service:
    address = config.address("process_exporter")

    groups = config.root / "monitoring" / "process-exporter" / "process-exporter.yml"

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            installed("prometheus-process-exporter"),
            f"-web.listen-address={address}",
            f"-config.path={groups}",
        ], {}

    return Service(
        name="process_exporter",
        host=config.host("process_exporter"),
        ports={"port": config.port("process_exporter")},
        command=command,
        health=lambda: health.metrics_served(address, "namedprocess_namegroup_num_procs"),
        start_timeout=30,
    )
