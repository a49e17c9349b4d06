"""Build wire records (tokenised, contract-shaped) and the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from fraudstack.events import SCHEMA_VERSION, format_time
from fraudstack.pii import Tokeniser
from fraudstack.simulator.population import CATEGORY_PRICE, CITIES, Customer, Merchant


@dataclass(slots=True)
class SimEvent:
    """One generated event with what only the simulator knows about it."""

    kind: str  # transaction | chargeback | order_status | inventory
    time: dt.datetime
    record: dict[str, Any]
    is_fraud: bool = False
    scenario: str | None = None


@dataclass(slots=True)
class Purchase:
    """The facts of one purchase before it becomes a record."""

    when: dt.datetime
    customer: Customer
    merchant: Merchant
    amount: float
    card: str | None
    device: str
    ip: str
    city: int
    category: str
    quantity: int = 1
    payment_method: str | None = None
    channel: str | None = None


def typical_amount(rng: random.Random, customer: Customer, category: str, quantity: int) -> float:
    price = CATEGORY_PRICE[category] * customer.spend_scale * rng.lognormvariate(0.0, 0.45)
    return round(max(0.5, price * quantity), 2)


def transaction(
    rng: random.Random, tokens: Tokeniser, purchase: Purchase, scenario: str | None = None
) -> SimEvent:
    """A transaction event for ``purchase``; PII is tokenised here, before anything leaves."""
    customer = purchase.customer
    country, _, lat, lon, currency = CITIES[purchase.city]
    method = purchase.payment_method or customer.payment_method
    record = {
        "schema_version": SCHEMA_VERSION,
        "transaction_id": f"tx-{rng.getrandbits(64):016x}",
        "event_time": format_time(purchase.when),
        "customer_id": customer.customer_id,
        "merchant_id": purchase.merchant.merchant_id,
        "amount": purchase.amount,
        "currency": currency,
        "payment_method": method,
        "card_token": tokens.token("card", purchase.card) if method == "card" else None,
        "email_token": tokens.token("email", customer.email),
        "ip_token": tokens.token("ip", purchase.ip),
        "device_id": purchase.device,
        "category": purchase.category,
        "quantity": purchase.quantity,
        "channel": purchase.channel or customer.channel,
        "country": country,
        "lat": round(lat + rng.uniform(-0.2, 0.2), 4),
        "lon": round(lon + rng.uniform(-0.2, 0.2), 4),
        "account_age_days": max(0, (purchase.when - customer.created).days),
    }
    return SimEvent("transaction", purchase.when, record, scenario is not None, scenario)


FRAUD_REASON = {
    "account_takeover": "fraud_account_takeover",
    "compromised_merchant": "fraud_merchant_compromise",
}
DISPUTE_REASONS = ("merchandise_not_received", "not_as_described", "duplicate_charge")


def chargeback(rng: random.Random, sale: SimEvent, filed: dt.datetime) -> SimEvent:
    """The dispute of ``sale``, filed at ``filed``; ``is_fraud`` is the simulator's truth."""
    reason = (
        FRAUD_REASON.get(sale.scenario or "", "fraud_card_not_present")
        if sale.is_fraud
        else rng.choice(DISPUTE_REASONS)
    )
    record = {
        "schema_version": SCHEMA_VERSION,
        "chargeback_id": f"cb-{rng.getrandbits(64):016x}",
        "transaction_id": sale.record["transaction_id"],
        "customer_id": sale.record["customer_id"],
        "merchant_id": sale.record["merchant_id"],
        "event_time": format_time(filed),
        "transaction_time": sale.record["event_time"],
        "amount": sale.record["amount"],
        "currency": sale.record["currency"],
        "reason": reason,
        "is_fraud": sale.is_fraud,
    }
    return SimEvent("chargeback", filed, record, sale.is_fraud, sale.scenario)
