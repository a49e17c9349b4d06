"""Velocity features: one definition for the speed layer and the batch layer.

A transaction touches four entities: its customer, card, device and IP. For each
entity the features of a transaction look back over that entity's earlier
transactions (event time, ties broken by transaction id) and include the
transaction itself:

- ``tx_count_5m``, ``tx_count_1h``, ``tx_count_24h``: transactions in the window;
- ``amount_usd_1h``, ``amount_usd_24h``: US-dollar amounts summed over the window;
- ``countries_24h``: distinct countries seen in 24 hours;
- ``linked_24h``: distinct *linked* values in 24 hours (devices per customer,
  customers per card, cards per device, customers per IP; see :data:`ENTITIES`);
- ``seconds_since_last``, ``km_from_last``, ``speed_kmh``: time and great-circle
  distance from the entity's previous transaction (if within 24 hours), and the
  speed that implies (impossible travel). Speed floors the elapsed time at one minute.

:func:`entity_features` is the definition, in pandas. The batch layer runs it over
each entity's whole history (:func:`history_features`); the speed layer runs it over
the entity's recent history kept in Spark state plus the new micro-batch
(``streaming/velocity.py``). Both then widen the per-entity rows into one row per
transaction with :func:`widen`, columns named ``<entity>_<feature>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fraudstack.money import usd_column

# entity: (key column, the linked column whose distinct values are counted)
ENTITIES: dict[str, tuple[str, str]] = {
    "customer": ("customer_id", "device_id"),
    "card": ("card_token", "customer_id"),
    "device": ("device_id", "card_token"),
    "ip": ("ip_token", "customer_id"),
}
WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("1h", 3600), ("24h", 86_400))
HISTORY_SECONDS = 86_400  # the longest window: older events never change a feature
MIN_TRAVEL_SECONDS = 60.0
LAST_SEEN_SECONDS = HISTORY_SECONDS  # an entity's previous transaction counts for 24 hours
EARTH_RADIUS_KM = 6371.0
HISTORY_BUCKETS = 256  # groups per entity type when computing over full history

FEATURE_FIELDS: tuple[T.StructField, ...] = (
    *(T.StructField(f"tx_count_{label}", T.IntegerType()) for label, _ in WINDOWS),
    T.StructField("amount_usd_1h", T.DoubleType()),
    T.StructField("amount_usd_24h", T.DoubleType()),
    T.StructField("countries_24h", T.IntegerType()),
    T.StructField("linked_24h", T.IntegerType()),
    T.StructField("seconds_since_last", T.DoubleType()),
    T.StructField("km_from_last", T.DoubleType()),
    T.StructField("speed_kmh", T.DoubleType()),
)
FEATURES: tuple[str, ...] = tuple(field.name for field in FEATURE_FIELDS)
WIDE_FEATURES: tuple[str, ...] = tuple(f"{e}_{f}" for e in ENTITIES for f in FEATURES)

# what the per-entity computation reads from each transaction
EVENT_FIELDS: tuple[T.StructField, ...] = (
    T.StructField("transaction_id", T.StringType()),
    T.StructField("event_us", T.LongType()),  # event time, microseconds since the epoch
    T.StructField("amount_usd", T.DoubleType()),
    T.StructField("country", T.StringType()),
    T.StructField("lat", T.DoubleType()),
    T.StructField("lon", T.DoubleType()),
    T.StructField("linked", T.StringType()),
)
EVENT_COLUMNS: tuple[str, ...] = tuple(field.name for field in EVENT_FIELDS)


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> Any:
    """Great-circle distance in km (NaN where a coordinate is missing)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def entity_features(events: pd.DataFrame, targets: np.ndarray | None = None) -> pd.DataFrame:
    """The features of transactions: the definition both layers share.

    Vectorised over many entities at once (the speed layer hands it a whole state
    bucket, the batch layer an entity's full history): window starts come from one
    ``searchsorted`` over times offset per entity, sums from integer cents, so the
    result does not depend on which other entities or older rows are present.

    Args:
        events: transactions of one entity type with ``entity_key`` and
            :data:`EVENT_COLUMNS`, sorted by :func:`sort_events`, indexed 0..n-1.
        targets: a boolean mask of the rows to compute (default: all). Every row
            of a target's entity up to 24 hours earlier, and its previous row, must
            be present.

    Returns:
        One row per target, in order, with :data:`FEATURES` as columns.
    """
    n = len(events)
    chosen = np.ones(n, dtype=bool) if targets is None else np.asarray(targets, dtype=bool)
    rows = np.flatnonzero(chosen)
    if n == 0 or len(rows) == 0:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in FEATURES})
    group = pd.factorize(events["entity_key"], sort=False)[0].astype(np.int64)
    times = events["event_us"].to_numpy(dtype=np.int64)
    # per-entity slots on one time axis: a window never reaches the previous entity
    slot = int(times.max() - times.min()) + HISTORY_SECONDS * 1_000_000 + 1
    axis = (times - times.min()) + group * slot
    cents = np.rint(events["amount_usd"].to_numpy(dtype=float) * 100).astype(np.int64)
    running = np.concatenate(([0], np.cumsum(cents)))
    out: dict[str, Any] = {}
    starts = {}
    for label, seconds in WINDOWS:
        starts[label] = np.searchsorted(axis, axis[rows] - seconds * 1_000_000, "right")
        out[f"tx_count_{label}"] = (rows + 1 - starts[label]).astype(np.int32)
    for label in ("1h", "24h"):
        out[f"amount_usd_{label}"] = (running[rows + 1] - running[starts[label]]) / 100.0
    countries = pd.factorize(events["country"])[0]  # -1 for a missing value
    linked = pd.factorize(events["linked"])[0]
    out["countries_24h"] = _distinct_in_windows(countries, starts["24h"], rows)
    out["linked_24h"] = _distinct_in_windows(linked, starts["24h"], rows)
    previous = rows - 1
    has_previous = (previous >= 0) & (group[np.maximum(previous, 0)] == group[rows])
    elapsed = (times[rows] - times[np.maximum(previous, 0)]) / 1_000_000
    has_previous &= elapsed <= LAST_SEEN_SECONDS
    lat, lon = events["lat"].to_numpy(dtype=float), events["lon"].to_numpy(dtype=float)
    km = haversine_km(
        lat[np.maximum(previous, 0)], lon[np.maximum(previous, 0)], lat[rows], lon[rows]
    )
    out["seconds_since_last"] = np.where(has_previous, elapsed, np.nan)
    out["km_from_last"] = np.where(has_previous, np.round(km, 3), np.nan)
    hours = np.maximum(elapsed, MIN_TRAVEL_SECONDS) / 3600
    out["speed_kmh"] = np.where(has_previous, np.round(km / hours, 3), np.nan)
    return pd.DataFrame(out, columns=list(FEATURES))


