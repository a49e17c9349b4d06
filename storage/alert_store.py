"""Cassandra reads and writes of the fraud analyst's screen: alerts, context, verdicts.

Every read names its partition (a day, a customer, an alert id) and is bounded by a
LIMIT, so the screen never scans a table or needs ALLOW FILTERING, however large the
tables grow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cassandra.cluster import Session

VERDICTS = ("fraud", "not_fraud")


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """The driver returns naive UTC datetimes; make them aware."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def as_record(row: Any) -> dict[str, Any]:
    """A driver row as a dict, its times UTC-aware."""
    record = row._asdict()
    for key, value in record.items():
        if isinstance(value, dt.datetime):
            record[key] = _utc(value)
    return record


def days_between(since: dt.datetime, until: dt.datetime) -> list[dt.date]:
    """The UTC days that ``[since, until)`` touches, newest first."""
    first, last = since.astimezone(dt.UTC).date(), until.astimezone(dt.UTC).date()
    return [last - dt.timedelta(days=n) for n in range((last - first).days + 1)]


def read_by_day(
    session: Session, statement: Any, since: dt.datetime, until: dt.datetime, limit: int
) -> list[dict[str, Any]]:
    """Rows of a day-partitioned table with ``since <= event_time < until``: one bounded
    query per day, newest day first, ``limit`` rows in all. ``statement`` binds
    (day, since, until, limit)."""
    rows: list[dict[str, Any]] = []
    for day in days_between(since, until):
        left = limit - len(rows)
        if left <= 0:
            break
        rows.extend(as_record(row) for row in session.execute(statement, (day, since, until, left)))
    return rows


@dataclass
class AlertStore:
    """Prepared statements over one keyspace of the speed layer's tables."""

    session: Session
    keyspace: str

    def __post_init__(self) -> None:
        ks = self.keyspace
        prepare = self.session.prepare
        self._alerts = prepare(
            f"SELECT * FROM {ks}.alerts_by_day WHERE day = ? AND event_time >= ? "
            "AND event_time < ? LIMIT ?"
        )
        self._alert = prepare(f"SELECT * FROM {ks}.alerts_by_id WHERE alert_id = ?")
        self._scored = prepare(
            f"SELECT features, rule_score, model_score FROM {ks}.scored_transactions "
            "WHERE transaction_id = ?"
        )
        self._customer = prepare(
            f"SELECT * FROM {ks}.transactions_by_customer WHERE customer_id = ? LIMIT ?"
        )
        self._counts = prepare(
            f"SELECT minute, dimension, value, transactions FROM {ks}.counts_by_minute "
            "WHERE day = ? AND minute >= ? AND minute < ?"
        )
        self._verdict = prepare(
            f"UPDATE {ks}.alerts_by_id SET verdict = ?, verdict_by = ?, verdict_at = ? "
            "WHERE alert_id = ?"
        )
        self._label = prepare(
            f"INSERT INTO {ks}.analyst_labels (day, labelled_at, transaction_id, verdict, "
            "analyst, customer_id, event_time) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        self._labels = prepare(f"SELECT * FROM {ks}.analyst_labels WHERE day = ? LIMIT ?")

    def recent_alerts(
        self, since: dt.datetime, until: dt.datetime, limit: int = 500
    ) -> list[dict[str, Any]]:
        """REVIEW and BLOCK alerts with ``since <= event_time < until``, newest first,
        at most ``limit`` (one bounded query per day, newest day first)."""
        return read_by_day(self.session, self._alerts, since, until, limit)

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        """One alert with its features, model version and verdict; None if unknown."""
        row = self.session.execute(self._alert, (alert_id,)).one()
        if row is None:
            return None
        record = as_record(row)
        scored = self.session.execute(self._scored, (alert_id,)).one()
        if scored is not None:
            record.update(rule_score=scored.rule_score, model_score=scored.model_score)
            record["features"] = record.get("features") or scored.features
        return record

    def customer_transactions(self, customer_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The customer's newest scored transactions."""
        return [
            as_record(row) for row in self.session.execute(self._customer, (customer_id, limit))
        ]

    def minute_counts(self, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
        """Scored transactions per minute by ``dimension`` (decision | reason) and value,
        summed over the micro-batches that wrote them."""
        totals: dict[tuple[dt.datetime, str, str], int] = {}
        for day in days_between(since, until):
            for row in self.session.execute(self._counts, (day, since, until)):
                key = (row.minute.replace(tzinfo=dt.UTC), row.dimension, row.value)
                totals[key] = totals.get(key, 0) + (row.transactions or 0)
        return [
            {"minute": minute, "dimension": dimension, "value": value, "transactions": count}
            for (minute, dimension, value), count in sorted(totals.items())
        ]

    def record_verdict(
        self, alert: dict[str, Any], verdict: str, analyst: str, at: dt.datetime | None = None
    ) -> dt.datetime:
        """Set the alert's verdict and append a label row for the batch layer.

        Raises:
            ValueError: an unknown verdict or an empty analyst name.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        if not analyst.strip():
            raise ValueError("say who gives the verdict (the analyst's name)")
        at = at or dt.datetime.now(dt.UTC)
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)  # Cassandra keeps ms
        self.session.execute(self._verdict, (verdict, analyst, at, alert["alert_id"]))
        self.session.execute(
            self._label,
            (at.date(), at, alert["alert_id"], verdict, analyst, alert.get("customer_id"),
             alert.get("event_time")),
        )  # fmt: skip
        return at

    def labels(self, day: dt.date, limit: int = 100_000) -> list[dict[str, Any]]:
        """The verdicts given on ``day``, newest first."""
        return [as_record(row) for row in self.session.execute(self._labels, (day, limit))]


def read_verdicts(host: str, port: int, keyspace: str, days: list[dt.date]) -> list[dict[str, Any]]:
    """Every analyst verdict given on ``days`` (for the batch layer's labels)."""
    from storage.cassandra_client import cluster

    connection = cluster(host, port, timeout=30)
    try:
        store = AlertStore(connection.connect(), keyspace)
        return [row for day in days for row in store.labels(day)]
    finally:
        connection.shutdown()
