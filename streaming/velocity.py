"""Stateful velocity features in the speed layer.

Spark state keeps, per entity, the last 24 hours of transactions (plus the latest
one, for time and distance since the previous transaction). State is grouped by
(entity type, bucket): a bucket holds many entities, so a micro-batch calls Python
a few hundred times rather than once per customer, card, device and IP. Each call
merges the new transactions into the bucket's history and computes their features
with the shared :func:`fraudstack.features.entity_features`, the same code the batch
layer runs over full history.

The state also deduplicates: a transaction id already in the bucket's history
produces no output. That covers the whole 24-hour history, longer than any
event-time watermark, and drops nothing for being late.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import types as T
from pyspark.sql.streaming.state import GroupStateTimeout

from fraudstack.features import (
    EVENT_COLUMNS,
    FEATURE_FIELDS,
    HISTORY_SECONDS,
    LAST_SEEN_SECONDS,
    entity_features,
    sort_events,
    with_bucket,
)

MAX_EVENTS_PER_ENTITY = 5_000  # a runaway key (a shared proxy IP) must not exhaust memory
STATE_COLUMNS = ("entity_key", *EVENT_COLUMNS)
# The history travels as one Arrow IPC blob: typed and compact. (Array columns in
# the state schema fail in pyspark 4.3.0's worker: KeyError 'elementType'.)
STATE_SCHEMA = T.StructType([T.StructField("history", T.BinaryType())])
_HISTORY_ARROW = pa.schema(
    [
        ("entity_key", pa.string()), ("transaction_id", pa.string()), ("event_us", pa.int64()),
        ("amount_usd", pa.float64()), ("country", pa.string()), ("lat", pa.float64()),
        ("lon", pa.float64()), ("linked", pa.string()),
    ]
)  # fmt: skip
assert tuple(_HISTORY_ARROW.names) == STATE_COLUMNS
OUTPUT_SCHEMA = T.StructType(
    [
        T.StructField("entity", T.StringType()),
        T.StructField("entity_key", T.StringType()),
        T.StructField("transaction_id", T.StringType()),
        *FEATURE_FIELDS,
        T.StructField("payload", T.StringType()),  # the raw transaction, on customer rows
    ]
)


def _history(state: Any) -> pa.Table:
    if not state.exists:
        return _HISTORY_ARROW.empty_table()
    return pa.ipc.open_stream(state.get[0]).read_all()


def _blob(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, _HISTORY_ARROW) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def retained(events: pd.DataFrame) -> pd.DataFrame:
    """What later transactions can still need, per entity: its last 24 hours (at most
    :data:`MAX_EVENTS_PER_ENTITY` rows) and its latest row. ``events`` is in feature order."""
    times = events["event_us"].to_numpy(dtype=np.int64)
    newest = events.groupby("entity_key", sort=False)["event_us"].transform("max")
    keys = events["entity_key"].to_numpy(dtype=object)
    is_latest = np.append(keys[1:] != keys[:-1], True)
    keep = (times > newest.to_numpy(dtype=np.int64) - HISTORY_SECONDS * 1_000_000) | is_latest
    return events[keep].groupby("entity_key", sort=False).tail(MAX_EVENTS_PER_ENTITY)


def update_bucket(
    key: tuple[Any, ...], batches: Iterator[pd.DataFrame], state: Any
) -> Iterator[pd.DataFrame]:
    """Features of a bucket's new transactions; the bucket's history moves forward.

    Only the entities named in the batch are taken out of the (Arrow) history,
    computed and pruned; the rest of the bucket stays as it is, except entities
    silent for 24 hours, which are dropped.
    """
    history = _history(state)
    new = pd.concat(list(batches), ignore_index=True)
    # within one entity type a transaction id names one entity: ids suffice
    seen = pc.is_in(pa.array(new["transaction_id"], pa.string()), history["transaction_id"])
    new = new[~seen.to_numpy(zero_copy_only=False)].drop_duplicates("transaction_id")
    if new.empty:
        return
    touched = pc.is_in(history["entity_key"], pa.array(new["entity_key"].unique(), pa.string()))
    events = sort_events(
        pd.concat(
            [
                history.filter(touched).to_pandas().assign(is_new=False),
                new.assign(is_new=True),
            ],
            ignore_index=True,
        )
    )
    is_new = events["is_new"].to_numpy(dtype=bool)
    features = entity_features(events, is_new)
    chosen = events[is_new].reset_index(drop=True)
    kept = pa.Table.from_pandas(
        retained(events)[list(STATE_COLUMNS)], _HISTORY_ARROW, preserve_index=False
    )
    rest = history.filter(pc.invert(touched))
    newest = max(int(events["event_us"].max()), int(pc.max(history["event_us"]).as_py() or 0))
    rest = rest.filter(pc.greater_equal(rest["event_us"], newest - LAST_SEEN_SECONDS * 1_000_000))
    state.update((_blob(pa.concat_tables([rest, kept])),))
    yield pd.concat(
        [
            pd.DataFrame(
                {
                    "entity": key[0],
                    "entity_key": chosen["entity_key"],
                    "transaction_id": chosen["transaction_id"],
                }
            ),
            features,
            chosen[["payload"]],
        ],
        axis=1,
    )


def stream_features(long_df: DataFrame, buckets: int) -> DataFrame:
    """Per-entity features of each new transaction, from a stream of exploded entities.

    Args:
        long_df: streaming ``explode_entities`` output plus ``payload``.
        buckets: state groups per entity type; fixed for the life of a checkpoint.

    Returns:
        :data:`OUTPUT_SCHEMA` rows, one per (new transaction, entity).
    """
    return (
        with_bucket(long_df, buckets)
        .groupBy("entity", "bucket")
        .applyInPandasWithState(
            update_bucket,
            outputStructType=OUTPUT_SCHEMA,
            stateStructType=STATE_SCHEMA,
            outputMode="append",
            timeoutConf=GroupStateTimeout.NoTimeout,
        )
    )
