"""The marketplace's people and places: customers, merchants, devices, IPs, cards."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

# (country, city, lat, lon, currency): enough geography for travel and impossible travel
CITIES: tuple[tuple[str, str, float, float, str], ...] = (
    ("US", "New York", 40.71, -74.01, "USD"),
    ("US", "Los Angeles", 34.05, -118.24, "USD"),
    ("US", "Chicago", 41.88, -87.63, "USD"),
    ("CA", "Toronto", 43.65, -79.38, "CAD"),
    ("GB", "London", 51.51, -0.13, "GBP"),
    ("DE", "Berlin", 52.52, 13.40, "EUR"),
    ("FR", "Paris", 48.86, 2.35, "EUR"),
    ("ES", "Madrid", 40.42, -3.70, "EUR"),
    ("BR", "Sao Paulo", -23.55, -46.63, "BRL"),
    ("MX", "Mexico City", 19.43, -99.13, "MXN"),
    ("IN", "Mumbai", 19.08, 72.88, "INR"),
    ("JP", "Tokyo", 35.68, 139.69, "JPY"),
    ("SG", "Singapore", 1.35, 103.82, "SGD"),
    ("AU", "Sydney", -33.87, 151.21, "AUD"),
)
HOME_WEIGHTS = (14, 10, 8, 6, 10, 7, 7, 5, 5, 4, 5, 4, 3, 4)
CATEGORY_PRICE = {  # median price of one item
    "electronics": 180.0, "fashion": 45.0, "grocery": 25.0, "home": 60.0, "beauty": 22.0,
    "sports": 50.0, "toys": 30.0, "books": 15.0, "digital_goods": 12.0, "travel": 350.0,
    "jewelry": 220.0,
}  # fmt: skip
CATEGORIES = tuple(CATEGORY_PRICE)
PAYMENT_WEIGHTS = {"card": 70, "wallet": 18, "bank_transfer": 5, "bnpl": 7}
CHANNEL_WEIGHTS = {"web": 50, "mobile_app": 42, "marketplace_api": 8}


@dataclass(slots=True)
class Customer:
    customer_id: str
    email: str
    cards: list[str]
    devices: list[str]
    ips: list[str]
    home: int  # index into CITIES
    created: dt.datetime
    spend_scale: float  # multiplies typical prices
    activity: float  # relative purchase frequency
    favourite: tuple[str, ...]  # categories this customer prefers
    payment_method: str
    channel: str


@dataclass(slots=True)
class Merchant:
    merchant_id: str
    category: str
    home: int


def random_ip(rng: random.Random) -> str:
    return (
        f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )


def random_card(rng: random.Random) -> str:
    return rng.choice("45") + "".join(str(rng.randint(0, 9)) for _ in range(15))


def new_customer(rng: random.Random, number: int, created: dt.datetime) -> Customer:
    """One customer with a home, devices, cards and habits."""
    home = rng.choices(range(len(CITIES)), weights=HOME_WEIGHTS)[0]
    return Customer(
        customer_id=f"c-{number:07d}",
        email=f"user{number}.{rng.randint(100, 999)}@example.com",
        cards=[random_card(rng) for _ in range(rng.choice((1, 1, 1, 2)))],
        devices=[f"d-{rng.getrandbits(48):012x}" for _ in range(rng.choice((1, 1, 2)))],
        ips=[random_ip(rng) for _ in range(rng.choice((1, 2)))],
        home=home,
        created=created,
        spend_scale=rng.lognormvariate(0.0, 0.5),
        activity=rng.gammavariate(2.0, 0.5),
        favourite=tuple(rng.sample(CATEGORIES, 3)),
        payment_method=rng.choices(list(PAYMENT_WEIGHTS), weights=list(PAYMENT_WEIGHTS.values()))[
            0
        ],
        channel=rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0],
    )


@dataclass
class Population:
    customers: list[Customer]
    merchants: list[Merchant]
    cumulative_activity: list[float]
    by_category: dict[str, list[Merchant]]

    @classmethod
    def build(
        cls, rng: random.Random, customers: int, merchants: int, start: dt.datetime
    ) -> Population:
        """Customers with accounts opened up to three years before ``start``."""
        people = [
            new_customer(rng, n, start - dt.timedelta(days=rng.uniform(3, 3 * 365)))
            for n in range(customers)
        ]
        shops = [
            Merchant(f"m-{n:05d}", rng.choice(CATEGORIES), rng.randrange(len(CITIES)))
            for n in range(merchants)
        ]
        total, cumulative = 0.0, []
        for person in people:
            total += person.activity
            cumulative.append(total)
        by_category: dict[str, list[Merchant]] = {category: [] for category in CATEGORIES}
        for shop in shops:
            by_category[shop.category].append(shop)
        return cls(people, shops, cumulative, by_category)

    def pick_customer(self, rng: random.Random) -> Customer:
        return rng.choices(self.customers, cum_weights=self.cumulative_activity)[0]

    def merchant_for(self, rng: random.Random, category: str) -> Merchant:
        return rng.choice(self.by_category[category] or self.merchants)
