"""Run inside the Airflow virtualenv: load the DAG folder, print what the scheduler sees.

Usage: python dag_probe.py DAG_FOLDER LOGICAL_DATE -> JSON on stdout.
"""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.execution_time import macros

folder, day = sys.argv[1], sys.argv[2]
bag = DagBag(dag_folder=folder)
dag = bag.dags.get("fraudstack_batch")  # get_dag() would consult the metadata database
report = {"errors": {path: str(error) for path, error in bag.import_errors.items()}}
if dag is not None:
    env = dag.get_template_env()
    report["catchup"] = dag.catchup
    report["schedule"] = str(dag.schedule) if hasattr(dag, "schedule") else None
    report["tasks"] = {
        task.task_id: {
            "upstream": sorted(task.upstream_task_ids),
            "retries": task.retries,
            "timeout_s": task.execution_timeout.total_seconds() if task.execution_timeout else None,
            "command": env.from_string(task.bash_command).render(ds=day, macros=macros),
        }
        for task in dag.tasks
    }
print(json.dumps(report))
