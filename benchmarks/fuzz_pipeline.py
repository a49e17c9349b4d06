"""Fuzz the real pipeline: generated bad events into Kafka, every one accounted for.

Run with the stack up and no speed layer running:
`.fraudstack/venv/bin/python benchmarks/fuzz_pipeline.py [--events 100000] [--seed N]`.
Writes benchmarks/results/fuzz_pipeline.json.

From simulator transactions, a seeded fuzzer makes EVENTS records that break the
contract, in every way a producer could get it wrong (the ``MUTATIONS`` below: wrong
types, missing and unknown fields, huge strings and numbers, NaN / Infinity, bad
timestamps and zones, far future and past, invalid UTF-8, non-JSON bytes, truncated and
deeply nested JSON, oversized messages, empty and null messages), mixed with valid
transactions (one in ten) and replays of them. They are sent raw, around the validating
producer, to the speed layer on its own paths. Then:

- the job is still the process it was (it never stopped), and scored the valid ones;
- :func:`streaming.audit.audit` finds every bad record in the quarantine and on the
  dead-letter topic with its reason, every valid one scored and archived once;
- the same bad records offered to the validating producer are all dead-lettered by it.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.overlay
from faults import isolated_speed_layer, now
from produce_rate import machine

from fraudstack.config import Config, load_config
from fraudstack.events import CONTRACTS, MAX_RECORD_BYTES, format_time, validate
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.generator import Marketplace, midnight
from fraudstack.simulator.settings import FaultRates, SimulatorSettings
from fraudstack.stack import launcher
from storage.kafka_producer import EventProducer
from streaming import control
from streaming.audit import audit

RESULTS = Path(__file__).parent / "results" / "fuzz_pipeline.json"
FIELDS = CONTRACTS["transaction"]
FIELD_KINDS = {f.name: f.kind for f in FIELDS}
Record = dict[str, Any]
Sent = list[tuple[bytes, bytes | None, str]]  # (key, value, kind)
Mutation = Callable[[random.Random, Record], "bytes | None"]


def _dump(record: Any) -> bytes:
    return json.dumps(record).encode()  # NaN / Infinity written as JSON's extensions


def _field(rng: random.Random, kinds: tuple[str, ...] = ("str", "int", "float", "time")) -> str:
    return rng.choice([f.name for f in FIELDS if f.kind in kinds and f.name != "schema_version"])


def wrong_type(rng: random.Random, r: Record) -> bytes:
    name = _field(rng)
    text = FIELD_KINDS[name] == "str"  # a string where a string belongs would be valid
    value = rng.choice([[1, 2], {"a": 1}, True, 7, 3.5] + ([] if text else ["12.5"]))
    return _dump({**r, name: value})


def missing_required(rng: random.Random, r: Record) -> bytes:
    name = rng.choice([f.name for f in FIELDS if f.required])
    return _dump({k: v for k, v in r.items() if k != name})


def unknown_field(rng: random.Random, r: Record) -> bytes:
    return _dump(
        {**r, rng.choice(["card_number", "email", "x", "", "amount "]): "4111111111111111"}
    )


def huge_string(rng: random.Random, r: Record) -> bytes:
    return _dump({**r, _field(rng, ("str",)): "A" * rng.randint(257, 40_000)})


def huge_number(rng: random.Random, r: Record) -> bytes:
    name = _field(rng, ("int", "float"))
    return _dump({**r, name: rng.choice([10**30, -(10**30), 1e300, 2**31, 2**63, -1])})


def non_finite(rng: random.Random, r: Record) -> bytes:
    return _dump(
        {**r, _field(rng, ("float",)): rng.choice([float("nan"), float("inf"), -float("inf")])}
    )


BAD_TIMES = (
    "yesterday", "2026-13-45T10:00:00Z", "2026-11-01T10:00:00", "", "1700000000",
    "2026-11-01T10:00:00+25:00", "2026-11-01T25:61:00Z", "2026-11-01 10:00 CET",
)  # fmt: skip


def bad_timestamp(rng: random.Random, r: Record) -> bytes:
    text = rng.choice(BAD_TIMES)
    return _dump({**r, "event_time": text})


def far_time(rng: random.Random, r: Record) -> bytes:
    year = rng.choice([rng.randint(1, 1999), rng.randint(2100, 9999)])
    return _dump({**r, "event_time": f"{year:04d}-06-01T12:00:00.000Z"})


def near_future(rng: random.Random, r: Record) -> bytes:
    ahead = now() + dt.timedelta(days=rng.uniform(1.2, 300))
    return _dump({**r, "event_time": format_time(ahead)})


def invalid_utf8(rng: random.Random, r: Record) -> bytes:
    raw = _dump(r)
    cut = raw.index(b'"customer_id": "') + 16
    return raw[:cut] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]) + raw[cut:]


def non_json(rng: random.Random, r: Record) -> bytes:
    return rng.randbytes(rng.randint(1, 200))


def truncated(rng: random.Random, r: Record) -> bytes:
    raw = _dump(r)
    return raw[: rng.randint(1, len(raw) - 1)]


def deep_nesting(rng: random.Random, r: Record) -> bytes:
    depth = rng.randint(1_000, 8_000)
    return b"[" * depth + b"]" * depth


def oversized(rng: random.Random, r: Record) -> bytes:
    return _dump({**r, "device_id": "d" * rng.randint(MAX_RECORD_BYTES, 500_000)})


def not_an_object(rng: random.Random, r: Record) -> bytes:
    return _dump(rng.choice([[r], 42, "a transaction", None, True]))


def empty(rng: random.Random, r: Record) -> bytes | None:
    return rng.choice([b"", b"   ", None])


def bad_enum_or_version(rng: random.Random, r: Record) -> bytes:
    change = rng.choice([{"currency": "XXX"}, {"payment_method": "cash"}, {"schema_version": 2},
                         {"schema_version": "1"}, {"channel": "fax"}, {"amount": 0}])  # fmt: skip
    return _dump({**r, **change})


MUTATIONS: dict[str, tuple[Mutation, float]] = {  # name -> (mutation, share of the bad events)
    "wrong_type": (wrong_type, 0.12),
    "missing_required": (missing_required, 0.1),
    "unknown_field": (unknown_field, 0.06),
    "huge_string": (huge_string, 0.06),
    "huge_number": (huge_number, 0.08),
    "non_finite": (non_finite, 0.06),
    "bad_timestamp": (bad_timestamp, 0.08),
    "far_past_or_future": (far_time, 0.06),
    "future_beyond_skew": (near_future, 0.04),
    "invalid_utf8": (invalid_utf8, 0.06),
    "non_json_bytes": (non_json, 0.06),
    "truncated_json": (truncated, 0.08),
    "deep_nesting": (deep_nesting, 0.01),
    "oversized": (oversized, 0.002),
    "not_an_object": (not_an_object, 0.035),
    "empty_or_null": (empty, 0.01),
    "bad_enum_or_version": (bad_enum_or_version, 0.06),
}


def fuzz(
    config: Config, events: int, seed: int
) -> tuple[list[tuple[bytes, bytes | None, str]], collections.Counter[str]]:
    """``events`` bad records plus one valid in ten and some replays, as (key, value, kind).

    A mutation that happens to leave a record valid (rare: a wrong type on a field whose
    value it already had) is sent as valid and counted apart."""
    rng = random.Random(seed)
    settings = SimulatorSettings(
        seed=seed, customers=20_000, transactions_per_day=10_000, faults=FaultRates(0, 0, 0, 0)
    )
    market = Marketplace(settings, Tokeniser(load_key(config.home)), midnight(now()))
    names = list(MUTATIONS)
    weights = [MUTATIONS[n][1] for n in names]
    records: Sent = []
    kinds: collections.Counter[str] = collections.Counter()
    valid: list[tuple[bytes, bytes]] = []
    bad = 0
    while bad < events:
        for event in market.day(midnight(now()), 10_000):
            if event.kind != "transaction" or bad >= events:
                continue
            record = {**event.record, "event_time": format_time(now() - dt.timedelta(minutes=5))}
            key = record["customer_id"].encode()
            if rng.random() < 0.1:
                valid.append((key, _dump(record)))
                records.append((*valid[-1], "valid"))
                if rng.random() < 0.05:
                    records.append((*rng.choice(valid), "valid_replay"))
                continue
            name = rng.choices(names, weights)[0]
            value = MUTATIONS[name][0](rng, record)
            still_valid = value is not None and validate(value, received_at=now()) is None
            kind = "mutation_left_valid" if still_valid else name
            records.append((key, value, kind))
            kinds[kind] += 1
            bad += not still_valid
    kinds.update(k for _, _, k in records if k.startswith("valid"))
    return records, kinds


def send_raw(config: Config, records: Sent) -> dict[str, Any]:
    """Send every record (no validation); a send the client gave up on (a timeout on a
    loaded broker) is sent again, waiting for each acknowledgement, up to 3 rounds."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=config.kafka_bootstrap, acks="all", linger_ms=20,
                             max_request_size=1_048_000, enable_idempotence=True,
                             request_timeout_ms=120_000, delivery_timeout_ms=600_000,
                             max_block_ms=300_000)  # fmt: skip
    pending, errors = list(records), collections.Counter[str]()
    for _round in range(3):
        futures = [(r, producer.send("transactions", key=r[0], value=r[1])) for r in pending]
        producer.flush(timeout=900)
        failed = [(r, f.exception) for r, f in futures if not f.succeeded()]
        errors.update(type(e).__name__ for _, e in failed)
        pending = [r for r, _ in failed]
        if not pending:
            break
    producer.close()
    return {"acknowledged": len(records) - len(pending), "not_acknowledged": len(pending),
            "send_errors_retried": dict(errors)}  # fmt: skip


