"""The Grafana boards: committed JSON is what the code generates, and every panel's PromQL
returns series from the real local Prometheus while the pipeline runs.

Grafana itself cannot be installed here (it runs in the compose deployment); what makes a
board useful is that its queries name metrics the services really serve, which is checked
against the real Prometheus scraping the real stack, speed layer and batch metrics (and,
without services, against the metrics ``streaming/metrics.py`` declares).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dashboards.grafana import boards
from fraudstack.config import Config
from fraudstack.orders import LIFECYCLE
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


SELECTOR = re.compile(r"\b(fraudstack_stream_\w+)(?:\{([^}]*)\})?")
GROUPING = re.compile(r"\bby \(([^)]*)\)")
SCRAPE_LABELS = {"job", "instance"}  # what Prometheus adds to every scraped series


def speed_layer_series() -> dict[str, set[str]]:
    """Every series name the speed layer's endpoint serves, with its label names."""
    from prometheus_client.metrics import MetricWrapperBase

    from streaming.metrics import PrometheusQueryListener, SpeedLayerMetrics

    listener = PrometheusQueryListener()
    holders = (listener, SpeedLayerMetrics(listener.registry))
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    served: dict[str, set[str]] = {}
    for holder in holders:
        for metric in vars(holder).values():
            if not isinstance(metric, MetricWrapperBase):
                continue
            # label names are private in prometheus_client, and a labelled metric with no
            # child yet (no order tracked so far) is absent from collect()
            for suffix in suffixes[metric._type]:
                extra = {"le"} if suffix == "_bucket" else set()
                served[metric._name + suffix] = {*metric._labelnames, *extra}
    return served


def test_speed_layer_panels_query_metrics_and_labels_it_serves():
    served = speed_layer_series()
    wrong: list[str] = []
    for uid, title, expr in boards.all_targets():
        selectors = SELECTOR.findall(expr)
        labels = set(SCRAPE_LABELS)
        for name, matchers in selectors:
            if name not in served:
                wrong.append(f"{uid} / {title}: no metric {name}")
                continue
            labels |= served[name]
            used = {m.group(1) for m in re.finditer(r"(\w+)\s*[=!~]", matchers)}
            if used - served[name]:
                wrong.append(
                    f"{uid} / {title}: {name} has no label(s) {sorted(used - served[name])}"
                )
        for group in GROUPING.findall(expr) if selectors else ():
            grouped = {label.strip() for label in group.split(",")}
            if grouped - labels:
                wrong.append(f"{uid} / {title}: no label(s) {sorted(grouped - labels)} to group by")
    assert not wrong, "\n".join(wrong)


def test_orders_board_has_order_and_stock_alert_rates():
    targets = [expr for uid, _, expr in boards.all_targets() if uid == "fraudstack-orders"]
    changes = [e for e in targets if "fraudstack_stream_order_status_changes_total" in e]
    alerts = [e for e in targets if "fraudstack_stream_stock_alerts_total" in e]
    assert any("by (status)" in e and "rate(" in e and "valid=" not in e for e in changes)
    assert any('valid="false"' in e and "rate(" in e for e in changes)
    assert any("by (kind, severity)" in e and "rate(" in e for e in alerts)


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


def panel_expr(title: str) -> str:
    return next(
        e for uid, t, e in boards.all_targets() if uid == "fraudstack-orders" and t == title
    )


@pytest.mark.integration
@pytest.mark.spark
@pytest.mark.slow
def test_orders_board_shows_every_status_and_the_skipped_shipment(pipeline: Config):
    """The simulator's orders go created → … → delivered, and a few skip ``shipped``: the
    board shows a rate for each status and the invalid ones as deliveries."""
    shown: dict[str, set[str]] = {}

    def statuses(title: str) -> set[str]:
        return {s["metric"].get("status", "") for s in series(pipeline, panel_expr(title))}

    def all_shown() -> bool:
        shown["all"] = statuses("Order status changes by status")
        shown["invalid"] = statuses("Invalid transitions by status entered")
        return set(LIFECYCLE) <= shown["all"] and "delivered" in shown["invalid"]

    try:
        wait_for(all_shown, 240, "every lifecycle status and invalid deliveries")
    except pytest.fail.Exception:
        pytest.fail(f"statuses shown: {sorted(shown['all'])}, invalid: {sorted(shown['invalid'])}")
