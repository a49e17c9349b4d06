"""What the live-alert screen shows, as pure functions over rows from ``AlertStore``.

Kept apart from the Streamlit script so that filtering, counting and formatting are
tested without a browser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

WINDOWS = {  # label -> how far back the screen looks
    "last 15 minutes": dt.timedelta(minutes=15),
    "last hour": dt.timedelta(hours=1),
    "last 6 hours": dt.timedelta(hours=6),
    "last 24 hours": dt.timedelta(hours=24),
    "last 7 days": dt.timedelta(days=7),
}
ALERT_DECISIONS = ("BLOCK", "REVIEW")
# the alert id next to the time, the variable-width reasons last: the grid draws only the
# columns that fit, and an analyst must always see which alert a row is
LIST_COLUMNS = (
    "event_time", "alert_id", "decision", "risk_score", "amount_usd", "customer_id",
    "merchant_id", "verdict", "reasons",
)  # fmt: skip


@dataclass(frozen=True)
class AlertFilter:
    """The analyst's filters. An empty ``reasons`` means any reason."""

    decisions: tuple[str, ...] = ALERT_DECISIONS
    min_score: float = 0.0
    max_score: float = 1.0
    reasons: tuple[str, ...] = field(default=())

    def keeps(self, alert: dict[str, Any]) -> bool:
        """True when the alert passes every filter."""
        score = alert.get("risk_score")
        if alert.get("decision") not in self.decisions or score is None:
            return False
        if not self.min_score <= score <= self.max_score:
            return False
        return not self.reasons or bool(set(self.reasons) & set(alert.get("reasons") or ()))


def filter_alerts(alerts: Iterable[dict[str, Any]], wanted: AlertFilter) -> list[dict[str, Any]]:
    """The alerts that pass ``wanted``, in the order given (newest first from the store)."""
    return [alert for alert in alerts if wanted.keeps(alert)]


def alert_table(alerts: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The list the analyst scans: one row per alert, reasons joined."""
    rows = [
        {**{key: alert.get(key) for key in LIST_COLUMNS},
         "reasons": ", ".join(alert.get("reasons") or ()),
         "verdict": alert.get("verdict") or ""}
        for alert in alerts
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(LIST_COLUMNS))


def alerts_per_minute(counts: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Alerts per minute by decision (REVIEW, BLOCK columns), from ``minute_counts``."""
    frame = pd.DataFrame(
        [c for c in counts if c["dimension"] == "decision" and c["value"] in ALERT_DECISIONS],
        columns=["minute", "dimension", "value", "transactions"],
    )
    if frame.empty:
        return pd.DataFrame(columns=list(ALERT_DECISIONS))
    wide = frame.pivot_table(
        index="minute", columns="value", values="transactions", aggfunc="sum", fill_value=0
    )
    return wide.reindex(columns=list(ALERT_DECISIONS), fill_value=0).sort_index()


def decision_totals(counts: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Scored transactions by decision over the counted minutes (ALLOW included)."""
    totals = {"ALLOW": 0, "REVIEW": 0, "BLOCK": 0}
    for count in counts:
        if count["dimension"] == "decision" and count["value"] in totals:
            totals[count["value"]] += int(count["transactions"])
    return totals


def option_label(alert: dict[str, Any]) -> str:
    """How an alert reads in the picker: time, decision, score, amount, customer."""
    when = alert["event_time"].strftime("%H:%M:%S") if alert.get("event_time") else "?"
    return (
        f"{when} · {alert.get('decision')} {alert.get('risk_score', 0):.2f} · "
        f"${alert.get('amount_usd') or 0:,.2f} · {alert.get('customer_id')}"
    )


def feature_table(features: dict[str, float] | None) -> pd.DataFrame:
    """The model inputs behind a score, by name."""
    items = sorted((features or {}).items())
    return pd.DataFrame(items, columns=["feature", "value"])