def through_the_producer(
    config: Config, records: list[tuple[bytes, bytes | None, str]]
) -> dict[str, int]:
    """The bad records offered to the validating producer (to scratch topics)."""
    producer = EventProducer(config.kafka_bootstrap, event_types={"fuzz_scratch": "transaction"},
                             dead_letter_topic="fuzz_scratch_dead_letter")  # fmt: skip
    refused = passed = 0
    for key, value, kind in records:
        if kind.startswith("valid") or kind == "mutation_left_valid" or value is None:
            continue
        if producer.send("fuzz_scratch", key, value):
            refused += 1
        else:
            passed += 1
    producer.flush()
    producer.close()
    return {"offered": refused + passed, "dead_lettered": refused, "let_through": passed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    # ids are the seed's: a seed a speed layer of another checkpoint already scored would
    # come back as rows stored twice under the same id, so the default is a fresh one
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    # a stopped run still stops its speed layer and removes its folders (`finally`)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    from fraudstack.spark import build_session

    base = load_config()
    records, kinds = fuzz(base, args.events, args.seed)
    print(f"generated {len(records):,} records: {dict(kinds)}", flush=True)
    spark = build_session(
        "fraudstack-fuzz-audit", base, extra={"spark.ui.showConsoleProgress": "false"}
    )
    spark.sparkContext.setLogLevel("ERROR")
    with isolated_speed_layer("fuzz") as config:
        pid = launcher.pid_file(config, control.NAME).running_pid()
        since = now() - dt.timedelta(seconds=1)
        began = time.monotonic()
        sent = send_raw(config, records)
        sent_seconds = time.monotonic() - began
        print(f"sent {sent} in {sent_seconds:.0f}s; reconciling", flush=True)
        result = audit(config, since, now() + dt.timedelta(seconds=1), spark=spark, wait=1_200)
        drained_seconds = time.monotonic() - began
        still = launcher.pid_file(config, control.NAME).running_pid()
    spark.stop()
    producer = through_the_producer(base, records)
    report = {
        "benchmark": "fuzz_pipeline",
        "measured_at": now().isoformat(timespec="seconds"),
        "machine": machine(),
        "seed": args.seed,
        "records": len(records),
        "kafka": sent,
        "kinds": dict(sorted(kinds.items())),
        "bad_events": sum(
            n for k, n in kinds.items() if not k.startswith("valid") and k != "mutation_left_valid"
        ),
        "job_never_stopped": pid is not None and still == pid,
        "seconds_to_send": round(sent_seconds, 1),
        "seconds_until_reconciled": round(drained_seconds, 1),
        "audit": result.as_dict(),
        "validating_producer": producer,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "audit"}, indent=2, default=str))
    print(f"reconciled: {result.ok}; unaccounted {result.unaccounted}")


if __name__ == "__main__":
    main()
