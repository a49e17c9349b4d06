"""The real-time first-warning path against the real Kafka, in Spark real-time mode."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from fraudstack.config import REPO_ROOT, Config
from fraudstack.features import WIDE_FEATURES
from fraudstack.scoring import load_policy
from storage.kafka_log import end_offsets, read_between
from streaming import control
from streaming.realtime import stateless
from tests.overlay import overlaid
from tests.polling import free_port, wait_for
from tests.streaming.test_job import produce, tx

RUN = uuid.uuid4().hex[:8]


def test_only_rules_without_history_run_in_real_time() -> None:
    policy = stateless(load_policy(REPO_ROOT / "config" / "rules.yaml"))
    codes = {rule.code for rule in policy.rules}
    assert {"LARGE_AMOUNT", "NEW_ACCOUNT_HIGH_VALUE", "RISKY_MERCHANT"} <= codes
    assert "CUSTOMER_VELOCITY_1H" not in codes
    assert not any(c in WIDE_FEATURES for rule in policy.rules for c, _, _ in rule.conditions)


@pytest.fixture(scope="module")
def realtime(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    root = f"/tests/realtime-{RUN}"
    settings = {
        "checkpoint_dir": f"{root}/checkpoints",
        "realtime": {"metrics_port": free_port(), "batch": "10 seconds"},
    }
    with overlaid(tmp_path_factory.mktemp("realtime"), root, {"streaming": settings}) as config:
        control.start(config, realtime=True)
        try:
            yield config
        finally:
            control.stop(config, realtime=True)


@pytest.mark.integration
@pytest.mark.spark
@pytest.mark.slow
def test_a_risky_transaction_is_warned_within_the_batch(realtime: Config) -> None:
    topic = realtime.raw["streaming"]["realtime"]["alerts_topic"]
    before = end_offsets(realtime.kafka_bootstrap, [topic])
    now = dt.datetime.now(dt.UTC)
    risky = tx(f"rt{RUN}", 1, now, "newbie", amount=900.0, account_age_days=3)
    quiet = tx(f"rt{RUN}", 2, now, "regular", amount=25.0)
    broken = {**tx(f"rt{RUN}", 3, now, "broken", amount=900.0), "currency": "XXX"}
    time.sleep(2)  # the first real-time batch has started reading
    produce(realtime, [(r["customer_id"], json.dumps(r).encode()) for r in (quiet, broken, risky)])
    sent_at = time.time()
    warnings: list[dict] = []

    def warned() -> bool:
        after = end_offsets(realtime.kafka_bootstrap, [topic])
        records = read_between(realtime.kafka_bootstrap, before, after)
        warnings[:] = [json.loads(r.value) for r in records]
        return any(w["transaction_id"] == risky["transaction_id"] for w in warnings)

    wait_for(warned, 60, "a first warning on the real-time topic")
    ours = {w["transaction_id"]: w for w in warnings if RUN in w["transaction_id"]}
    assert set(ours) == {risky["transaction_id"]}, "only the risky, valid one is warned"
    warning = ours[risky["transaction_id"]]
    assert {"NEW_ACCOUNT_HIGH_VALUE", "LARGE_AMOUNT"} <= set(warning["reasons"])
    assert warning["path"] == "realtime" and warning["decision"] in ("REVIEW", "BLOCK")
    # not a latency assertion (benchmarks measure that): it arrived inside the running batch
    assert time.time() - sent_at < 60