def _distinct_in_windows(codes: np.ndarray, starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Distinct non-negative codes in ``codes[start:row + 1]`` for each target row."""
    counts = np.empty(len(rows), dtype=np.int32)
    for n, (start, row) in enumerate(zip(starts.tolist(), rows.tolist(), strict=True)):
        window = codes[start : row + 1]
        counts[n] = len(np.unique(window[window >= 0])) if row - start > 0 else int(codes[row] >= 0)
    return counts


def with_amount_usd(tx_df: DataFrame) -> DataFrame:
    """Add ``amount_usd`` (fixed reference rates, :mod:`fraudstack.money`)."""
    return tx_df.withColumn("amount_usd", usd_column())


def explode_entities(tx_df: DataFrame, carry: Sequence[str] = ()) -> DataFrame:
    """One row per (transaction, entity it names): ``entity``, ``entity_key`` and the event columns.

    A transaction without a card (or device, IP) has no row for that entity.

    Args:
        tx_df: transactions with ``amount_usd`` (:func:`with_amount_usd`).
        carry: further columns to keep on every row.
    """
    # one explode (not a union of four selects) so the input is computed once
    entities = F.array(
        *[
            F.struct(
                F.lit(entity).alias("entity"),
                F.col(key).alias("entity_key"),
                F.col(linked).alias("linked"),
            )
            for entity, (key, linked) in ENTITIES.items()
        ]
    )
    return (
        tx_df.select(
            F.explode(entities).alias("e"),
            "transaction_id",
            F.unix_micros("event_time").alias("event_us"),
            "amount_usd",
            "country",
            "lat",
            "lon",
            *carry,
        )
        .where(F.col("e.entity_key").isNotNull())
        .select(
            "e.entity",
            "e.entity_key",
            *EVENT_COLUMNS[:-1],
            F.col("e.linked").alias("linked"),
            *carry,
        )
    )


LONG_SCHEMA = T.StructType(
    [
        T.StructField("entity", T.StringType()),
        T.StructField("entity_key", T.StringType()),
        T.StructField("transaction_id", T.StringType()),
        *FEATURE_FIELDS,
    ]
)


def sort_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events in feature order: entity, event time, then transaction id."""
    return events.sort_values(
        ["entity_key", "event_us", "transaction_id"], kind="stable"
    ).reset_index(drop=True)


def _history_group(events: pd.DataFrame) -> pd.DataFrame:
    ordered = sort_events(events)
    features = entity_features(ordered)
    keys = ordered[["entity", "entity_key", "transaction_id"]]
    return pd.concat([keys, features], axis=1)


def history_features(long_df: DataFrame) -> DataFrame:
    """Features of every transaction over each entity's full history (the batch layer's path).

    Args:
        long_df: :func:`explode_entities` output, deduplicated by transaction id.

    Returns:
        ``entity``, ``entity_key``, ``transaction_id`` and :data:`FEATURES`.
    """
    return (
        with_bucket(long_df, HISTORY_BUCKETS)
        .groupBy("entity", "bucket")
        .applyInPandas(_history_group, LONG_SCHEMA)
    )


def with_bucket(long_df: DataFrame, buckets: int) -> DataFrame:
    """Add ``bucket``: a stable hash of the entity key. Groups of many entities keep the
    per-group Python overhead low; an entity's rows always share one bucket."""
    return long_df.withColumn("bucket", F.pmod(F.xxhash64("entity_key"), F.lit(buckets)))


def pivot_features(long_features_df: DataFrame, carry: Sequence[str] = ()) -> DataFrame:
    """One row per transaction with :data:`WIDE_FEATURES`, in one aggregation (no joins).

    Args:
        long_features_df: ``transaction_id``, ``entity`` and :data:`FEATURES`.
        carry: columns set on one row of each transaction (e.g. the payload) to keep.
    """
    is_entity = {entity: F.col("entity") == entity for entity in ENTITIES}
    return long_features_df.groupBy("transaction_id").agg(
        *[F.max(name).alias(name) for name in carry],
        *[
            F.max(F.when(is_entity[entity], F.col(name))).alias(f"{entity}_{name}")
            for entity in ENTITIES
            for name in FEATURES
        ],
    )


def widen(tx_df: DataFrame, long_features_df: DataFrame) -> DataFrame:
    """Attach each entity's features to its transaction as ``<entity>_<feature>`` columns.

    Args:
        tx_df: one row per transaction.
        long_features_df: ``transaction_id``, ``entity`` and :data:`FEATURES`.

    Returns:
        ``tx_df`` with :data:`WIDE_FEATURES` (null where the transaction has no such entity).
    """
    return tx_df.join(pivot_features(long_features_df), "transaction_id", "left")
