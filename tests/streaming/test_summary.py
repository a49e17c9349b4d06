"""The live summary's arithmetic on Prometheus samples."""

from __future__ import annotations

from streaming.summary import histogram_quantile, total

SAMPLES = {
    'lat_bucket{le="0.1"}': 10.0,
    'lat_bucket{le="0.5"}': 90.0,
    'lat_bucket{le="1.0"}': 100.0,
    'lat_bucket{le="+Inf"}': 100.0,
    'alerts_total{decision="REVIEW"}': 4.0,
    'alerts_total{decision="BLOCK"}': 1.0,
}


def test_quantiles_interpolate_within_the_bucket() -> None:
    assert histogram_quantile(SAMPLES, "lat", 0.5) == 0.1 + 0.4 * (50 - 10) / 80
    assert histogram_quantile(SAMPLES, "lat", 0.99) == 0.5 + 0.5 * (99 - 90) / 10
    assert histogram_quantile({}, "lat", 0.5) is None


def test_totals_filter_by_label() -> None:
    assert total(SAMPLES, "alerts_total") == 5.0
    assert total(SAMPLES, "alerts_total", decision="BLOCK") == 1.0
