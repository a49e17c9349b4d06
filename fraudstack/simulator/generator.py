"""The marketplace over time: a day of legitimate sales plus fraud episodes, then labels.

History is generated a day at a time (bounded memory), in event-time order. Fraud
gets a chargeback days later; a chargeback that would arrive after the end of the
generated period has not arrived yet and is not emitted (labels are late).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Iterator

from fraudstack.pii import Tokeniser
from fraudstack.simulator.population import CATEGORIES, CITIES, Population, random_ip
from fraudstack.simulator.records import Purchase, SimEvent, chargeback, transaction, typical_amount
from fraudstack.simulator.scenarios import SCENARIO_BUILDERS, DayContext
from fraudstack.simulator.settings import SimulatorSettings

# share of the day's sales in each UTC hour (evening peak) and by weekday (Mon..Sun)
HOURLY = (2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 6, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4)
WEEKDAY = (0.95, 0.95, 1.0, 1.0, 1.1, 1.2, 1.05)


def midnight(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class Marketplace:
    """A deterministic, labelled marketplace.

    Args:
        settings: sizes, rates and the seed.
        tokens: tokenises PII as records are built.
        start: the first instant of the simulated period (accounts predate it).
    """

    def __init__(self, settings: SimulatorSettings, tokens: Tokeniser, start: dt.datetime) -> None:
        self.settings = settings
        self.tokens = tokens
        self.rng = random.Random(settings.seed)
        self.population = Population.build(self.rng, settings.customers, settings.merchants, start)
        self._pending: list[tuple[dt.datetime, int, SimEvent]] = []  # chargebacks not yet due
        self._carry: list[SimEvent] = []  # sales of episodes that ran past midnight
        self._sequence = 0

    def _legit(self, ctx: DayContext, when: dt.datetime) -> SimEvent:
        rng = self.rng
        customer = self.population.pick_customer(rng)
        category = rng.choice(customer.favourite) if rng.random() < 0.8 else rng.choice(CATEGORIES)
        quantity = 1 if rng.random() < 0.85 else rng.randint(2, 4)
        # legitimate customers also travel, change phones and splurge: fraud is not trivial
        travelling = rng.random() < 0.03
        new_device = rng.random() < 0.02
        splurge = rng.uniform(3, 8) if rng.random() < 0.01 else 1.0
        purchase = Purchase(
            when, customer, self.population.merchant_for(rng, category),
            typical_amount(rng, customer, category, quantity) * splurge,
            rng.choice(customer.cards),
            f"d-{rng.getrandbits(48):012x}" if new_device else rng.choice(customer.devices),
            random_ip(rng) if travelling else rng.choice(customer.ips),
            rng.randrange(len(CITIES)) if travelling else customer.home,
            category, quantity,
        )  # fmt: skip
        purchase.amount = round(purchase.amount, 2)
        return transaction(rng, self.tokens, purchase)

    def _schedule_chargebacks(self, sales: list[SimEvent]) -> None:
        rng, labels = self.rng, self.settings.chargebacks
        for sale in sales:
            disputed = rng.random() < (
                labels.fraud_dispute_rate if sale.is_fraud else labels.false_chargeback_rate
            )
            if disputed:
                days = min(
                    labels.max_delay_days,
                    max(
                        1.0,
                        rng.lognormvariate(math.log(labels.delay_median_days), labels.delay_sigma),
                    ),
                )
                filed = sale.time + dt.timedelta(days=days)
                self._sequence += 1
                heapq.heappush(self._pending, (filed, self._sequence, chargeback(rng, sale, filed)))

    def day(self, day_start: dt.datetime, transactions: int | None = None) -> list[SimEvent]:
        """All events of the UTC day starting at ``day_start``, in event-time order.

        Args:
            day_start: midnight UTC.
            transactions: how many transactions; default from settings and the weekday.
        """
        rng = self.rng
        total = transactions or round(
            self.settings.transactions_per_day * WEEKDAY[day_start.weekday()]
        )
        ctx = DayContext(rng, self.tokens, self.population, day_start)
        fraud: list[SimEvent] = []
        for name, rate in self.settings.scenario_rates.items():
            fraud += SCENARIO_BUILDERS[name](ctx, round(rate * total))
        hours = rng.choices(range(24), weights=HOURLY, k=max(0, total - len(fraud)))
        legit = [
            self._legit(ctx, day_start + dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600)))
            for hour in hours
        ]
        sales = sorted(legit + fraud, key=lambda event: event.time)
        self._schedule_chargebacks(sales)
        end = day_start + dt.timedelta(days=1)
        # an episode that starts before midnight may run past it: hold those for tomorrow
        ready = self._carry + [sale for sale in sales if sale.time < end]
        self._carry = [sale for sale in sales if sale.time >= end]
        due = []
        while self._pending and self._pending[0][0] < end:
            due.append(heapq.heappop(self._pending)[2])
        return sorted(ready + due, key=lambda event: event.time)

    def history(self, start: dt.datetime, days: int) -> Iterator[SimEvent]:
        """Every event of ``days`` whole days from ``start``'s midnight, in time order."""
        first = midnight(start)
        for offset in range(days):
            yield from self.day(first + dt.timedelta(days=offset))
        yield from sorted(self._carry, key=lambda event: event.time)  # the last episodes' tails
        self._carry = []
