"""Airflow DAG: the nightly batch run, one task per step of ``fraudstack batch run``.

Each task runs the project's own CLI, so the DAG and a hand-run cannot drift:
``clean`` and ``aggregates`` cover the logical day; ``profiles`` and ``train`` look
back over the history they need (``FRAUDSTACK_TRAIN_DAYS``, default 60); ``orders``
over the last four weeks (``FRAUDSTACK_ORDER_DAYS``, default 28): orders created in the
last days fill in as they ship, and the demand profiles average whole weeks. The file
imports nothing of the project or Spark, so the scheduler parses it fast.

Point an Airflow deployment at this folder (``dags_folder``, or a symlink) and set
``FRAUDSTACK_BIN`` to the ``fraudstack`` executable of the project's virtualenv
(default: ``<repo>/.fraudstack/venv/bin/fraudstack``, found from this file).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

REPO = Path(__file__).resolve().parents[2]
FRAUDSTACK = os.environ.get(
    "FRAUDSTACK_BIN", str(REPO / ".fraudstack" / "venv" / "bin" / "fraudstack")
)
TRAIN_DAYS = int(os.environ.get("FRAUDSTACK_TRAIN_DAYS", "60"))
SCHEDULE = os.environ.get("FRAUDSTACK_BATCH_SCHEDULE", "30 2 * * *")  # 02:30 UTC, nightly
LOOK_BACK = f"{{{{ macros.ds_add(ds, -{TRAIN_DAYS}) }}}}"
ORDER_DAYS = int(os.environ.get("FRAUDSTACK_ORDER_DAYS", "28"))
ORDER_LOOK_BACK = f"{{{{ macros.ds_add(ds, -{ORDER_DAYS - 1}) }}}}"


def command(step: str, first: str = "{{ ds }}") -> str:
    """The CLI call of one step over [first, the logical day]."""
    return f"{FRAUDSTACK} batch run --from {first} --to {{{{ ds }}}} --steps {step}"


with DAG(
    dag_id="fraudstack_batch",
    description="master dataset -> Hive tables, entity profiles, the fraud model",
    schedule=SCHEDULE,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=10),
        "execution_timeout": dt.timedelta(hours=2),
        "cwd": str(REPO),
    },
    tags=["fraudstack", "batch"],
) as dag:
    clean = BashOperator(task_id="clean", bash_command=command("clean"))
    aggregates = BashOperator(task_id="aggregates", bash_command=command("aggregates"))
    profiles = BashOperator(task_id="profiles", bash_command=command("profiles", LOOK_BACK))
    train = BashOperator(task_id="train", bash_command=command("train", LOOK_BACK))
    BashOperator(task_id="orders", bash_command=command("orders", ORDER_LOOK_BACK))
    clean >> [aggregates, profiles]
    profiles >> train
