"""What the order-tracking and stock-alert screens show, as pure functions over ``OrderStore`` rows.

Kept apart from the Streamlit pages so that durations, current statuses, filters and the
below-threshold list are tested without a browser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fraudstack.orders import FINAL_STATUSES

HISTORY_COLUMNS = (
    "entered_at", "status", "time_in_status", "previous_status", "valid", "transition_problem",
)  # fmt: skip
CUSTOMER_COLUMNS = ("last_change", "order_id", "status", "changes", "invalid_transitions")
INVALID_COLUMNS = (
    "event_time", "order_id", "customer_id", "previous_status", "status", "transition_problem",
)  # fmt: skip
SEVERITIES = ("critical", "warning")
KINDS = ("threshold", "demand")
STOCK_ALERT_COLUMNS = (
    "event_time", "product_id", "severity", "kind", "stock_level", "warning_threshold",
    "critical_threshold", "sales_per_hour", "runs_out_in", "message",
)  # fmt: skip
LEVEL_COLUMNS = (
    "product_id", "severity", "stock_level", "warning_threshold", "critical_threshold",
    "sales_per_hour", "runs_out_in", "event_time",
)  # fmt: skip


def format_duration(seconds: float | None) -> str:
    """A duration as a person reads it: ``45 s``, ``8 min``, ``23 h 50 min``, ``3 d 2 h``."""
    if seconds is None or pd.isna(seconds):
        return ""
    whole = round(max(float(seconds), 0.0))
    if whole < 60:
        return f"{whole} s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if whole < 3600:
        return f"{minutes} min"
    if whole < 86400:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"


def runs_out_in(hours: float | None) -> str:
    """When a product runs out at its sales rate: ``5 h 12 min``, ``out of stock`` or blank
    (nothing sells)."""
    if hours is None or pd.isna(hours):
        return ""
    return "out of stock" if hours <= 0 else format_duration(hours * 3600)


def history_table(changes: Sequence[dict[str, Any]], now: dt.datetime) -> pd.DataFrame:
    """An order's history, oldest first: when it entered each status and how long it stayed.

    Args:
        changes: ``OrderStore.order_history`` rows (oldest first).
        now: the time the current status's stay is measured to (unless it is final).
    """
    rows = []
    for n, change in enumerate(changes):
        later = changes[n + 1] if n + 1 < len(changes) else None
        if later is not None:
            stayed = later.get("seconds_in_previous_status")
            if stayed is None:
                stayed = (later["event_time"] - change["event_time"]).total_seconds()
            time_in_status = format_duration(stayed)
        elif change["status"] in FINAL_STATUSES:
            time_in_status = "final"
        else:
            time_in_status = (
                f"{format_duration((now - change['event_time']).total_seconds())} so far"
            )
        rows.append(
            {
                "entered_at": change["event_time"], "status": change["status"],
                "time_in_status": time_in_status, "previous_status": change.get("previous_status"),
                "valid": "yes" if change.get("is_valid_transition", True) else "NO",
                "transition_problem": change.get("transition_problem") or "",
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def customer_orders(changes: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """A customer's orders, newest change first, each with its current status.

    Args:
        changes: ``OrderStore.customer_changes`` rows (newest first).
    """
    orders: dict[str, dict[str, Any]] = {}
    for change in changes:  # newest first: the first change seen of an order is its current
        order = orders.setdefault(
            change["order_id"],
            {"last_change": change["event_time"], "order_id": change["order_id"],
             "status": change["status"], "changes": 0, "invalid_transitions": 0},
        )  # fmt: skip
        order["changes"] += 1
        order["invalid_transitions"] += not change.get("is_valid_transition", True)
    return pd.DataFrame(list(orders.values()), columns=list(CUSTOMER_COLUMNS))


def invalid_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Flagged transitions, newest first."""
    return pd.DataFrame([{k: r.get(k) for k in INVALID_COLUMNS} for r in rows],
                        columns=list(INVALID_COLUMNS))  # fmt: skip


@dataclass(frozen=True)
class StockFilter:
    """The stock screen's filters: severities and kinds to show."""

    severities: tuple[str, ...] = SEVERITIES
    kinds: tuple[str, ...] = KINDS

    def keeps(self, alert: dict[str, Any]) -> bool:
        """True when the alert's severity and kind are both chosen."""
        return alert.get("severity") in self.severities and alert.get("kind") in self.kinds


def filter_stock_alerts(
    alerts: Iterable[dict[str, Any]], wanted: StockFilter
) -> list[dict[str, Any]]:
    """The alerts that pass ``wanted``, in the order given (newest first from the store)."""
    return [alert for alert in alerts if wanted.keeps(alert)]


def stock_alert_table(alerts: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per stock alert, with when the product runs out in words."""
    rows = [
        {**{k: a.get(k) for k in STOCK_ALERT_COLUMNS},
         "runs_out_in": runs_out_in(a.get("hours_to_stockout"))}
        for a in alerts
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(STOCK_ALERT_COLUMNS))


def below_threshold(levels: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Products at or below their warning threshold: out of stock first, then the lowest
    level relative to its threshold."""
    low = [
        level for level in levels
        if level.get("stock_level") is not None and level.get("warning_threshold") is not None
        and level["stock_level"] <= level["warning_threshold"]
    ]  # fmt: skip
    return sorted(
        low,
        key=lambda v: (v["stock_level"] / max(v["warning_threshold"], 1), v["product_id"]),
    )


def level_severity(level: dict[str, Any]) -> str:
    """Where a product's level stands now: ``critical``, ``warning`` or ``ok``."""
    stock, warning, critical = (level.get(k) for k in ("stock_level", "warning_threshold",
                                                       "critical_threshold"))  # fmt: skip
    if stock is None:
        return "ok"
    if critical is not None and stock <= critical:
        return "critical"
    return "warning" if warning is not None and stock <= warning else "ok"


def level_table(levels: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Products' levels with their thresholds and where each level stands now."""
    rows = []
    for level in levels:
        severity = level_severity(level)
        rows.append(
            {**{k: level.get(k) for k in LEVEL_COLUMNS}, "severity": severity,
             "runs_out_in": runs_out_in(level.get("hours_to_stockout"))}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(LEVEL_COLUMNS))
