"""Keyed hashing of personal data (card number, email, IP) before it leaves the producer.

A token is ``HMAC-SHA256(key, kind + ":" + normalised value)``, truncated to 32 hex
characters: the same card always yields the same token (so velocity per card and
device rings still work), but without the key a token cannot be linked back to the
card, not even by hashing every possible card number.

The key comes from ``FRAUDSTACK_PII_KEY`` (hex or any string), or else from
``<home>/secrets/pii.key``, created once with 32 random bytes and mode 600. Keep it
out of git; rotating it changes every token (profiles restart from scratch).

Records the contract refuses were never tokenised: :func:`redact` (and its Spark form
:func:`redacted_column`) masks what looks like personal data before such a payload is
kept anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

ENV_KEY = "FRAUDSTACK_PII_KEY"
CACHE_SIZE = 500_000  # tokens remembered per process (memory stays bounded)


def load_key(home: Path) -> bytes:
    """The tokenisation key: from the environment, else the home's key file (created once)."""
    from_env = os.environ.get(ENV_KEY)
    if from_env:
        return from_env.encode()
    path = home / "secrets" / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class Tokeniser:
    """Turns personal values into stable, keyed tokens."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the PII key must be at least 16 bytes")
        self._key = key
        # customers reuse their cards, emails and IPs: hash each value once per process
        self._cache: dict[tuple[str, str], str] = {}

    def token(self, kind: str, value: str | None) -> str | None:
        """Token for ``value`` of the given kind (``card``, ``email``, ``ip``); None stays None."""
        if value is None:
            return None
        cached = self._cache.get((kind, value))
        if cached is not None:
            return cached
        normalised = "".join(value.split()).lower()
        digest = hmac.new(self._key, f"{kind}:{normalised}".encode(), hashlib.sha256)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        token = self._cache[(kind, value)] = digest.hexdigest()[:32]
        return token


# What personal data looks like in free text (a rejected payload, a log line): regular
# expressions that Python's `re` and Java's (Spark's regexp_replace) read alike.
REDACT_PATTERNS = {
    # Every repetition is bounded and every pattern starts where its first character cannot
    # continue a longer run (a lookbehind): each position costs a bounded number of steps,
    # so a refused 1 MB payload is scanned in linear time (an unbounded `[...]+@` is
    # quadratic on a long run of letters, and Java's regex recurses per repeated group).
    "email": r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}"
    r"(?:\.[A-Za-z0-9-]{1,63}){1,8}",
    "ip": r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9.])",
    # 12-19 digits, any grouping, standing alone: not a run inside a hex token or an id
    "card": r"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){11,18}(?![0-9A-Za-z])",
}


def redact(text: str) -> str:
    """``text`` with every email, IPv4 address and card-number-like run replaced by
    ``<email>``, ``<ip>`` or ``<card>``: for what is kept of records the contract refused,
    whose personal fields were never tokenised."""
    for kind, pattern in REDACT_PATTERNS.items():
        text = re.sub(pattern, f"<{kind}>", text)
    return text


def redacted_column(column: Column) -> Column:
    """The Spark column expression of :func:`redact` over a string column."""
    from pyspark.sql import functions as F

    for kind, pattern in REDACT_PATTERNS.items():
        column = F.regexp_replace(column, pattern, f"<{kind}>")
    return column
