"""Fraud scenarios. Each builds whole episodes (bursts, rings, takeovers) of labelled fraud.

Every function takes the day's context and how many fraud transactions of its kind to
make, and returns exactly that many, each labelled with the scenario's name.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from fraudstack.pii import Tokeniser
from fraudstack.simulator.population import (
    CITIES,
    Customer,
    Population,
    new_customer,
    random_card,
    random_ip,
)
from fraudstack.simulator.records import Purchase, SimEvent, transaction, typical_amount


@dataclass
class DayContext:
    rng: random.Random
    tokens: Tokeniser
    population: Population
    start: dt.datetime  # midnight UTC of the day
    fraudsters: int = 0  # numbering of throw-away accounts

    def moment(self, within: dt.timedelta = dt.timedelta(days=1)) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.rng.uniform(0, within.total_seconds()))

    def fake_account(self, age_days: float = 0.5) -> Customer:
        self.fraudsters += 1
        number = 9_000_000 + self.rng.randrange(900_000)
        return new_customer(self.rng, number, self.start - dt.timedelta(days=age_days))

    def far_city(self, home: int) -> int:
        _, _, lat, lon, _ = CITIES[home]
        far = [i for i, c in enumerate(CITIES) if abs(c[2] - lat) + abs(c[3] - lon) > 60]
        return self.rng.choice(far or list(range(len(CITIES))))


def _episodes(count: int, episode: Callable[[], list[SimEvent]]) -> list[SimEvent]:
    made: list[SimEvent] = []
    while len(made) < count:
        made += episode()
    return made[:count]


def card_testing(ctx: DayContext, count: int) -> list[SimEvent]:
    """A fraudster tries many stolen cards with tiny amounts from one device, in minutes."""

    def episode() -> list[SimEvent]:
        rng = ctx.rng
        fraudster = ctx.fake_account(rng.uniform(0, 3))
        merchant = ctx.population.merchant_for(rng, "digital_goods")
        device, ip, city = (
            f"d-{rng.getrandbits(48):012x}",
            random_ip(rng),
            rng.randrange(len(CITIES)),
        )
        cards = [random_card(rng) for _ in range(rng.randint(3, 8))]
        when = ctx.moment()
        events = []
        for _ in range(rng.randint(5, 20)):
            when += dt.timedelta(seconds=rng.uniform(5, 40))
            purchase = Purchase(when, fraudster, merchant, round(rng.uniform(0.5, 5.0), 2),
                                rng.choice(cards), device, ip, city, "digital_goods",
                                payment_method="card")  # fmt: skip
            events.append(transaction(rng, ctx.tokens, purchase, "card_testing"))
        return events

    return _episodes(count, episode)


def account_takeover(ctx: DayContext, count: int) -> list[SimEvent]:
    """Someone else logs into a real account: new device, another country, high value."""

    def episode() -> list[SimEvent]:
        rng, victim = ctx.rng, ctx.population.pick_customer(ctx.rng)
        device, ip, city = (
            f"d-{rng.getrandbits(48):012x}",
            random_ip(rng),
            ctx.far_city(victim.home),
        )
        when, events = ctx.moment(), []
        for _ in range(rng.randint(1, 3)):
            when += dt.timedelta(minutes=rng.uniform(1, 20))
            category = rng.choice(("electronics", "jewelry", "travel"))
            merchant = ctx.population.merchant_for(rng, category)
            amount = round(rng.uniform(400, 3000), 2)
            purchase = Purchase(
                when, victim, merchant, amount, victim.cards[0], device, ip, city, category
            )
            events.append(transaction(rng, ctx.tokens, purchase, "account_takeover"))
        return events

    return _episodes(count, episode)


def velocity_burst(ctx: DayContext, count: int) -> list[SimEvent]:
    """A stolen card used again and again on the victim's account within an hour."""

    def episode() -> list[SimEvent]:
        rng, victim = ctx.rng, ctx.population.pick_customer(ctx.rng)
        same_device = rng.random() < 0.5  # half the time it looks like the victim's phone
        device = victim.devices[0] if same_device else f"d-{rng.getrandbits(48):012x}"
        ip = victim.ips[0] if same_device else random_ip(rng)
        when, events = ctx.moment(), []
        for _ in range(rng.randint(8, 15)):
            when += dt.timedelta(minutes=rng.uniform(1, 6))
            category = rng.choice(victim.favourite)
            merchant = ctx.population.merchant_for(rng, category)
            amount = round(rng.uniform(40, 300), 2)
            purchase = Purchase(
                when, victim, merchant, amount, victim.cards[0], device, ip, victim.home, category
            )
            events.append(transaction(rng, ctx.tokens, purchase, "velocity_burst"))
        return events

    return _episodes(count, episode)


