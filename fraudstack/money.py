"""Amounts in one currency: every money rule and feature works in US dollars.

Rates are fixed reference rates (USD per unit, mid-market, 2026-11), committed with
the code so the speed and batch layers convert identically and a replay gives the
same numbers. Live FX is out of scope: a rate change is a code change, reviewed.
"""

from __future__ import annotations

from itertools import chain

from pyspark.sql import Column
from pyspark.sql import functions as F

from fraudstack.events import CURRENCIES

USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.72, "AUD": 0.65,
    "JPY": 0.0067, "BRL": 0.18, "INR": 0.012, "MXN": 0.055, "SGD": 0.74,
}  # fmt: skip
assert set(USD_PER_UNIT) == CURRENCIES, "every accepted currency needs a rate"


def to_usd(amount: float, currency: str) -> float:
    """``amount`` of ``currency`` in US dollars, rounded to cents."""
    return round(amount * USD_PER_UNIT[currency], 2)


def usd_column(amount: str = "amount", currency: str = "currency") -> Column:
    """The same conversion as :func:`to_usd`, as a Spark column expression."""
    rates = F.create_map(*[F.lit(x) for x in chain.from_iterable(USD_PER_UNIT.items())])
    return F.round(F.col(amount) * rates[F.col(currency)], 2)
