"""Cassandra reads of the order-tracking and stock-alert screens, over the speed layer's tables.

Every read but one names its partition (an order, a customer, a product, a day) and is
bounded by a LIMIT. The exception is the list of products at or below their threshold:
``stock_levels`` has one row per product (the catalogue: 300 merchants x 8 products in
the simulator), so it is read whole, in driver pages, up to ``LEVELS_CAP`` rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cassandra.cluster import Session

from storage.alert_store import as_record, read_by_day

LEVELS_CAP = 20_000  # stock_levels rows read for the below-threshold list


@dataclass
class OrderStore:
    """Prepared statements over one keyspace's order and stock tables."""

    session: Session
    keyspace: str

    def __post_init__(self) -> None:
        ks = self.keyspace
        prepare = self.session.prepare
        self._order = prepare(
            f"SELECT * FROM {ks}.order_status_by_order WHERE order_id = ? LIMIT ?"
        )
        self._customer = prepare(
            f"SELECT * FROM {ks}.order_status_by_customer WHERE customer_id = ? LIMIT ?"
        )
        self._invalid = prepare(
            f"SELECT * FROM {ks}.invalid_order_transitions_by_day WHERE day = ? "
            "AND event_time >= ? AND event_time < ? LIMIT ?"
        )
        self._alerts = prepare(
            f"SELECT * FROM {ks}.stock_alerts_by_day WHERE day = ? AND event_time >= ? "
            "AND event_time < ? LIMIT ?"
        )
        self._product_alerts = prepare(
            f"SELECT * FROM {ks}.stock_alerts_by_product WHERE product_id = ? LIMIT ?"
        )
        self._level = prepare(f"SELECT * FROM {ks}.stock_levels WHERE product_id = ?")
        self._levels = prepare(f"SELECT * FROM {ks}.stock_levels LIMIT ?")

    def order_history(self, order_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """An order's status changes, oldest first."""
        return [as_record(row) for row in self.session.execute(self._order, (order_id, limit))]

    def customer_changes(self, customer_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """A customer's order status changes, newest first."""
        rows = self.session.execute(self._customer, (customer_id, limit))
        return [as_record(row) for row in rows]

    def invalid_transitions(
        self, since: dt.datetime, until: dt.datetime, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Invalid status transitions with ``since <= event_time < until``, newest first."""
        return read_by_day(self.session, self._invalid, since, until, limit)

    def stock_alerts(
        self, since: dt.datetime, until: dt.datetime, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Stock alerts (threshold and demand) with ``since <= event_time < until``, newest
        first."""
        return read_by_day(self.session, self._alerts, since, until, limit)

    def product_alerts(self, product_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """A product's stock alerts, newest first."""
        rows = self.session.execute(self._product_alerts, (product_id, limit))
        return [as_record(row) for row in rows]

    def stock_level(self, product_id: str) -> dict[str, Any] | None:
        """A product's latest level, thresholds and sales rate; None if never seen."""
        row = self.session.execute(self._level, (product_id,)).one()
        return None if row is None else as_record(row)

    def stock_levels(self, cap: int = LEVELS_CAP) -> list[dict[str, Any]]:
        """Every product's latest level (in token order), at most ``cap``."""
        return [as_record(row) for row in self.session.execute(self._levels, (cap,))]