def compromised_merchant(ctx: DayContext, count: int) -> list[SimEvent]:
    """A merchant's checkout is breached: every sale in a window of hours is fraudulent."""
    rng = ctx.rng
    merchant = rng.choice(ctx.population.merchants)
    opened = ctx.moment(dt.timedelta(hours=18))
    window = dt.timedelta(hours=rng.uniform(1, 6))
    events = []
    for _ in range(count):
        buyer = ctx.population.pick_customer(rng)
        when = opened + dt.timedelta(seconds=rng.uniform(0, window.total_seconds()))
        amount = typical_amount(rng, buyer, merchant.category, 1)
        purchase = Purchase(when, buyer, merchant, amount, buyer.cards[0], buyer.devices[0],
                            buyer.ips[0], buyer.home, merchant.category)  # fmt: skip
        events.append(transaction(rng, ctx.tokens, purchase, "compromised_merchant"))
    return events


def new_customer_high_value(ctx: DayContext, count: int) -> list[SimEvent]:
    """An account opened hours ago buys something expensive at once."""

    def episode() -> list[SimEvent]:
        rng = ctx.rng
        fraudster = ctx.fake_account(rng.uniform(0, 2))
        when, events = ctx.moment(), []
        for _ in range(rng.randint(1, 2)):
            when += dt.timedelta(minutes=rng.uniform(2, 30))
            category = rng.choice(("electronics", "jewelry", "travel", "fashion"))
            merchant = ctx.population.merchant_for(rng, category)
            purchase = Purchase(when, fraudster, merchant, round(rng.uniform(250, 2000), 2),
                                fraudster.cards[0], fraudster.devices[0], fraudster.ips[0],
                                fraudster.home, category)  # fmt: skip
            events.append(transaction(rng, ctx.tokens, purchase, "new_customer_high_value"))
        return events

    return _episodes(count, episode)


def shared_ring(ctx: DayContext, count: int) -> list[SimEvent]:
    """Several fresh accounts share one device and one IP (a fraud ring)."""

    def episode() -> list[SimEvent]:
        rng = ctx.rng
        device, ip = f"d-{rng.getrandbits(48):012x}", random_ip(rng)
        city, start, events = rng.randrange(len(CITIES)), ctx.moment(), []
        members = [ctx.fake_account(rng.uniform(1, 30)) for _ in range(rng.randint(3, 6))]
        # every member buys in each round, so a ring cut short still has several members
        for _ in range(rng.randint(1, 3)):
            for member in members:
                when = start + dt.timedelta(minutes=rng.uniform(0, 180))
                category = rng.choice(("electronics", "fashion", "digital_goods", "home"))
                merchant = ctx.population.merchant_for(rng, category)
                purchase = Purchase(when, member, merchant, round(rng.uniform(80, 900), 2),
                                    member.cards[0], device, ip, city, category)  # fmt: skip
                events.append(transaction(rng, ctx.tokens, purchase, "shared_ring"))
        return events

    return _episodes(count, episode)


def impossible_travel(ctx: DayContext, count: int) -> list[SimEvent]:
    """The same card at home and, within the hour, on another continent.

    The purchase at home is the victim's own (legitimate); only the far one is fraud.
    """
    rng, events = ctx.rng, []
    for _ in range(count):
        victim = ctx.population.pick_customer(rng)
        home_time = ctx.moment(dt.timedelta(hours=23))
        for minutes, city, scenario in (
            (0.0, victim.home, None),
            (rng.uniform(10, 60), ctx.far_city(victim.home), "impossible_travel"),
        ):
            category = rng.choice(victim.favourite)
            merchant = ctx.population.merchant_for(rng, category)
            own = scenario is None
            device = victim.devices[0] if own else f"d-{rng.getrandbits(48):012x}"
            ip = victim.ips[0] if own else random_ip(rng)
            purchase = Purchase(home_time + dt.timedelta(minutes=minutes), victim, merchant,
                                typical_amount(rng, victim, category, 1), victim.cards[0],
                                device, ip, city, category)  # fmt: skip
            events.append(transaction(rng, ctx.tokens, purchase, scenario))
    return events


SCENARIO_BUILDERS: dict[str, Callable[[DayContext, int], list[SimEvent]]] = {
    "card_testing": card_testing,
    "account_takeover": account_takeover,
    "velocity_burst": velocity_burst,
    "compromised_merchant": compromised_merchant,
    "new_customer_high_value": new_customer_high_value,
    "shared_ring": shared_ring,
    "impossible_travel": impossible_travel,
}
