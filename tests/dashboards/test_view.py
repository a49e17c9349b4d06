"""The live-alert screen's filtering, counting and formatting (no browser, no services)."""

from __future__ import annotations

import datetime as dt

from dashboards.alerts import view

NOW = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)


def alert(n: int, decision: str, score: float | None, reasons: list[str] | None) -> dict:
    return {
        "alert_id": f"a{n}", "event_time": NOW - dt.timedelta(minutes=n), "decision": decision,
        "risk_score": score, "reasons": reasons, "amount_usd": 10.0 * n, "customer_id": f"c{n}",
    }  # fmt: skip


ALERTS = [
    alert(1, "BLOCK", 0.91, ["LARGE_AMOUNT", "NEW_ACCOUNT_HIGH_VALUE"]),
    alert(2, "REVIEW", 0.35, ["IP_VELOCITY"]),
    alert(3, "REVIEW", 0.55, None),  # no reasons recorded
    alert(4, "BLOCK", None, ["LARGE_AMOUNT"]),  # a malformed row: no score
]


def ids(alerts: list[dict]) -> list[str]:
    return [a["alert_id"] for a in alerts]


def test_default_filter_keeps_every_scored_alert_in_order():
    assert ids(view.filter_alerts(ALERTS, view.AlertFilter())) == ["a1", "a2", "a3"]


def test_filters_by_decision_score_and_reason():
    assert ids(view.filter_alerts(ALERTS, view.AlertFilter(decisions=("REVIEW",)))) == ["a2", "a3"]
    assert ids(view.filter_alerts(ALERTS, view.AlertFilter(min_score=0.5))) == ["a1", "a3"]
    assert ids(view.filter_alerts(ALERTS, view.AlertFilter(max_score=0.5))) == ["a2"]
    by_reason = view.AlertFilter(reasons=("IP_VELOCITY", "NEW_ACCOUNT_HIGH_VALUE"))
    assert ids(view.filter_alerts(ALERTS, by_reason)) == ["a1", "a2"]
    assert view.filter_alerts(ALERTS, view.AlertFilter(decisions=())) == []


def test_alert_table_joins_reasons_and_shows_verdicts():
    table = view.alert_table([{**ALERTS[0], "verdict": "fraud"}, ALERTS[2]])
    assert list(table["alert_id"]) == ["a1", "a3"]
    assert list(table["reasons"]) == ["LARGE_AMOUNT, NEW_ACCOUNT_HIGH_VALUE", ""]
    assert list(table["verdict"]) == ["fraud", ""]
    # the grid draws only the columns that fit: the id comes first, long reasons last
    assert list(table.columns)[:2] == ["event_time", "alert_id"]
    assert list(table.columns)[-1] == "reasons"


def test_alerts_per_minute_sums_batches_and_ignores_allow_and_reasons():
    minute = NOW.replace(second=0)
    counts = [
        {"minute": minute, "dimension": "decision", "value": "BLOCK", "transactions": 2},
        {"minute": minute, "dimension": "decision", "value": "BLOCK", "transactions": 1},
        {"minute": minute, "dimension": "decision", "value": "ALLOW", "transactions": 50},
        {"minute": minute, "dimension": "reason", "value": "LARGE_AMOUNT", "transactions": 3},
        {"minute": minute - dt.timedelta(minutes=1), "dimension": "decision", "value": "REVIEW",
         "transactions": 4},
    ]  # fmt: skip
    frame = view.alerts_per_minute(counts)
    assert list(frame.columns) == ["BLOCK", "REVIEW"]
    assert frame.to_dict("index") == {
        minute - dt.timedelta(minutes=1): {"BLOCK": 0, "REVIEW": 4},
        minute: {"BLOCK": 3, "REVIEW": 0},
    }
    assert view.decision_totals(counts) == {"ALLOW": 50, "REVIEW": 4, "BLOCK": 3}
    assert view.alerts_per_minute([]).empty


def test_option_label_reads_like_the_list():
    assert view.option_label(ALERTS[0]) == "15:29:00 · BLOCK 0.91 · $10.00 · c1"
