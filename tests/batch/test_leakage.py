"""No peeking: a training row is the same whether or not the future exists.

The training set of a history cut at a moment T is computed twice: from the events
and chargebacks before T only, and from the whole history (events after T, and
chargebacks filed after T, including for transactions before T). Every feature of
every transaction before T must come out identical: nothing after a transaction's
own time (velocity features) or after the start of its day (profiles, labels)
reaches it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from batch.labels import with_labels
from batch.model_job import build_dataset
from fraudstack.config import Config
from fraudstack.events import CHARGEBACK_SCHEMA, TRANSACTION_SCHEMA
from fraudstack.features import with_amount_usd
from fraudstack.scoring import MODEL_FEATURES
from fraudstack.simulator.run import wire_history
from fraudstack.simulator.settings import ChargebackSettings, FaultRates, SimulatorSettings

pytestmark = [pytest.mark.spark, pytest.mark.slow]
START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
CUT = START + dt.timedelta(days=4, hours=13)


@pytest.fixture(scope="module")
def history(spark, config: Config):
    # quick chargebacks, so that many are filed around the cut
    settings = SimulatorSettings(
        seed=21, customers=400, merchants=40, transactions_per_day=1500,
        faults=FaultRates(0, 0, 0, 0),
        chargebacks=ChargebackSettings(delay_median_days=1.5, delay_sigma=0.5),
    )  # fmt: skip
    records = {"transactions": [], "chargebacks": []}
    for record in wire_history(config, settings, START, 6):
        records[record.topic].append(json.loads(record.value))

    def frame(rows, schema):
        raw = spark.createDataFrame([(json.dumps(r),) for r in rows], "value string")
        return raw.select(F.from_json("value", schema).alias("e")).select("e.*")

    tx = with_amount_usd(frame(records["transactions"], TRANSACTION_SCHEMA)).withColumn(
        "event_date", F.date_format("event_time", "yyyy-MM-dd")
    )
    return tx, frame(records["chargebacks"], CHARGEBACK_SCHEMA)


def dataset(tx, chargebacks):
    return {
        r.transaction_id: r.asDict()
        for r in build_dataset(with_labels(tx, chargebacks), chargebacks).collect()
    }


def test_no_feature_of_a_transaction_sees_anything_after_it(history) -> None:
    tx, chargebacks = history
    before = F.col("event_time") < F.lit(CUT)
    assert chargebacks.where(~before).join(tx.where(before), "transaction_id").count() > 0, (
        "the history must hold labels filed after the cut for transactions before it"
    )
    past_only = dataset(tx.where(before), chargebacks.where(before))
    everything = dataset(tx, chargebacks)
    assert len(past_only) > 5_000
    changed = {
        name
        for tx_id, row in past_only.items()
        for name in MODEL_FEATURES
        if everything[tx_id][name] != row[name]
    }
    assert changed == set(), f"features that saw the future: {sorted(changed)}"
    # the profile enrichment is not vacuous: chargeback history shows up in it
    assert any(row["customer_chargebacks_30d"] for row in past_only.values())
