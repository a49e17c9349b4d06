from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fraudstack.pii import ENV_KEY, Tokeniser, load_key


def test_tokens_are_stable_keyed_and_normalised() -> None:
    one, other = Tokeniser(b"k" * 32), Tokeniser(b"j" * 32)
    card = "4111 1111 1111 1111"
    assert one.token("card", card) == one.token("card", "4111111111111111")
    assert one.token("card", card) != other.token("card", card)
    assert one.token("card", card) != one.token("email", card)
    assert one.token("email", "A@Example.com") == one.token("email", "a@example.com")
    assert "4111" not in (one.token("card", card) or "")
    assert one.token("ip", None) is None


def test_a_key_file_is_created_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    key = load_key(tmp_path)
    assert len(key) == 64
    assert load_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secrets" / "pii.key").stat().st_mode) == 0o600
    monkeypatch.setenv(ENV_KEY, "x" * 20)
    assert load_key(tmp_path) == b"x" * 20


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Tokeniser(b"short")


def test_the_token_cache_returns_the_same_tokens_and_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("fraudstack.pii.CACHE_SIZE", 10)
    cached, fresh = Tokeniser(b"k" * 32), Tokeniser(b"k" * 32)
    values = [f"10.0.0.{n}" for n in range(25)] * 2
    assert [cached.token("ip", v) for v in values] == [
        Tokeniser(b"k" * 32).token("ip", v) for v in values
    ]
    assert cached.token("card", "10.0.0.1") != fresh.token("ip", "10.0.0.1")  # kind is in the key
    assert len(cached._cache) <= 10


RAW_PAYLOAD = (
    '{"transaction_id": "tx-00ab12", "event_time": "2026-12-03T10:15:00Z", "amount": 42.5,'
    ' "email": "Jane.Doe+shop@mail.example.co.uk", "ip": "203.0.113.77",'
    ' "card_number": "4111 1111-1111 1111", "card": "5500000000000004",'
    ' "customer_id": "c-0001234", "quantity": 3, "ts": 1764756900}'
)


def test_redact_masks_personal_data_and_keeps_the_rest() -> None:
    from fraudstack.pii import redact

    text = redact(RAW_PAYLOAD)
    for raw in ("Jane.Doe", "203.0.113.77", "4111", "5500000000000004"):
        assert raw not in text
    assert text.count("<email>") == 1 and text.count("<ip>") == 1 and text.count("<card>") == 2
    for kept in ('"tx-00ab12"', "2026-12-03T10:15:00Z", "42.5", '"c-0001234"', "1764756900"):
        assert kept in text


@pytest.mark.spark
def test_the_spark_form_redacts_alike(spark) -> None:
    from fraudstack.pii import redact, redacted_column

    samples = [RAW_PAYLOAD, "no personal data here", "", "a@b.co 10.0.0.1 4111111111111111"]
    df = spark.createDataFrame([(s,) for s in samples], "text string")
    from pyspark.sql import functions as F

    got = [r[0] for r in df.select(redacted_column(F.col("text"))).collect()]
    assert got == [redact(s) for s in samples]


@pytest.mark.spark
def test_redaction_scans_long_refused_payloads_in_linear_time(spark) -> None:
    """A 500 KB run of letters took the first patterns quadratic time (minutes, in Java
    too, which also overflowed its stack on repeated groups): the quarantine stalled."""
    from pyspark.sql import functions as F

    from fraudstack.pii import redact, redacted_column

    runs = ["d" * 500_000, "a." * 200_000, "1-" * 200_000, "x@" * 100_000]
    df = spark.createDataFrame([(s,) for s in runs], "text string")
    masked = [row[0] for row in df.select(redacted_column(F.col("text"))).collect()]
    assert masked[:2] == runs[:2]
    assert [redact(s) for s in runs] == masked
