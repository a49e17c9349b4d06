"""Benchmark: the batch layer's wall time and peak memory against the size of the history.

Run with the stack up: `.fraudstack/venv/bin/python benchmarks/batch_scale.py` (smoke
run: `--sizes 20000,40000 --output /tmp/batch_scale.json`). Writes
benchmarks/results/batch_scale.json, rewritten after every size (the latest result of
sizes not run this time is kept). For each size:

- generate (timed apart, not batch time): the simulator writes DAYS days of history, the
  daily volume set from the weekday shape so the sales add up to the size (one customer
  per 50 sales, one merchant per 3,000), chargebacks included, into
  /bench/batch-<size>/master on HDFS, in a child process;
- batch: `fraudstack batch run --from --to` (clean, aggregates, profiles, train) as a
  subprocess on an overlay of its own (master folder, Hive database and warehouse, model
  registry, batch views, Cassandra keyspace, metrics folder): the user's tables, promoted
  model and Prometheus figures are never touched. Step seconds and row counts come from
  the run's own step metrics; peak memory is the resident set of the whole process tree
  (CLI, Spark driver JVM, Python workers), sampled from /proc every second.

The size's HDFS folder, Hive database and keyspace are removed afterwards; its log stays
in the temporary folder the JSON names. One run per size: at 10M, repeats are not practical.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parent))
from produce_rate import machine

from fraudstack.config import Config, load_config
from fraudstack.simulator.generator import WEEKDAY
from fraudstack.simulator.run import to_parquet, wire_history
from fraudstack.simulator.settings import SimulatorSettings
from storage.master_dataset import delete_from_hdfs, list_hdfs, read_from_hdfs

SIZES = (1_000_000, 5_000_000, 10_000_000)
DAYS, SEED, START = 35, 11, dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
GOAL = {"transactions": 10_000_000, "seconds": 600}
PAGE = os.sysconf("SC_PAGE_SIZE")


def generate(config: Config, size: int, days: int, target: str, truth: Path) -> dict[str, Any]:
    """History of ``size`` sales into ``target`` (in a child process: its memory is its own)."""
    weights = sum(WEEKDAY[(START + dt.timedelta(days=d)).weekday()] for d in range(days))
    settings = SimulatorSettings(seed=SEED, customers=max(1_000, size // 50),
                                 merchants=max(300, size // 3_000),
                                 transactions_per_day=round(size / weights))  # fmt: skip
    began = time.perf_counter()
    counts = to_parquet(config, wire_history(config, settings, START, days), target, truth)
    return {"seconds": round(time.perf_counter() - began, 1),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "sales": pq.read_metadata(truth).num_rows, "records": dict(counts),
            "per_day": settings.transactions_per_day, "customers": settings.customers,
            "merchants": settings.merchants}  # fmt: skip


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every descendant, from /proc."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.scandir("/proc"):
        try:
            stat = Path(entry.path, "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat:
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            pass  # ended meanwhile
    return total


def run_batch(
    env: dict[str, str],
    days: int,
    log: Path,
    timeout: float,
    kill_when: Callable[[], bool] | None = None,
    steps: str | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """`fraudstack batch run` over the generated days: wall time, peak tree RSS, exit code.

    ``kill_when``: polled every second; once true, the run (CLI, JVM and Python workers)
    is killed with SIGKILL, as a crash would. ``steps``: the ``--steps`` option (default:
    all). ``cwd``: where it runs (``python -m`` imports the code found there first)."""
    last = START + dt.timedelta(days=days - 1)
    argv = [sys.executable, "-m", "fraudstack.cli", "batch", "run"]
    argv += ["--from", f"{START:%F}", "--to", f"{last:%F}"]  # the DAG's way: a date range
    argv += ["--steps", steps] if steps else []
    peak, began = 0, time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                 start_new_session=True)  # fmt: skip
        while child.poll() is None:
            peak = max(peak, tree_rss(child.pid))
            if time.perf_counter() - began > timeout:  # the CLI, its JVM and its workers
                os.killpg(child.pid, signal.SIGTERM)
                child.wait()
            elif kill_when is not None and kill_when():
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            time.sleep(1)
    failed = log.read_text(errors="replace").splitlines()[-40:] if child.returncode else None
    return {"exit_code": child.returncode, "seconds": round(time.perf_counter() - began, 1),
            "peak_rss_bytes": peak, "log": str(log), "log_tail_if_failed": failed}  # fmt: skip


def step_metrics(folder: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Seconds and row counts of each step, from the run's own ``.prom`` files."""
    seconds: dict[str, float] = {}
    rows: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("fraudstack_batch_*.prom")):
        step = path.stem.removeprefix("fraudstack_batch_")
        for family in text_string_to_metric_families(path.read_text()):
            for s in family.samples:
                if s.name == "fraudstack_batch_duration_seconds":
                    seconds[step] = round(s.value, 1)
                elif s.name == "fraudstack_batch_rows":
                    rows.setdefault(step, {})[s.labels["kind"]] = s.value
    return seconds, rows


