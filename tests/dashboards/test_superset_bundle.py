"""The Superset spec and its import bundle, without a Superset: what provisioning sends."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml

from batch.orders import STAGES
from dashboards.superset import bundle, spec
from fraudstack.orders import LIFECYCLE


def test_spec_declares_four_dashboards_over_the_batch_tables() -> None:
    declared = spec.load()
    assert [d.slug for d in declared.dashboards] == [
        "fraudstack-sales", "fraudstack-fraud", "fraudstack-quality", "fraudstack-orders",
    ]  # fmt: skip
    assert set(declared.datasets) == {
        "sales_daily", "category_hourly", "fraud_rates", "model_evaluations", "data_quality_runs",
        "order_funnel_daily", "fulfilment_times", "demand_profiles_latest",
    }  # fmt: skip
    fraud_filters = {c.where for c in declared.dashboards[1].charts if c.dataset == "fraud_rates"}
    for dimension in ("category", "payment_method", "country", "device", "channel"):
        assert f"dimension = '{dimension}'" in fraud_filters


def test_orders_dashboard_follows_an_order_from_checkout_to_delivery() -> None:
    declared = spec.load()
    orders = next(d for d in declared.dashboards if d.slug == "fraudstack-orders")
    funnel = next(c for c in orders.charts if c.id == "orders-funnel-over-time")
    sums = declared.datasets["order_funnel_daily"]["metrics"]
    assert [sums[m]["sql"] for m in funnel.metrics] == [f"SUM(orders_{s})" for s in LIFECYCLE]
    staged = {c.where for c in orders.charts if c.dataset == "fulfilment_times" and c.where}
    assert staged and staged <= {f"stage = '{stage}'" for stage in STAGES}
    used = {c.dataset for c in orders.charts}
    assert used == {"order_funnel_daily", "fulfilment_times", "demand_profiles_latest"}


def test_demand_is_read_from_the_newest_profile_only() -> None:
    # every batch run adds a profile_date partition: a chart over the whole table would
    # add up the same weeks once per run
    assets = bundle.files(spec.load(), "hive://h:1/db?auth=NOSASL", "db")
    demand = assets["datasets/warehouse/demand_profiles_latest.yaml"]
    assert demand["sql"] == (
        "SELECT * FROM demand_profiles "
        "WHERE profile_date = (SELECT MAX(profile_date) FROM demand_profiles)"
    )
    physical = [a for p, a in assets.items() if p.startswith("datasets/") and a is not demand]
    assert physical and all(a["sql"] is None for a in physical)


def test_uuids_are_stable_so_a_second_import_updates_in_place() -> None:
    first = bundle.files(spec.load(), "hive://h:1/db?auth=NOSASL", "db")
    second = bundle.files(spec.load(), "hive://h:1/db?auth=NOSASL", "db")
    assert {p: a["uuid"] for p, a in first.items()} == {p: a["uuid"] for p, a in second.items()}
    assert len({a["uuid"] for a in first.values()}) == len(first)


def test_every_dashboard_cell_names_a_chart_of_the_bundle() -> None:
    assets = bundle.files(spec.load(), "hive://h:1/db?auth=NOSASL", "db")
    chart_uuids = {a["uuid"] for p, a in assets.items() if p.startswith("charts/")}
    for path, asset in assets.items():
        if path.startswith("dashboards/"):
            cells = [v for v in asset["position"].values() if isinstance(v, dict)]
            placed = {c["meta"]["uuid"] for c in cells if c.get("type") == "CHART"}
            assert placed and placed <= chart_uuids, path


def test_a_bundle_is_typed_for_its_importer() -> None:
    assets = bundle.files(spec.load(), "hive://h:1/db?auth=NOSASL", "db")
    archive = zipfile.ZipFile(io.BytesIO(bundle.zip_bundle(assets, "Slice")))
    metadata = yaml.safe_load(archive.read(f"{bundle.ROOT}/metadata.yaml"))
    assert metadata["type"] == "Slice"
    assert f"{bundle.ROOT}/databases/warehouse.yaml" in archive.namelist()
    with pytest.raises(ValueError, match="unknown bundle kind"):
        bundle.zip_bundle(assets, "Chart")


def test_a_chart_on_an_unknown_column_is_refused(tmp_path: Path) -> None:
    for name in ("datasets.yaml", *spec.DASHBOARD_FILES):
        (tmp_path / name).write_text((spec.SPEC_DIR / name).read_text())
    broken = (
        (tmp_path / "sales.yaml").read_text().replace("groupby: [channel]", "groupby: [chanel]")
    )
    (tmp_path / "sales.yaml").write_text(broken)
    with pytest.raises(spec.SpecError, match=r"column\(s\) \['chanel'\]"):
        spec.load(tmp_path)
