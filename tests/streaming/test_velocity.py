"""The speed layer's stateful step gives the batch definition's features, batch by batch."""

from __future__ import annotations

import itertools

import pandas as pd

from fraudstack.features import FEATURES, entity_features, sort_events
from streaming.velocity import retained, update_bucket
from tests.fraudstack.test_features import random_events


class HeldState:
    """Spark's GroupState as the function sees it: exists / get / update."""

    def __init__(self) -> None:
        self.value: tuple | None = None

    @property
    def exists(self) -> bool:
        return self.value is not None

    @property
    def get(self) -> tuple:
        assert self.value is not None
        return self.value

    def update(self, value: tuple) -> None:
        self.value = value


def run_batches(events: pd.DataFrame, cuts: list[int]) -> pd.DataFrame:
    state, outputs = HeldState(), []
    arriving = events.assign(payload="{}")
    bounds = [0, *cuts, len(arriving)]
    for start, end in itertools.pairwise(bounds):
        batch = arriving.iloc[start:end]
        outputs += list(update_bucket(("customer", 0), iter([batch]), state))
    return pd.concat(outputs, ignore_index=True)


def test_micro_batches_give_the_full_history_features() -> None:
    # arrival in event-time order (as one Kafka partition delivers it)
    events = random_events(11, n=600).sort_values("event_us", kind="stable")
    streamed = run_batches(events, [50, 51, 200, 420]).set_index("transaction_id")
    whole = sort_events(events)
    expected = entity_features(whole).set_index(whole["transaction_id"])
    pd.testing.assert_frame_equal(
        streamed.loc[expected.index, list(FEATURES)], expected, check_dtype=False, atol=1e-9
    )


def test_a_transaction_seen_before_produces_nothing() -> None:
    events = random_events(12, n=300).sort_values("event_us", kind="stable")
    events = events[events["event_us"] < events["event_us"].min() + 20 * 3_600_000_000]
    # duplicates within the 24-hour history: later in the batch, in later batches
    replayed = pd.concat([events, events.iloc[10:30], events.iloc[[5, 5]]], ignore_index=True)
    streamed = run_batches(replayed, [60, len(events) + 5])
    assert sorted(streamed["transaction_id"]) == sorted(events["transaction_id"])


def test_state_keeps_a_day_per_entity_and_the_latest_row() -> None:
    day = 86_400_000_000
    events = sort_events(
        pd.DataFrame(
            {
                "entity_key": ["a", "a", "a", "b"],
                "transaction_id": ["1", "2", "3", "4"],
                "event_us": [0, 1 * day, 2 * day + 5, 2 * day],
                "amount_usd": [1.0] * 4,
                "country": [None] * 4,
                "lat": [None] * 4,
                "lon": [None] * 4,
                "linked": [None] * 4,
            }
        )
    )
    kept = retained(events)
    # a: only the last day survives (2 is exactly 24 h and 5 µs older than 3); b: its only row
    assert list(kept["transaction_id"]) == ["3", "4"]