def model_quality(config: Config, root: str) -> dict[str, Any] | None:
    """The registered candidate's sizes and test metrics (its ``metrics.json``, read through
    WebHDFS), or None when the run registered no model."""
    namenode = config.address("namenode", "http_port")
    listing = list_hdfs(namenode, f"{root}/models") or []
    versions = sorted(s["pathSuffix"] for s in listing if s["pathSuffix"].startswith("version="))
    if not versions:
        return None
    report = json.loads(read_from_hdfs(namenode, f"{root}/models/{versions[-1]}/metrics.json"))
    headline = (
        "auc_roc",
        "average_precision",
        "precision_review",
        "recall_review",
        "card_precision_at_100",
    )
    return {"sizes": report["sizes"],
            "train_legitimate_fraction": report.get("train_legitimate_fraction", 1.0),
            "test": {scorer: {k: report["test"][scorer].get(k) for k in headline}
                     for scorer in ("rules", "model", "combined")},
            "promoted": report["promotion"]["promote"]}  # fmt: skip


def drop(config: Config, root: str, name: str) -> None:
    """Remove what a size created: its Hive database, Cassandra keyspace and HDFS folder."""
    from pyhive import hive

    from storage.cassandra_client import cluster

    thrift = hive.connect(config.host("thriftserver"), config.port("thriftserver"), auth="NOSASL")
    with thrift as conn:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {name} CASCADE")
    cassandra = cluster(config.host("cassandra"), config.port("cassandra"), timeout=60)
    cassandra.connect().execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
    cassandra.shutdown()
    namenode = config.address("namenode", "http_port")
    delete_from_hdfs(namenode, root)
    delete_from_hdfs(namenode, root.rsplit("/", 1)[0], recursive=False)  # /bench if empty


