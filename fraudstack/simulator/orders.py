"""Orders and stock behind the marketplace's sales: ``order_status`` and ``inventory`` events.

Every transaction is the payment of an order: the order is created at checkout (the
transaction's time), confirmed and paid within minutes, shipped hours later and
delivered days later; a few are cancelled before shipping or refunded after delivery.
An order for a product out of stock is cancelled. Each sale takes its units out of a
product's stock; a product that falls to its reorder point is restocked after a lead
time, so fast sellers occasionally run out. A small share of orders skip a step
(``delivered`` straight after ``paid``): invalid transitions, bad input the speed layer
must flag.

Its own random stream (seeded from the marketplace's) leaves the transactions and
chargebacks of a seed byte for byte as they are without orders.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from fraudstack.events import SCHEMA_VERSION, format_time
from fraudstack.simulator.records import SimEvent
from fraudstack.simulator.settings import OrderSettings

HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)
RESTOCK = "restock_arrives"  # an internal timer, never emitted


@dataclass
class Product:
    product_id: str
    stock: int
    restock_due: bool = False


@dataclass
class OrderBook:
    """The orders and stock of a marketplace, fed its sales in time order.

    Args:
        settings: rates, stock sizes and lead times.
        seed: the marketplace's seed (mixed, so orders draw from a stream of their own).
        time_scale: multiplies every delay (live mode compresses hours into seconds).
    """

    settings: OrderSettings
    seed: int
    time_scale: float = 1.0
    rng: random.Random = field(init=False)
    products: dict[str, Product] = field(default_factory=dict)
    _pending: list[tuple[dt.datetime, int, SimEvent]] = field(default_factory=list)
    _sequence: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed ^ 0x0DE75)

    def _later(self, when: dt.datetime, low_hours: float, high_hours: float) -> dt.datetime:
        return when + self.rng.uniform(low_hours, high_hours) * HOUR * self.time_scale

    def _push(self, event: SimEvent) -> None:
        self._sequence += 1
        heapq.heappush(self._pending, (event.time, self._sequence, event))

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{self.rng.getrandbits(64):016x}"

    def product_for(self, sale: SimEvent) -> Product:
        """One of the merchant's products, the first few selling most (a long tail)."""
        merchant = sale.record["merchant_id"]
        rank = min(int(self.rng.paretovariate(1.2)) - 1, self.settings.products_per_merchant - 1)
        product_id = f"p-{merchant.removeprefix('m-')}-{rank:02d}"
        if product_id not in self.products:
            low, high = self.settings.initial_stock
            self.products[product_id] = Product(product_id, self.rng.randint(low, high))
        return self.products[product_id]

    def _status(self, sale: SimEvent, order_id: str, product_id: str, status: str,
                when: dt.datetime) -> SimEvent:  # fmt: skip
        tx = sale.record
        record = {
            "schema_version": SCHEMA_VERSION,
            "event_id": self._id("os"),
            "order_id": order_id,
            "customer_id": tx["customer_id"],
            "status": status,
            "event_time": format_time(when),
            "transaction_id": tx["transaction_id"],
            "merchant_id": tx["merchant_id"],
            "product_id": product_id,
            "quantity": tx.get("quantity") or 1,
            "amount": tx["amount"],
            "currency": tx["currency"],
        }
        return SimEvent("order_status", when, record, sale.is_fraud, sale.scenario)

    def _stock(self, product: Product, sale: SimEvent | None, change: str, units: int,
               when: dt.datetime, order_id: str | None = None) -> SimEvent:  # fmt: skip
        before = product.stock
        product.stock = max(0, before + units)
        record = {
            "schema_version": SCHEMA_VERSION,
            "event_id": self._id("inv"),
            "product_id": product.product_id,
            "event_time": format_time(when),
            "change_type": change,
            "quantity_change": product.stock - before,
            "stock_level": product.stock,
            "merchant_id": f"m-{product.product_id.split('-')[1]}",
            "category": sale.record.get("category") if sale else None,
            "order_id": order_id,
        }
        return SimEvent("inventory", when, record)

    def _lifecycle(self, sale: SimEvent) -> list[str]:
        """The statuses this order will go through (a few invalid on purpose)."""
        rates, rng = self.settings, self.rng
        draw = rng.random()
        if draw < rates.invalid_transition_rate:
            return ["created", "confirmed", "paid", "delivered"]  # never shipped: invalid
        draw -= rates.invalid_transition_rate
        if draw < rates.cancel_rate:
            return ["created", "confirmed", "cancelled"]
        refund = rates.fraud_refund_rate if sale.is_fraud else rates.refund_rate
        path = ["created", "confirmed", "paid", "shipped", "delivered"]
        return [*path, "refunded"] if rng.random() < refund else path

    def add_sale(self, sale: SimEvent) -> None:
        """Schedule the order and stock events of one transaction (at or after its time)."""
        rng, scale = self.rng, self.time_scale
        order_id = f"o-{sale.record['transaction_id'].removeprefix('tx-')}"
        product = self.product_for(sale)
        when = sale.time
        steps = {  # hours after the previous status
            "confirmed": (5 / 3600, 120 / 3600), "paid": (10 / 3600, 600 / 3600),
            "shipped": (2.0, 48.0), "delivered": (24.0, 120.0), "cancelled": (0.1, 24.0),
            "refunded": (24.0, 14 * 24.0),
        }  # fmt: skip
        sold_out = product.stock == 0  # nothing to ship: the order is cancelled
        for status in ["created", "cancelled"] if sold_out else self._lifecycle(sale):
            if status != "created":
                when = self._later(when, *steps[status])
            self._push(self._status(sale, order_id, product.product_id, status, when))
        if sold_out:
            return
        units = -int(sale.record.get("quantity") or 1)
        self._push(self._stock(product, sale, "sale", units, sale.time, order_id))
        if product.stock <= self.settings.reorder_point and not product.restock_due:
            product.restock_due = True
            low, high = self.settings.restock_lead_hours
            arrives = sale.time + rng.uniform(low, high) * HOUR * scale
            self._push(SimEvent(RESTOCK, arrives, {"product_id": product.product_id}))

    def due(self, until: dt.datetime) -> Iterator[SimEvent]:
        """Scheduled events up to ``until`` (exclusive), in time order; restocks happen here."""
        while self._pending and self._pending[0][0] < until:
            when, _, event = heapq.heappop(self._pending)
            if event.kind != RESTOCK:
                yield event
                continue
            product = self.products[event.record["product_id"]]
            product.restock_due = False
            low, high = self.settings.restock_units
            yield self._stock(product, None, "restock", self.rng.randint(low, high), when)


def with_orders(
    events: Iterator[SimEvent], settings: OrderSettings, seed: int
) -> Iterator[SimEvent]:
    """The marketplace's events with the order and stock events of its sales, in time order.

    Order events later than the last sale have not happened yet and are not emitted.
    """
    book = OrderBook(settings, seed)
    for event in events:
        yield from book.due(event.time)
        yield event
        if event.kind == "transaction":
            book.add_sale(event)
            yield from book.due(event.time + TICK)  # the checkout's own events, at once
