"""Fault injection: break a part of the running stack under steady traffic, then reconcile.

Run with the stack up and no speed layer running:
`.fraudstack/venv/bin/python benchmarks/faults.py [--scenarios sigkill,kafka,...] [--long]`.
Results go to benchmarks/results/faults.json (rewritten after every scenario).

Each scenario runs its own speed layer (checkpoints, archive and registry under
/bench/faults-<run> on HDFS, the shared keyspace and topics) while a generator sends
RATE simulator transactions a second, stamped with the wall clock, plus one raw
malformed record in fifty that the speed layer must quarantine. The fault is injected
after WARMUP seconds; traffic goes on for AFTER seconds past its end. Then:

- recovery: seconds from the end of the fault until every transaction the producer had
  acknowledged by then is scored in Cassandra (a job the fault killed is restarted at
  the end of the fault, as a supervisor would; the table says when that was needed);
- reconciliation: :func:`streaming.audit.audit` over the scenario's window: what the
  broker acknowledged against Cassandra, quarantine, the topics and the HDFS archive.

Scenarios: ``sigkill`` (SIGKILL the job 3 times at random points, restart each time),
``kafka`` (stop the broker for OUTAGE seconds), ``cassandra`` (stop it for 60 s),
``datanode`` (stop the HDFS DataNode for OUTAGE seconds), ``backpressure`` (send
BURST_RATE a second, above what the job scores, for 60 s, or 5 minutes with --long,
then let it drain), ``batch_kill`` (SIGKILL a batch run over 200k generated sales 20 s
after its clean step finished, re-run it: the Hive tables must reconcile with what was
generated, raw = clean + quarantined + duplicates removed, no transaction twice;
recovery is the re-run's wall time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.overlay
from produce_rate import machine

from fraudstack.config import Config, load_config
from fraudstack.events import format_time
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.generator import Marketplace, midnight
from fraudstack.simulator.settings import FaultRates, SimulatorSettings
from fraudstack.stack import launcher
from streaming import control
from streaming.audit import audit
from tests.overlay import overlaid

ROOT = Path(__file__).resolve().parents[1]
RATE, BURST_RATE = 40, 1_500
WARMUP, AFTER, OUTAGE = 45, 30, 30
RECOVERY_LIMIT = 900
RESULTS = ROOT / "benchmarks" / "results" / "faults.json"


class Traffic:
    """A steady generator: simulator transactions stamped now, and a raw malformed record
    every ``bad_every`` records (sent around the validating producer, for the speed layer
    to quarantine). Records whose send the producer gave up on are counted, not retried."""

    def __init__(self, config: Config, rate: int, seed: int, bad_every: int = 50) -> None:
        from kafka import KafkaProducer

        self.rate, self.bad_every = rate, bad_every
        self.producer = KafkaProducer(
            bootstrap_servers=config.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            request_timeout_ms=30_000,
            max_block_ms=120_000,
        )
        settings = SimulatorSettings(
            seed=seed, customers=20_000, transactions_per_day=rate, faults=FaultRates(0, 0, 0, 0)
        )
        self.market = Marketplace(settings, Tokeniser(load_key(config.home)), midnight(now()))
        self.acked: list[tuple[float, str]] = []  # (monotonic ack time, transaction id)
        self.sent = self.failed = self.bad = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Traffic:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.producer.flush(timeout=180)
        self.producer.close(timeout=30)

    def _send(self, key: bytes, value: bytes, tx_id: str | None) -> None:
        future = self.producer.send("transactions", key=key, value=value)
        if tx_id is not None:
            future.add_callback(lambda _meta: self.acked.append((time.monotonic(), tx_id)))
        future.add_errback(lambda _exc: setattr(self, "failed", self.failed + 1))
        self.sent += 1

    def _run(self) -> None:
        pending: list[Any] = []
        started, tick = time.monotonic(), 0
        while not self.stopping.is_set():
            if len(pending) < self.rate:
                pending += [
                    e
                    for e in self.market.day(midnight(now()), self.rate * 10)
                    if e.kind == "transaction"
                ]
            batch, pending = pending[: self.rate], pending[self.rate :]
            for event in batch:
                record = {**event.record, "event_time": format_time(now())}
                key = record["customer_id"].encode()
                self._send(key, json.dumps(record).encode(), record["transaction_id"])
                if self.sent % self.bad_every == 0:
                    self.bad += 1
                    self._send(key, json.dumps(record).encode()[:-7], None)  # truncated JSON
            tick += 1
            pause = started + tick - time.monotonic()
            if pause > 0:
                self.stopping.wait(pause)

    def acked_by(self, moment: float) -> list[str]:
        return [tx_id for at, tx_id in list(self.acked) if at <= moment]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def unscored(session: Any, ids: list[str]) -> list[str]:
    """The ids not (yet) in ``scored_transactions``; a read that timed out counts as not yet
    (a loaded node may time out a few of many point reads)."""
    from cassandra.concurrent import execute_concurrent_with_args

    statement = session.prepare(
        "SELECT transaction_id FROM scored_transactions WHERE transaction_id = ?"
    )
    results = execute_concurrent_with_args(
        session, statement, [(i,) for i in ids], concurrency=64, raise_on_first_error=False
    )
    return [i for i, (ok, rows) in zip(ids, results, strict=True) if not ok or not list(rows)]


def ensure_job(config: Config) -> bool:
    """Start the job if a fault killed it; True if it had to be restarted."""
    if control.status(config).running:
        return False
    control.start(config)
    return True


def wait_recovered(
    config: Config, session: Any, ids: list[str], since: float, limit: float = RECOVERY_LIMIT
) -> float | None:
    """Seconds from ``since`` until every id is scored (None: not within ``limit``)."""
    deadline = since + limit
    remaining = list(ids)
    while time.monotonic() < deadline:
        remaining = unscored(session, remaining)  # each poll reads only what is still missing
        if not remaining:
            return round(time.monotonic() - since, 1)
        ensure_job(config)
        time.sleep(2)
    return None


def kill_job(config: Config) -> None:
    pid = launcher.pid_file(config, control.NAME).running_pid()
    if pid is not None:
        os.killpg(pid, signal.SIGKILL)
    while control.status(config).running:
        time.sleep(0.5)


def outage(service: str, seconds: float) -> Callable[[Config, Traffic], dict[str, Any]]:
    """Stop ``service`` (and what depends on it) for ``seconds``, then start them again."""

    def inject(config: Config, traffic: Traffic) -> dict[str, Any]:
        stopped = launcher.down(config, [service])
        time.sleep(seconds)
        launcher.up(config, stopped)
        return {"stopped": stopped, "outage_seconds": seconds}

    return inject


def sigkill(config: Config, traffic: Traffic) -> dict[str, Any]:
    rng = random.Random(int(time.time()))
    waits = []
    for kill in range(3):
        if kill:
            waits.append(round(rng.uniform(5, 25), 1))
            time.sleep(waits[-1])
        kill_job(config)
        time.sleep(3)
        control.start(config)
    return {"kills": 3, "seconds_between_restart_and_kill": waits}


def backpressure(seconds: float) -> Callable[[Config, Traffic], dict[str, Any]]:
    def inject(config: Config, traffic: Traffic) -> dict[str, Any]:
        burst = Traffic(config, BURST_RATE, seed=int(time.time()), bad_every=100).start()
        time.sleep(seconds)
        burst.stop()
        traffic.acked += burst.acked
        traffic.sent, traffic.failed, traffic.bad = (
            traffic.sent + burst.sent,
            traffic.failed + burst.failed,
            traffic.bad + burst.bad,
        )
        return {"burst_rate": BURST_RATE, "burst_seconds": seconds, "burst_sent": burst.sent}

    return inject


@contextmanager
def isolated_speed_layer(name: str) -> Iterator[Config]:
    """A speed layer of its own (paths under /bench/<name>-<id> on HDFS, deleted after),
    reading what arrives from now on; stopped on the way out."""
    root = f"/bench/{name}-{uuid.uuid4().hex[:8]}"
    streaming = {
        "checkpoint_dir": f"{root}/checkpoints",
        "archive_dir": f"{root}/master",
        "views_dir": f"{root}/views",
        "models_dir": f"{root}/models",
        "starting_offsets": "latest",
        "archive_trigger": "10 seconds",
        "quarantine_trigger": "2 seconds",
    }
    folder = Path(tempfile.mkdtemp(prefix=f"fraudstack-{name}-"))
    with overlaid(folder, root, {"streaming": streaming}) as config:
        deadline = time.monotonic() + 1_800
        while control.status(config).running and time.monotonic() < deadline:
            time.sleep(10)  # one speed layer at a time on this machine (a test's, say)
        control.start(config)
        try:
            yield config
        finally:
            control.stop(config)


def batch_kill(base: Config, size: int = 200_000) -> dict[str, Any]:
    """Kill a batch run 20 s after its clean step finished, re-run it, check the tables."""
    from batch_scale import DAYS, isolated_history, run_batch, step_metrics
    from pyhive import hive

    with isolated_history(base, size, DAYS) as history:
        folder, env = history["folder"], history["env"]
        clean_done = folder / "metrics" / "fraudstack_batch_clean.prom"
        seen: list[float] = []

        def halfway() -> bool:
            if clean_done.exists() and not seen:
                seen.append(time.monotonic())
            return bool(seen) and time.monotonic() - seen[0] > 20

        killed = run_batch(env, DAYS, folder / "killed.log", 3_600, kill_when=halfway)
        clean_done.unlink(missing_ok=True)
        print(f"batch: killed run exit {killed['exit_code']}; re-running", flush=True)
        rerun = run_batch(env, DAYS, folder / "rerun.log", 3_600)
        steps, rows = step_metrics(folder / "metrics")
        clean_rows = rows.get("clean", {})
        thrift = hive.connect(base.host("thriftserver"), base.port("thriftserver"), auth="NOSASL")
        with thrift as conn:
            cursor = conn.cursor()
            counts = {}
            for table, key in (("transactions_raw", None), ("transactions_clean", "transaction_id"),
                               ("transactions_quarantine", None)):  # fmt: skip
                distinct = f", count(DISTINCT {key})" if key else ""
                cursor.execute(f"SELECT count(*){distinct} FROM {history['name']}.{table}")
                counts[table] = list(cursor.fetchone())
    written = history["generation"]["records"].get("transaction:written", 0)
    raw, clean, quarantined = (counts[t][0] for t in ("transactions_raw", "transactions_clean",
                                                      "transactions_quarantine"))  # fmt: skip
    read = int(clean_rows.get("rows_read", -1))  # the master dataset's rows in the date range
    duplicates = int(clean_rows.get("duplicates_removed", -1))
    lost = max(0, read - raw) + max(0, raw - clean - quarantined - duplicates)
    duplicated = counts["transactions_clean"][0] - counts["transactions_clean"][1]
    duplicated += max(0, raw - read)
    return {
        "scenario": "batch_kill",
        "detail": {
            "size": size,
            "days": DAYS,
            "killed_exit_code": killed["exit_code"],
            "killed_after_seconds": killed["seconds"],
            "steps_rerun": steps,
            # a few events of the simulator's last day spill past its midnight, out
            # of the run's --from/--to range (uninterrupted runs show the same)
            "generated": written,
            "generated_outside_the_range": written - read,
        },
        "events_in": read,
        "hive_counts": counts,
        "lost": lost,
        "duplicated": duplicated,
        "recovery_seconds": rerun["seconds"],
        "reconciled": rerun["exit_code"] == 0 and lost == 0 and duplicated == 0,
    }


def run_scenario(
    name: str, inject: Callable[[Config, Traffic], dict[str, Any]], spark: Any
) -> dict[str, Any]:
    from storage.cassandra_client import cluster

    with isolated_speed_layer(f"faults-{name}") as config:
        connection = cluster(config.host("cassandra"), config.port("cassandra"), timeout=30)
        try:
            since = now() - dt.timedelta(seconds=1)
            traffic = Traffic(config, RATE, seed=int(time.time())).start()
            time.sleep(WARMUP)
            fault_started = time.monotonic()
            print(f"{name}: injecting", flush=True)
            detail = inject(config, traffic)
            fault_ended = time.monotonic()
            restarted = ensure_job(config)
            print(f"{name}: fault over after {fault_ended - fault_started:.0f}s", flush=True)
            session = connection.connect(config.keyspace)
            time.sleep(AFTER)
            traffic.stop()
            # a backlog drains at the job's rate: the longer the fault, the longer to wait
            limit = RECOVERY_LIMIT + 6 * (fault_ended - fault_started)
            acked = traffic.acked_by(fault_ended)
            recovery = wait_recovered(config, session, acked, fault_ended, limit)
            ensure_job(config)
            print(f"{name}: recovered in {recovery}s; reconciling", flush=True)
            result = audit(config, since, now() + dt.timedelta(seconds=1), spark=spark, wait=300)
        finally:
            connection.shutdown()
    checks = {c.name: vars(c) for c in result.checks}
    return {
        "scenario": name,
        "detail": detail,
        "fault_seconds": round(fault_ended - fault_started, 1),
        "job_restarted_after_fault": restarted,
        "producer": {
            "sent": traffic.sent,
            "acknowledged_valid": len(traffic.acked),
            "malformed_sent": traffic.bad,
            "failed_after_retries": traffic.failed,
        },
        "events_in": result.inputs.total,
        "lost": sum(c.lost for c in result.checks) + result.unaccounted,
        "duplicated": sum(c.duplicated for c in result.checks),
        "redelivered_on_topics": sum(c.redelivered for c in result.checks),
        "unaccounted": result.unaccounted,
        "recovery_seconds": recovery,
        "reconciled": result.ok,
        "checks": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", default="sigkill,kafka,cassandra,datanode,backpressure,batch_kill"
    )
    parser.add_argument("--long", action="store_true", help="5 minutes of backpressure")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    # a stopped run still stops its speed layer and removes its folders (`finally`)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    scenarios = {
        "sigkill": sigkill,
        "kafka": outage("kafka", OUTAGE),
        "cassandra": outage("cassandra", 60),
        "datanode": outage("datanode", OUTAGE),
        "backpressure": backpressure(300 if args.long else 60),
    }
    from fraudstack.spark import build_session

    config = load_config()
    spark = build_session(
        "fraudstack-faults-audit", config, extra={"spark.ui.showConsoleProgress": "false"}
    )
    spark.sparkContext.setLogLevel("ERROR")
    report: dict[str, Any] = {
        "benchmark": "faults",
        "machine": machine(),
        "setup": {"rate": RATE, "warmup": WARMUP, "after": AFTER, "outage": OUTAGE},
        "runs": [],
    }
    wanted = args.scenarios.split(",")
    if args.output.exists():  # scenarios run apart: keep the others' latest results
        earlier = json.loads(args.output.read_text())["runs"]
        report["runs"] = [run for run in earlier if run["scenario"] not in wanted]
    for name in wanted:
        print(f"== {name}", flush=True)
        began = now().isoformat(timespec="seconds")
        if name == "batch_kill":
            run = batch_kill(config)
        else:
            run = run_scenario(name, scenarios[name], spark)
        report["runs"].append({"measured_at": began, **run})
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(
            f"{name}: in {run['events_in']}, lost {run['lost']}, duplicated {run['duplicated']}, "
            f"recovery {run['recovery_seconds']}s, reconciled {run['reconciled']}",
            flush=True,
        )
    spark.stop()


if __name__ == "__main__":
    main()
