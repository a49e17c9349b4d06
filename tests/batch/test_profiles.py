"""Entity profiles: windows over the days before, and labels only once they were filed."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from batch.profiles import (
    PROFILE_METRICS,
    daily_activity,
    day_number,
    latest_queries,
    profiles_as_of,
)

pytestmark = pytest.mark.spark

DAY1 = dt.date(2026, 10, 1)
TX_COLUMNS = (
    "transaction_id string, event_date string, customer_id string, card_token string, "
    "merchant_id string, device_id string, ip_token string, amount_usd double, country string"
)


def on(day: int) -> str:
    return str(DAY1 + dt.timedelta(days=day - 1))


@pytest.fixture(scope="module")
def daily(spark):
    tx = spark.createDataFrame(
        [
            ("t1", on(1), "c1", "k1", "m1", "d1", "i1", 10.0, "US"),
            ("t2", on(2), "c1", None, "m1", "d2", "i1", 20.0, "FR"),
            ("t3", on(5), "c1", "k1", "m2", "d1", None, 30.0, None),
            ("t4", on(2), "c2", "k2", "m1", None, "i2", 99.0, "US"),
        ],
        TX_COLUMNS,
    )
    # t1 turns out to be fraud: charged back on day 3; a non-fraud row is not a label here
    chargebacks = spark.createDataFrame(
        [("t1", dt.datetime.strptime(on(3), "%Y-%m-%d").date())],
        "transaction_id string, filed_date date",
    )
    return daily_activity(tx, chargebacks).cache()


def profile(spark, daily, entity: str, key: str, day: int) -> dict:
    queries = spark.createDataFrame(
        [(entity, key, on(day))], "entity string, entity_key string, d string"
    )
    rows = profiles_as_of(
        daily, queries.select("entity", "entity_key", day_number(F.col("d")).alias("day"))
    ).collect()
    assert len(rows) == 1
    return rows[0].asDict()


def test_a_profile_sums_the_days_before_only(spark, daily) -> None:
    p = profile(spark, daily, "customer", "c1", 2)
    assert (p["tx_count_1d"], p["amount_usd_1d"], p["countries_1d"]) == (1, 10.0, 1)
    p = profile(spark, daily, "customer", "c1", 4)
    assert (p["tx_count_1d"], p["tx_count_7d"]) == (0, 2)
    assert p["avg_amount_usd_7d"] == 15.0 and p["std_amount_usd_7d"] == 5.0
    assert (p["countries_7d"], p["devices_7d"]) == (2, 2)
    assert p["avg_amount_usd_1d"] is None and p["std_amount_usd_1d"] is None
    p = profile(spark, daily, "customer", "c1", 1)
    assert p["tx_count_30d"] == 0 and p["chargeback_rate_30d"] is None


def test_a_chargeback_counts_only_from_the_day_after_it_was_filed(spark, daily) -> None:
    before = profile(spark, daily, "customer", "c1", 3)
    assert before["chargebacks_30d"] == 0
    after = profile(spark, daily, "customer", "c1", 4)
    assert after["chargebacks_30d"] == 1 and after["chargebacks_1d"] == 1
    assert after["chargeback_rate_30d"] == 0.5
    merchant = profile(spark, daily, "merchant", "m1", 4)
    assert (merchant["tx_count_30d"], merchant["chargebacks_30d"]) == (3, 1)
    card = profile(spark, daily, "card", "k1", 6)
    assert (card["tx_count_30d"], card["chargebacks_30d"]) == (2, 1)


def test_missing_keys_make_no_profile_and_windows_end(spark, daily) -> None:
    keys = {
        (r.entity, r.entity_key) for r in daily.select("entity", "entity_key").distinct().collect()
    }
    assert ("card", None) not in keys and ("device", None) not in keys and ("ip", None) not in keys
    assert profile(spark, daily, "customer", "c2", 40)["tx_count_30d"] == 0


def test_latest_profiles_cover_everyone_active_in_the_last_30_days(spark, daily) -> None:
    as_of = (DAY1 - dt.date(1970, 1, 1)).days + 5  # day 6
    latest = profiles_as_of(daily, latest_queries(daily, as_of))
    assert set(latest.columns) == {"entity", "entity_key", "profile_date", *PROFILE_METRICS}
    rows = {(r.entity, r.entity_key): r for r in latest.collect()}
    assert {k for k in rows if k[0] == "customer"} == {("customer", "c1"), ("customer", "c2")}
    assert rows[("customer", "c1")].tx_count_7d == 3
    assert str(rows[("customer", "c1")].profile_date) == on(6)
