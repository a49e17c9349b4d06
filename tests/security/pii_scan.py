"""Find known raw personal values (card numbers, emails, IPs) in stored bytes.

Rather than searching every stored byte for each of hundreds of values, every piece
of text shaped like an email, an IPv4 address or a card number is pulled out and
looked up in the set of raw values. Base64 runs (a dead letter's ``raw_base64``)
are decoded and searched too, so encoding a payload does not hide it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

_SHAPES = re.compile(
    rb"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # email
    rb"|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"  # IPv4
    rb"|(?<!\d)\d{12,19}(?!\d)"  # card number (any run of 12-19 digits)
)
_BASE64 = re.compile(rb"[A-Za-z0-9+/]{24,}={0,2}")


def raw_values_in(data: bytes, raw: set[str]) -> set[str]:
    """The members of ``raw`` that occur in ``data``, as text or base64-encoded."""
    found = {m.decode() for m in _SHAPES.findall(data)} & raw
    for run in _BASE64.findall(data):
        try:
            decoded = base64.b64decode(run + b"=" * (-len(run) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        found |= {m.decode(errors="replace") for m in _SHAPES.findall(decoded)} & raw
    return found


def leaks(places: Iterable[tuple[str, bytes]], raw: set[str]) -> dict[str, set[str]]:
    """Where (by name) which raw values were found; empty when nothing leaked."""
    found = {}
    for where, data in places:
        values = raw_values_in(data, raw)
        if values:
            found[where] = found.get(where, set()) | values
    return found
