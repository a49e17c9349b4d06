"""Start, stop and inspect the speed layer as a background process of the stack.

``start`` launches ``spark-submit streaming/job.py`` detached (pid file and log
beside the stack's services) and waits until every query reports itself active on
the job's metrics endpoint. ``stop`` asks the job to stop between micro-batches
(a stop file it polls), then falls back to signals.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from fraudstack.config import Config
from fraudstack.spark import spark_conf, spark_env
from fraudstack.stack import launcher, process

NAME = "speed-layer"
REALTIME = "speed-layer-realtime"


@dataclass(frozen=True)
class Job:
    """One of the speed layer's Spark applications."""

    name: str  # pid file, log and stop file
    script: str  # under streaming/
    queries: tuple[str, ...]
    metrics_port: int
    master: str
    memory: str


def job_spec(config: Config, realtime: bool = False) -> Job:
    """The micro-batch job (default) or the real-time first-warning job."""
    from streaming.job import QUERIES

    settings = config.raw["streaming"]
    if realtime:
        rt = settings["realtime"]
        return Job(REALTIME, "realtime.py", ("realtime_alerts",), int(rt["metrics_port"]),
                   str(rt["master"]), "1g")  # fmt: skip
    return Job(NAME, "job.py", QUERIES, int(settings["metrics_port"]),
               str(config.raw["spark"]["master"]), str(settings["driver_memory"]))  # fmt: skip


_SAMPLE = re.compile(r"^(\w+)(?:\{([^}]*)\})? ([-+\w.]+)$")


class StreamError(RuntimeError):
    """The speed layer could not be started or stopped; the message says why."""


def stop_file(config: Config, job: Job | None = None) -> Path:
    return config.run_dir / f"{(job or job_spec(config)).name}.stop"


def metrics_url(config: Config, job: Job | None = None) -> str:
    return f"http://{config.raw['host']}:{(job or job_spec(config)).metrics_port}/metrics"


def command(
    config: Config,
    queries: tuple[str, ...] = (),
    job: Job | None = None,
    starting_offsets: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The spark-submit command line and environment of the job."""
    job = job or job_spec(config)
    argv = [
        str(Path(sys.executable).parent / "spark-submit"),
        "--name", f"fraudstack-{job.name}",
        "--driver-memory", job.memory,
    ]  # fmt: skip
    conf = {
        **spark_conf(config),
        "spark.master": job.master,
        "spark.sql.shuffle.partitions": str(config.raw["streaming"]["shuffle_partitions"]),
    }
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    argv += [str(config.root / "streaming" / job.script), *queries]
    if starting_offsets:
        argv += ["--starting-offsets", starting_offsets]
    env = {**os.environ, **spark_env(config), "PYTHONPATH": str(config.root)}
    return argv, env


def read_metrics(
    config: Config, timeout: float = 2.0, job: Job | None = None
) -> dict[str, float] | None:
    """The job's metrics as ``name{labels}`` → value, or None if it does not answer."""
    try:
        response = requests.get(metrics_url(config, job), timeout=timeout)
        response.raise_for_status()
    except requests.RequestException:
        return None
    samples = {}
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            name, labels, value = match.groups()
            samples[f"{name}{{{labels}}}" if labels else name] = float(value)
    return samples


@dataclass
class StreamStatus:
    """What ``fraudstack stream status`` shows."""

    pid: int | None
    active: dict[str, bool] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.pid is not None


def status(config: Config, job: Job | None = None) -> StreamStatus:
    """Whether the job runs, and each query's state from its metrics endpoint."""
    job = job or job_spec(config)
    pid = launcher.pid_file(config, job.name).running_pid()
    samples = read_metrics(config, job=job) if pid else None
    active = {
        key.split('"')[1]: value == 1.0
        for key, value in (samples or {}).items()
        if key.startswith("fraudstack_stream_query_active{")
    }
    return StreamStatus(pid, active, samples or {})


def mark_expected(config: Config, job: Job, running: bool) -> None:
    """Tell Prometheus whether the scraped job should run (``SpeedLayerDown`` fires only
    when it should and does not answer), through the node exporter's textfile folder.

    Only for the job Prometheus scrapes: a test's job on a port of its own says nothing.
    """
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    scrape_config = config.conf_dir / "prometheus" / "prometheus.yml"
    target = f'"{config.raw["host"]}:{job.metrics_port}"'
    if not scrape_config.exists() or target not in scrape_config.read_text():
        return
    registry = CollectorRegistry()
    Gauge("fraudstack_stream_expected_running", "1 between `stream start` and `stream stop`",
          registry=registry).set(1 if running else 0)  # fmt: skip
    config.textfile_dir.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(config.textfile_dir / f"{job.name}.prom"), registry)


PORT_RELEASE_SECONDS = 30.0  # how long a start waits for the metrics port to be free


def start(
    config: Config,
    queries: tuple[str, ...] = (),
    timeout: float = 240.0,
    realtime: bool = False,
    starting_offsets: str | None = None,
) -> StreamStatus:
    """Launch a job and wait until its queries are active.

    ``starting_offsets`` (earliest | latest) overrides the config for queries that have no
    checkpoint yet; the real-time job always starts at the latest offsets.

    Raises:
        StreamError: it is already running, the metrics port is taken, the process
            exits, or the queries are not all active within ``timeout`` seconds.
    """
    job = job_spec(config, realtime)
    pid_file = launcher.pid_file(config, job.name)
    if pid_file.running_pid():
        raise StreamError(f"{job.name} is already running (`fraudstack stream status`)")
    # a job killed a moment ago may have processes still exiting that hold the port
    freed_by = time.monotonic() + PORT_RELEASE_SECONDS
    while process.port_in_use(config.raw["host"], job.metrics_port):
        if time.monotonic() > freed_by:
            raise StreamError(
                f"port {job.metrics_port} is taken by {launcher.port_owner(job.metrics_port)}"
            )
        time.sleep(0.5)
    stop_file(config, job).unlink(missing_ok=True)
    argv, env = command(config, queries, job, None if realtime else starting_offsets)
    log = launcher.log_path(config, job.name)
    process.spawn(argv, log_path=log, pid_file=pid_file, env=env, cwd=config.root)
    wanted = set(queries or job.queries)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = status(config, job)
        if not current.running:
            raise StreamError(f"{job.name} exited; last log lines:\n{process.tail(log, 30)}")
        if wanted <= {name for name, on in current.active.items() if on}:
            mark_expected(config, job, running=True)
            return current
        time.sleep(1.0)
    raise StreamError(
        f"queries not active after {timeout:.0f}s; last log lines:\n{process.tail(log, 30)}"
    )


def stop(config: Config, timeout: float = 90.0, realtime: bool = False) -> bool:
    """Stop a job between micro-batches; signals if it does not stop in ``timeout``.

    Returns:
        True if a running job was stopped.
    """
    job = job_spec(config, realtime)
    pid_file = launcher.pid_file(config, job.name)
    mark_expected(config, job, running=False)
    if not pid_file.running_pid():
        pid_file.remove()
        return False
    stop_file(config, job).parent.mkdir(parents=True, exist_ok=True)
    stop_file(config, job).touch()
    deadline = time.monotonic() + timeout
    while pid_file.running_pid() and time.monotonic() < deadline:
        time.sleep(0.5)
    if pid_file.running_pid():
        process.terminate(pid_file)
    pid_file.remove()
    stop_file(config, job).unlink(missing_ok=True)
    return True
