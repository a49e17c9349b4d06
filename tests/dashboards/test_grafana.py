"""The Grafana boards: committed JSON is what the code generates, and every panel's PromQL
returns series from the real local Prometheus while the pipeline runs.

Grafana itself cannot be installed here (it runs in the compose deployment); what makes a
board useful is that its queries name metrics the services really serve, which is checked
against the real Prometheus scraping the real stack, speed layer and batch metrics.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dashboards.grafana import boards
from fraudstack.config import Config
from tests.polling import wait_for
from tests.speed_layer import running_speed_layer

RUN = uuid.uuid4().hex[:8]


def test_committed_boards_are_generated_from_code():
    committed = {path.name for path in boards.BOARDS_DIR.glob("*.json")}
    generated = boards.boards()
    assert committed == set(generated), "run `python -m dashboards.grafana.boards`"
    for name, board in generated.items():
        on_disk = json.loads((boards.BOARDS_DIR / name).read_text())
        assert on_disk == board, f"{name} is stale: run `python -m dashboards.grafana.boards`"
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"


@pytest.fixture(scope="module")
def pipeline(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """The speed layer on the port Prometheus scrapes, with live traffic for a while."""
    folder = tmp_path_factory.mktemp("grafana")
    port = stack.raw["streaming"]["metrics_port"]
    with running_speed_layer(folder, f"/tests/grafana-{RUN}", metrics_port=port) as config:
        generator = subprocess.Popen(
            [str(Path(sys.executable).parent / "fraudstack"), "generate", "--rate", "20",
             "--duration", "150", "--customers", "2000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield config
        finally:
            generator.terminate()
            generator.wait(30)


def series(config: Config, expr: str) -> list:
    response = requests.get(
        f"http://{config.address('prometheus')}/api/v1/query", params={"query": expr}, timeout=10
    )
    body = response.json()
    assert body["status"] == "success", f"{expr}: {body.get('error')}"
    return body["data"]["result"]


@pytest.mark.integration
@pytest.mark.spark
@pytest.mark.slow
def test_every_panel_query_returns_series(pipeline: Config):
    targets = boards.all_targets()
    batch_metrics = series(pipeline, "fraudstack_model_test_metric")
    assert batch_metrics, (
        "no batch-layer metrics in Prometheus: the batch board needs a batch run "
        "(tests/batch runs one earlier in the suite; by hand: `fraudstack batch run`)"
    )
    missing: list[str] = []

    def all_answer() -> bool:
        missing[:] = [f"{uid} / {title}: {expr}" for uid, title, expr in targets
                      if not series(pipeline, expr)]  # fmt: skip
        return not missing

    try:
        wait_for(all_answer, 240, "every panel's query to return series")
    except pytest.fail.Exception:
        pytest.fail("panels without data:\n" + "\n".join(missing))
