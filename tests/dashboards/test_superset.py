"""Superset against the real stack: Hive tables made by the batch layer from simulated
history, provisioned from ``dashboards/superset`` (twice), every chart's data through
Superset's chart data API, and every dashboard rendered in headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyhive import hive

from dashboards.superset import spec
from dashboards.superset.client import Superset
from dashboards.superset.provision import Provisioned, provision
from fraudstack.config import Config, load_config
from fraudstack.stack.services.superset import login
from tests.overlay import overlaid
from tests.polling import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CLI = [sys.executable, "-m", "fraudstack.cli"]
TAG = uuid.uuid4().hex[:8]
ROOT = f"/tests/superset-{TAG}"
DATABASE = f"test_superset_{TAG}"
SPEC = spec.load()
# what a user would see on a dashboard that broke: Superset's error alerts and messages
ERRORS = (
    ".ant-alert-error, .alert-danger, [data-test='error-message'], "
    ":text('Unexpected error'), :text('Data error'), :text('No results were returned')"
)


def cli(*args: str) -> str:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def thrift(config: Config, sql: str) -> list[tuple[Any, ...]]:
    host, port = config.address("thriftserver").split(":")
    with hive.connect(host=host, port=int(port), auth="NOSASL") as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []


@pytest.fixture(scope="module")
def warehouse(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """The batch layer's Hive tables in a database of this module, from 16 small days of
    simulated history with their orders and stock (the steps whose tables the dashboards
    read; the orders step also publishes its demand profiles to Cassandra)."""
    sections = {
        "batch": {
            "master_dir": f"{ROOT}/master",
            "database": DATABASE,
            "tables_dir": f"{ROOT}/warehouse",
            "driver_memory": "2g",
            "model": {
                "label_delay_days": 3, "validation_days": 3, "test_days": 3, "gap_days": 3,
                "trees": {"max_iter": 10, "max_depth": 4},
            },
        },
        "streaming": {
            "views_dir": f"{ROOT}/views",
            "models_dir": f"{ROOT}/models",
            "checkpoint_dir": f"{ROOT}/checkpoints",
            "archive_dir": f"{ROOT}/stream-archive",
            "metrics_port": free_port(),
        },
    }  # fmt: skip
    with overlaid(tmp_path_factory.mktemp("superset"), ROOT, sections) as config:
        cli("generate", "--days", "16", "--per-day", "800", "--customers", "1000",
            "--seed", "11", "--start", "2026-08-01", "--orders", "--to", "master")  # fmt: skip
        try:
            cli("batch", "run", "--steps", "clean,aggregates,orders,train")  # profiles: no chart
            yield config
        finally:
            thrift(config, f"DROP DATABASE IF EXISTS {DATABASE} CASCADE")
    # point the connection back at the stack's own database, not the dropped one
    provision(load_config())


@pytest.fixture(scope="module")
def session(warehouse: Config) -> Superset:
    return Superset(login(warehouse))


@pytest.fixture(scope="module")
def provisioned(warehouse: Config, session: Superset) -> tuple[Provisioned, Provisioned]:
    return provision(warehouse, session), provision(warehouse, session)


def ids_by_uuid(session: Superset, resource: str) -> dict[str, int]:
    return {row["uuid"]: row["id"] for row in session.every(resource, ["id", "uuid"])}


def test_provisioning_twice_creates_everything_once(
    provisioned: tuple[Provisioned, Provisioned], session: Superset
) -> None:
    first, second = provisioned
    charts = [chart for dashboard in SPEC.dashboards for chart in dashboard.charts]
    assert second == first
    assert first.database == SPEC.database
    assert first.datasets == len(SPEC.datasets) == 8
    assert first.charts == len(charts)
    assert set(first.dashboards) == {d.title for d in SPEC.dashboards}
    for dashboard in SPEC.dashboards:  # each dashboard holds exactly its own charts
        shown = session.get(f"/api/v1/dashboard/{dashboard.slug}/charts")["result"]
        assert sorted(c["slice_name"] for c in shown) == sorted(c.title for c in dashboard.charts)
    [database] = [
        row for row in session.every("database", ["id", "database_name"])
        if row["database_name"] == SPEC.database
    ]  # fmt: skip
    connection = session.get(f"/api/v1/database/{database['id']}/connection")["result"]
    uri = connection["sqlalchemy_uri"]
    assert uri.endswith(f"/{DATABASE}?auth=NOSASL")


def test_every_chart_returns_rows_from_hive(
    provisioned: tuple[Provisioned, Provisioned], session: Superset
) -> None:
    charts = ids_by_uuid(session, "chart")
    empty = []
    for dashboard in SPEC.dashboards:
        for chart in dashboard.charts:
            chart_id = charts[spec.stable_uuid("chart", chart.id)]
            [result] = session.get(f"/api/v1/chart/{chart_id}/data/", force="true")["result"]
            values = [v for row in result["data"] for v in row.values() if v is not None]
            if not result["data"] or not values:
                empty.append(f"{dashboard.slug}/{chart.id}: {result.get('query', '')[:300]}")
    assert not empty, "charts without data:\n" + "\n".join(empty)


@pytest.mark.browser
@pytest.mark.parametrize("dashboard", SPEC.dashboards, ids=lambda d: d.slug)
def test_dashboard_renders_every_chart_without_errors(
    provisioned: tuple[Provisioned, Provisioned],
    warehouse: Config,
    page: Any,
    screenshots: Path,
    dashboard: spec.Dashboard,
) -> None:
    credentials = login(warehouse)
    page.goto(f"{credentials.url}/login/")
    page.fill("#username", credentials.username)
    page.fill("#password", credentials.password)
    page.keyboard.press("Enter")
    # a cold Superset (first start, CI under load) answers its first login slowly
    page.wait_for_url(lambda url: "/login" not in url, timeout=120_000)
    page.goto(f"{credentials.url}/superset/dashboard/{dashboard.slug}/?standalone=1")
    charts = page.locator("[data-test-chart-id]")
    charts.first.wait_for(timeout=60_000)
    drawn = page.locator("[data-test-chart-id]:has(canvas, table, .header-line)")
    deadline = time.monotonic() + 180  # Hive answers each chart in seconds, a few at a time
    while drawn.count() < len(dashboard.charts) and time.monotonic() < deadline:
        if page.locator(ERRORS).count():
            break
        time.sleep(1)
    page.wait_for_timeout(1500)  # ECharts animates in
    page.screenshot(path=str(screenshots / f"superset-{dashboard.slug}.png"), full_page=True)
    errors = page.locator(ERRORS)
    assert errors.count() == 0, f"error on {dashboard.slug}: {errors.first.inner_text()[:500]}"
    assert charts.count() == len(dashboard.charts)
    assert drawn.count() == len(dashboard.charts), (
        f"{drawn.count()} of {len(dashboard.charts)} charts drew within 180 s"
    )
