"""The shared feature definition against a slow, obvious reference."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from fraudstack.features import (
    FEATURES,
    HISTORY_SECONDS,
    LAST_SEEN_SECONDS,
    MIN_TRAVEL_SECONDS,
    entity_features,
    haversine_km,
    sort_events,
)

HOUR = 3_600_000_000


def random_events(seed: int, n: int = 400, entities: int = 6) -> pd.DataFrame:
    rng = random.Random(seed)
    start = 1_790_000_000_000_000
    rows = []
    for i in range(n):
        located = rng.random() > 0.1
        rows.append(
            {
                "entity_key": f"e{rng.randrange(entities)}",
                "transaction_id": f"tx-{i:05d}",
                # clustered times, with exact ties, spread over three days
                "event_us": start
                + rng.choice([0, 1, 2]) * 24 * HOUR
                + rng.randrange(0, 40) * 60_000_000,
                "amount_usd": round(rng.uniform(0.5, 900), 2),
                "country": rng.choice(["US", "GB", "DE", None]),
                "lat": rng.uniform(-60, 60) if located else None,
                "lon": rng.uniform(-170, 170) if located else None,
                "linked": rng.choice(["a", "b", "c", "d", None]),
            }
        )
    return pd.DataFrame(rows)


def reference(events: pd.DataFrame) -> pd.DataFrame:
    """Row by row, straight from the definitions in the module docstring."""
    out = []
    rows = events.to_dict("records")
    for i, row in enumerate(rows):
        earlier = [r for r in rows[: i + 1] if r["entity_key"] == row["entity_key"]]

        def within(seconds: int, rows_=earlier, now=row["event_us"]) -> list[dict]:
            return [r for r in rows_ if r["event_us"] > now - seconds * 1_000_000]

        day = within(HISTORY_SECONDS)
        features = {
            "tx_count_5m": len(within(300)),
            "tx_count_1h": len(within(3600)),
            "tx_count_24h": len(day),
            "amount_usd_1h": round(sum(r["amount_usd"] for r in within(3600)), 2),
            "amount_usd_24h": round(sum(r["amount_usd"] for r in day), 2),
            "countries_24h": len({r["country"] for r in day if pd.notna(r["country"])}),
            "linked_24h": len({r["linked"] for r in day if pd.notna(r["linked"])}),
            "seconds_since_last": math.nan,
            "km_from_last": math.nan,
            "speed_kmh": math.nan,
        }
        if len(earlier) > 1:
            previous = earlier[-2]
            elapsed = (row["event_us"] - previous["event_us"]) / 1e6
            if elapsed <= LAST_SEEN_SECONDS:
                km = float(
                    haversine_km(
                        *(np.float64(np.nan if pd.isna(v) else v) for v in (
                            previous["lat"], previous["lon"], row["lat"], row["lon"]
                        ))
                    )
                )  # fmt: skip
                features["seconds_since_last"] = elapsed
                features["km_from_last"] = round(km, 3)
                features["speed_kmh"] = round(km / (max(elapsed, MIN_TRAVEL_SECONDS) / 3600), 3)
        out.append(features)
    return pd.DataFrame(out, columns=list(FEATURES))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_features_match_the_reference(seed: int) -> None:
    events = sort_events(random_events(seed))
    pd.testing.assert_frame_equal(
        entity_features(events), reference(events), check_dtype=False, atol=1e-9
    )


def test_only_targets_are_computed_and_they_ignore_later_rows() -> None:
    events = sort_events(random_events(4))
    mask = np.zeros(len(events), dtype=bool)
    mask[::7] = True
    expected = reference(events)[mask].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        entity_features(events, mask), expected, check_dtype=False, atol=1e-9
    )


def test_other_entities_do_not_change_an_entitys_features() -> None:
    events = sort_events(random_events(5))
    alone = sort_events(events[events["entity_key"] == "e1"].copy())
    mixed = entity_features(events, (events["entity_key"] == "e1").to_numpy())
    pd.testing.assert_frame_equal(mixed, entity_features(alone), check_dtype=False)


def test_impossible_travel_and_a_first_transaction() -> None:
    events = pd.DataFrame(
        {
            "entity_key": ["c1", "c1", "c2"],
            "transaction_id": ["t1", "t2", "t3"],
            "event_us": [0, 30 * 60 * 1_000_000, 0],
            "amount_usd": [10.0, 2000.0, 5.0],
            "country": ["US", "JP", None],
            "lat": [40.71, 35.68, None],
            "lon": [-74.01, 139.69, None],
            "linked": ["d1", "d2", None],
        }
    )
    features = entity_features(sort_events(events))
    new_york_to_tokyo = features.iloc[1]
    assert new_york_to_tokyo["km_from_last"] == pytest.approx(10_850, rel=0.01)
    assert new_york_to_tokyo["speed_kmh"] > 20_000  # in half an hour
    assert new_york_to_tokyo["countries_24h"] == 2
    assert new_york_to_tokyo["amount_usd_1h"] == 2010.0
    first = features.iloc[0]
    assert math.isnan(first["seconds_since_last"]) and first["tx_count_24h"] == 1
    lonely = features.iloc[2]
    assert lonely["countries_24h"] == 0 and lonely["linked_24h"] == 0