@contextmanager
def isolated_history(base: Config, size: int, days: int) -> Iterator[dict[str, Any]]:
    """``size`` sales of history on an overlay of their own (see the module docstring);
    yields the overlay's ``env``, ``folder``, HDFS ``root``, database ``name`` and the
    ``generation`` report, and removes what it made on the way out."""
    from storage.cassandra_schema import apply_schema, schema_statements

    root, name = f"/bench/batch-{size}", f"bench_batch_{size}"
    folder = Path(tempfile.mkdtemp(prefix=f"fraudstack-batch-scale-{size}-"))
    own = {"cassandra": {"keyspace": name},
           "batch": {"master_dir": f"{root}/master", "database": name,
                     "tables_dir": f"{root}/warehouse", "metrics_dir": str(folder / "metrics")},
           "streaming": {"models_dir": f"{root}/models", "views_dir": f"{root}/views"}}  # fmt: skip
    # the whole merged configuration, so an overlay the user already has still applies
    overlay = {**base.raw, **{key: {**base.raw[key], **value} for key, value in own.items()}}
    (folder / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    env = {**os.environ, "FRAUDSTACK_CONFIG": str(folder / "overlay.yaml")}
    drop(base, root, name)  # what a crashed earlier run left would be read twice
    replication = int(base.raw["cassandra"].get("replication_factor", 1))
    schema = schema_statements(base.path("schema_file", "cassandra"), name, replication)
    apply_schema(base.host("cassandra"), base.port("cassandra"), schema, name)
    try:
        print(f"{size:,}: generating {days} days into {root}/master", flush=True)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            truth, target = folder / "truth.parquet", f"{base.hdfs_uri}{root}/master"
            generation = pool.submit(generate, base, size, days, target, truth).result()
        truth.unlink()
        print(f"{size:,}: generated in {generation['seconds']} s; batch log {folder}/batch.log")
        yield {"env": env, "folder": folder, "root": root, "name": name, "generation": generation}
    finally:
        drop(base, root, name)


def one_size(base: Config, size: int, days: int, timeout: float) -> dict[str, Any]:
    with isolated_history(base, size, days) as history:
        folder = history["folder"]
        batch = run_batch(history["env"], days, folder / "batch.log", timeout)
        steps, rows = step_metrics(folder / "metrics")
        try:  # a report that cannot be read must not cost the timings
            model = model_quality(base, history["root"]) if batch["exit_code"] == 0 else None
        except (OSError, KeyError, ValueError) as error:
            model = {"error": f"model report not read: {error!r}"}
        print(f"{size:,}: batch exit {batch['exit_code']}, {batch['seconds']} s, {steps}")
    read = rows.get("clean", {}).get("rows_read", 0)
    per_million = {key: round(s / read * 1e6, 1) for key, s in
                   {"total": batch["seconds"], **steps}.items()} if read else {}  # fmt: skip
    return {"size": size, "rows_read": read, "generation": history["generation"],
            "batch": {**batch, "steps_seconds": steps, "rows": rows}, "model": model,
            "seconds_per_million_rows": per_million}  # fmt: skip


def growth(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Seconds per million rows relative to the smallest size's (1.0 = linear)."""
    ok = [r for r in runs if r["batch"]["exit_code"] == 0 and r["seconds_per_million_rows"]]
    ok.sort(key=lambda r: r["size"])
    first = ok[0]["seconds_per_million_rows"] if ok else {}
    return {str(r["size"]): {key: round(value / first[key], 2)
                             for key, value in r["seconds_per_million_rows"].items()
                             if first.get(key)} for r in ok[1:]}  # fmt: skip


def results(base: Config, days: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    goal = [r["batch"] for r in runs if r["size"] == GOAL["transactions"]]
    return {
        "benchmark": "batch_scale",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**{k: v for k, v in machine().items() if k != "kafka_python"},
                    "note": "2 cores shared with the whole local stack (Kafka, Cassandra, "
                            "HDFS, Thrift Server, ...); one run per size"},
        "setup": {"days": days, "start": f"{START:%F}", "seed": SEED, "spark": base.raw["spark"],
                  "driver_memory": base.raw["batch"]["driver_memory"]},
        "goal": {**GOAL, "met": goal[0]["exit_code"] == 0 and goal[0]["seconds"] <= GOAL["seconds"]
                 if goal else None},
        "runs": runs,
        "growth_of_seconds_per_row_vs_smallest": growth(runs),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated")
    parser.add_argument("--days", type=int, default=DAYS, help="days of history per size")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per batch run")
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "batch_scale.json")  # fmt: skip
    args = parser.parse_args()
    base, sizes = load_config(), [int(s) for s in args.sizes.split(",")]
    runs = []  # sizes measured apart: keep the other sizes' latest results
    if args.output.exists():
        earlier = json.loads(args.output.read_text())
        runs = [{"measured_at": earlier["measured_at"], **r} for r in earlier["runs"]
                if r["size"] not in sizes]  # fmt: skip
    for size in sizes:
        began = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        runs.append({"measured_at": began, **one_size(base, size, args.days, args.timeout)})
        runs.sort(key=lambda r: r["size"])
        args.output.parent.mkdir(parents=True, exist_ok=True)  # after each size: a crash keeps it
        args.output.write_text(json.dumps(results(base, args.days, runs), indent=2) + "\n")
    print(args.output.read_text())


if __name__ == "__main__":
    main()
