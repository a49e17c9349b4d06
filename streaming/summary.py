"""The live summary of the speed layer: what `fraudstack stream watch` prints.

Counts and latency come from the job's Prometheus endpoint; precision and recall
compare the decisions stored in Cassandra with the simulator's ground truth (a
Parquet file the live generator rewrites every few seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LATENCY = "fraudstack_stream_end_to_end_latency_seconds"


def histogram_quantile(samples: dict[str, float], name: str, q: float) -> float | None:
    """The ``q`` quantile of a Prometheus histogram, interpolated within its bucket."""
    buckets = sorted(
        (float(key.split('le="')[1].split('"')[0]), value)
        for key, value in samples.items()
        if key.startswith(f"{name}_bucket{{")
    )
    if not buckets or buckets[-1][1] == 0:
        return None
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return lower


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(
        value
        for key, value in samples.items()
        if key.split("{")[0] == name and all(label in key for label in wanted)
    )


@dataclass
class Quality:
    """Decisions against the ground truth, over labelled transactions scored so far."""

    labelled: int
    scored: int
    frauds: int
    flagged: int
    caught: int

    @property
    def precision(self) -> float | None:
        return self.caught / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.frauds if self.frauds else None


def quality(session: Any, keyspace: str, truth_path: Path) -> Quality | None:
    """Compare stored decisions with the truth file (None until the file exists)."""
    import pyarrow.parquet as pq
    from cassandra.concurrent import execute_concurrent_with_args

    if not truth_path.exists():
        return None
    truth = pq.read_table(truth_path, columns=["transaction_id", "is_fraud"]).to_pylist()
    is_fraud = {row["transaction_id"]: bool(row["is_fraud"]) for row in truth}
    query = session.prepare(
        f"SELECT transaction_id, decision FROM {keyspace}.scored_transactions "
        "WHERE transaction_id = ?"
    )
    results = execute_concurrent_with_args(
        session, query, [(tx,) for tx in is_fraud], concurrency=128, raise_on_first_error=True
    )
    decisions = {row.transaction_id: row.decision for ok, rows in results if ok for row in rows}
    frauds = sum(1 for tx in decisions if is_fraud[tx])
    flagged = [tx for tx, decision in decisions.items() if decision != "ALLOW"]
    caught = sum(1 for tx in flagged if is_fraud[tx])
    return Quality(len(is_fraud), len(decisions), frauds, len(flagged), caught)


def newest_truth(data_dir: Path) -> Path | None:
    """The most recent live run's truth file."""
    files = sorted(
        (data_dir / "simulator").glob("truth-live-*.parquet"), key=lambda p: p.stat().st_mtime
    )
    return files[-1] if files else None
