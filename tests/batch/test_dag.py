"""The Airflow DAG, loaded by Airflow itself (its own virtualenv, as a deployment would):
no import errors, the steps in order, retries, and the exact CLI calls for a given day."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fraudstack.config import load_config

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
DAGS = HERE.parents[1] / "batch" / "dags"


def test_the_dag_runs_each_step_after_what_it_needs(tmp_path: Path) -> None:
    python = load_config().home / "airflow-venv" / "bin" / "python"
    assert python.exists(), f"no Airflow virtualenv at {python.parent.parent}: run `make setup`"
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "FRAUDSTACK_BIN": "/opt/fs/bin/fraudstack"}
    done = subprocess.run(
        [str(python), str(HERE / "dag_probe.py"), str(DAGS), "2026-11-20"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    tasks = report["tasks"]
    assert {name: task["upstream"] for name, task in tasks.items()} == {
        "clean": [],
        "aggregates": ["clean"],
        "profiles": ["clean"],
        "train": ["profiles"],
        "orders": [],
    }
    assert all(task["retries"] >= 1 and task["timeout_s"] for task in tasks.values())
    run = "/opt/fs/bin/fraudstack batch run"
    assert tasks["clean"]["command"] == f"{run} --from 2026-11-20 --to 2026-11-20 --steps clean"
    assert tasks["train"]["command"] == f"{run} --from 2026-09-21 --to 2026-11-20 --steps train"
    assert tasks["orders"]["command"] == f"{run} --from 2026-10-24 --to 2026-11-20 --steps orders"
    assert report["catchup"] is False
