"""Benchmark: the batch `train` step of two code versions side by side, on one history.

Run with the stack up: `.fraudstack/venv/bin/python benchmarks/train_step.py --baseline
HEAD --size 500000 --repeats 2`. Compares the working tree (uncommitted changes included)
with a git revision. Writes benchmarks/results/train_step.json.

- history: ``--size`` sales generated on an overlay of their own, exactly as
  `batch_scale.py` does (own master folder, Hive database, model registry, keyspace,
  metrics folder: the user's tables and promoted model are never touched), then
  `fraudstack batch run --steps clean` once;
- runs: `fraudstack batch run --steps train` from the working tree once as a warm-up
  (the first run of an empty registry has no promoted model to compare with, later ones
  do), then alternately from the baseline and from the working tree, ``--repeats`` times
  each. The baseline runs from a temporary `git worktree` that shares this checkout's
  `.fraudstack` (virtualenv, jars, secrets); ``python -m`` and ``PYTHONPATH`` make the
  CLI, the Spark driver and its Python workers import the code of the tree they run in.

Reported per version: the step's own seconds (its metric) and the wall seconds of the
run, min / median / max, and the ratio of the medians (working tree / baseline).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from batch_scale import DAYS, isolated_history, run_batch, step_metrics
from produce_rate import machine, summary

from fraudstack.config import load_config

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """``revision`` checked out in a temporary worktree sharing this checkout's state."""
    tree = Path(tempfile.mkdtemp(prefix="fraudstack-baseline-")) / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), revision],
                   check=True, capture_output=True)  # fmt: skip
    (tree / ".fraudstack").symlink_to(REPO / ".fraudstack")
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                       check=False, capture_output=True)  # fmt: skip


def train_once(env: dict[str, str], tree: Path, folder: Path, name: str, timeout: float
               ) -> dict[str, Any]:  # fmt: skip
    """One `batch run --steps train` from the code in ``tree``: step and wall seconds."""
    log = folder / f"{name}.log"
    run = run_batch({**env, "PYTHONPATH": str(tree)}, DAYS, log, timeout, steps="train", cwd=tree)
    if run["exit_code"] != 0:
        raise RuntimeError(f"train from {tree} failed (log {log}): {run['log_tail_if_failed']}")
    seconds, rows = step_metrics(folder / "metrics")
    return {"step_seconds": seconds["train"], "wall_seconds": run["seconds"],
            "peak_rss_bytes": run["peak_rss_bytes"], "rows": rows.get("train", {})}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare with")
    parser.add_argument("--size", type=int, default=500_000, help="sales of history")
    parser.add_argument("--repeats", type=int, default=2, help="runs per version")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "train_step.json")  # fmt: skip
    args = parser.parse_args()
    base = load_config()
    revision = subprocess.run(["git", "-C", str(REPO), "rev-parse", args.baseline], check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
    began = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "working_tree": []}
    with isolated_history(base, args.size, DAYS) as history, worktree(revision) as tree:
        folder = history["folder"]
        env = history["env"]
        prepared = run_batch(env, DAYS, folder / "clean.log", args.timeout,
                             steps="clean", cwd=REPO)  # fmt: skip
        if prepared["exit_code"] != 0:
            raise RuntimeError(f"clean failed: {prepared['log_tail_if_failed']}")
        warmup = train_once(env, REPO, folder, "warmup", args.timeout)
        print(f"warm-up (working tree): {warmup['step_seconds']} s", flush=True)
        for repeat in range(args.repeats):
            for version, code in (("baseline", tree), ("working_tree", REPO)):
                runs[version].append(train_once(env, code, folder, f"{version}-{repeat}",
                                                args.timeout))  # fmt: skip
                print(f"{version} #{repeat + 1}: {runs[version][-1]['step_seconds']} s", flush=True)
    # min / median / max per version (``--repeats`` >= 1: never empty)
    step = {v: summary([r["step_seconds"] for r in rs]) or {} for v, rs in runs.items()}
    wall = {v: summary([r["wall_seconds"] for r in rs]) or {} for v, rs in runs.items()}
    result = {
        "benchmark": "train_step",
        "measured_at": began,
        "machine": {**{k: v for k, v in machine().items() if k != "kafka_python"},
                    "note": "2 cores shared with the whole local stack; versions alternated "
                            "in one run, after a warm-up"},
        "setup": {"size": args.size, "generated": history["generation"]["records"],
                  "days": DAYS, "baseline": revision, "repeats": args.repeats},
        "warmup": warmup,
        "runs": runs,
        "step_seconds": step,
        "wall_seconds": wall,
        "median_ratio_working_tree_to_baseline": {
            name: round(figures["working_tree"]["median"] / figures["baseline"]["median"], 3)
            for name, figures in (("step", step), ("wall", wall))
        },
    }  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median_ratio_working_tree_to_baseline"]))


if __name__ == "__main__":
    main()
