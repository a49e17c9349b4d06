"""Event contracts: the one definition of every event that enters fraudstack.

Events travel as JSON objects, one per Kafka message, with a ``schema_version``.
:func:`validate` is the single validation used by the producer, the speed layer
and the batch layer; it returns the reason a record is invalid, or None.

Sensitive fields never travel in clear: the producer replaces the card number,
the email address and the IP address with keyed hashes (:mod:`fraudstack.pii`)
in ``card_token``, ``email_token`` and ``ip_token``. Ground truth (is it fraud,
which scenario) is not part of a transaction: it arrives later as a chargeback.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column
from pyspark.sql import types as T

SCHEMA_VERSION = 1
MAX_AMOUNT = 1_000_000.0
MAX_RECORD_BYTES = 16 * 1024  # a transaction is about 600 bytes on the wire
MAX_TEXT = 256  # characters in any string field
# Event times outside these bounds are refused everywhere (a fixed window, so the batch
# layer's re-run over history gives the same answer every time); the speed layer and the
# producer also refuse times more than MAX_CLOCK_SKEW after the record was received.
EARLIEST_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
MAX_CLOCK_SKEW = dt.timedelta(days=1)
_OUTSIDE = f" outside {EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d}"

CURRENCIES = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "BRL", "INR", "MXN", "SGD"})
PAYMENT_METHODS = frozenset({"card", "wallet", "bank_transfer", "bnpl"})
CHANNELS = frozenset({"web", "mobile_app", "marketplace_api"})
CATEGORIES = frozenset(
    {
        "electronics", "fashion", "grocery", "home", "beauty", "sports",
        "toys", "books", "digital_goods", "travel", "jewelry",
    }
)  # fmt: skip
CHARGEBACK_REASONS = frozenset(
    {
        "fraud_card_not_present", "fraud_account_takeover", "fraud_merchant_compromise",
        "merchandise_not_received", "not_as_described", "duplicate_charge",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One field of an event: JSON type, whether it may be null, allowed values or range."""

    name: str
    kind: str  # str | int | float | time
    required: bool = True
    allowed: frozenset[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    sensitive: bool = False  # a keyed-hash token of a personal value
    doc: str = ""


TRANSACTION_FIELDS: tuple[Field, ...] = (
    Field("schema_version", "int", doc="contract version, 1"),
    Field("transaction_id", "str", doc="unique id; the deduplication key"),
    Field("event_time", "time", doc="when the payment was attempted (ISO-8601, UTC)"),
    Field("customer_id", "str", doc="the buyer's account; the Kafka key"),
    Field("merchant_id", "str", doc="the seller"),
    Field("amount", "float", minimum=0.01, maximum=MAX_AMOUNT, doc="in `currency`"),
    Field("currency", "str", allowed=CURRENCIES, doc="ISO 4217"),
    Field("payment_method", "str", allowed=PAYMENT_METHODS),
    Field("card_token", "str", required=False, sensitive=True, doc="keyed hash of the card number"),
    Field("email_token", "str", required=False, sensitive=True, doc="keyed hash of the email"),
    Field("ip_token", "str", required=False, sensitive=True, doc="keyed hash of the IP address"),
    Field("device_id", "str", required=False, doc="device fingerprint"),
    Field("category", "str", required=False, allowed=CATEGORIES, doc="product category"),
    Field("quantity", "int", required=False, minimum=1, maximum=10_000),
    Field("channel", "str", required=False, allowed=CHANNELS),
    Field("country", "str", required=False, doc="ISO 3166 alpha-2 of the IP's location"),
    Field("lat", "float", required=False, minimum=-90, maximum=90, doc="IP geolocation"),
    Field("lon", "float", required=False, minimum=-180, maximum=180, doc="IP geolocation"),
    Field(
        "account_age_days",
        "int",
        required=False,
        minimum=0,
        maximum=36_500,
        doc="customer account age (at most 100 years: every int fits the Spark schema)",
    ),
)

CHARGEBACK_FIELDS: tuple[Field, ...] = (
    Field("schema_version", "int"),
    Field("chargeback_id", "str"),
    Field("transaction_id", "str", doc="the disputed transaction"),
    Field("customer_id", "str"),
    Field("merchant_id", "str"),
    Field("event_time", "time", doc="when the chargeback was filed (days after the payment)"),
    Field("transaction_time", "time", doc="event_time of the disputed transaction"),
    Field("amount", "float", minimum=0.01, maximum=MAX_AMOUNT),
    Field("currency", "str", allowed=CURRENCIES),
    Field("reason", "str", allowed=CHARGEBACK_REASONS),
    Field("is_fraud", "bool", doc="false for a dispute that is not fraud (a false chargeback)"),
)

# An order's lifecycle; which status may follow which is fraudstack.orders.TRANSITIONS.
ORDER_STATUSES = frozenset(
    {"created", "confirmed", "paid", "shipped", "delivered", "cancelled", "refunded"}
)
INVENTORY_CHANGES = frozenset({"sale", "restock", "adjustment"})
MAX_STOCK = 10_000_000  # units of one product; every level fits the Spark schema's 32 bits

ORDER_STATUS_FIELDS: tuple[Field, ...] = (
    Field("schema_version", "int"),
    Field("event_id", "str", doc="unique id of this status change; the deduplication key"),
    Field("order_id", "str", doc="the order; the Kafka key (one order, one partition, in order)"),
    Field("customer_id", "str", doc="the buyer"),
    Field("status", "str", allowed=ORDER_STATUSES, doc="the status the order entered"),
    Field("event_time", "time", doc="when the order entered `status` (ISO-8601, UTC)"),
    Field("transaction_id", "str", required=False, doc="the payment behind the order"),
    Field("merchant_id", "str", required=False, doc="the seller"),
    Field("product_id", "str", required=False, doc="what was ordered"),
    Field("quantity", "int", required=False, minimum=1, maximum=10_000),
    Field("amount", "float", required=False, minimum=0.01, maximum=MAX_AMOUNT),
    Field("currency", "str", required=False, allowed=CURRENCIES),
)

INVENTORY_FIELDS: tuple[Field, ...] = (
    Field("schema_version", "int"),
    Field("event_id", "str", doc="unique id of this stock change; the deduplication key"),
    Field("product_id", "str", doc="the product; the Kafka key"),
    Field("event_time", "time", doc="when the stock changed (ISO-8601, UTC)"),
    Field("change_type", "str", allowed=INVENTORY_CHANGES, doc="a sale, a restock or a count"),
    Field(
        "quantity_change",
        "int",
        minimum=-MAX_STOCK,
        maximum=MAX_STOCK,
        doc="units added (restock) or removed (sale: negative)",
    ),
    Field("stock_level", "int", minimum=0, maximum=MAX_STOCK, doc="units in stock afterwards"),
    Field("merchant_id", "str", required=False, doc="the seller holding the stock"),
    Field("category", "str", required=False, allowed=CATEGORIES, doc="product category"),
    Field("order_id", "str", required=False, doc="the order of a sale"),
)

# the Kafka topic (and master-dataset folder) of each event type
EVENT_TOPICS: dict[str, str] = {
    "transaction": "transactions",
    "chargeback": "chargebacks",
    "order_status": "order_status",
    "inventory": "inventory",
}

CONTRACTS: dict[str, tuple[Field, ...]] = {
    "transaction": TRANSACTION_FIELDS,
    "chargeback": CHARGEBACK_FIELDS,
    "order_status": ORDER_STATUS_FIELDS,
    "inventory": INVENTORY_FIELDS,
}

_SPARK_TYPES: dict[str, T.DataType] = {
    "str": T.StringType(),
    "int": T.IntegerType(),
    "float": T.DoubleType(),
    "time": T.TimestampType(),
    "bool": T.BooleanType(),
}


def spark_schema(event_type: str) -> T.StructType:
    """The explicit Spark schema of an event (timestamps parsed from ISO-8601)."""
    return T.StructType(
        [
            T.StructField(f.name, _SPARK_TYPES[f.kind], nullable=not f.required)
            for f in CONTRACTS[event_type]
        ]
    )


TRANSACTION_SCHEMA = spark_schema("transaction")
CHARGEBACK_SCHEMA = spark_schema("chargeback")
ORDER_STATUS_SCHEMA = spark_schema("order_status")
INVENTORY_SCHEMA = spark_schema("inventory")


def format_time(moment: dt.datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a Z, the only time format on the wire."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> dt.datetime:
    """Parse a wire timestamp; it must carry a timezone."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp without a timezone")
    return moment


def _is_unicode(text: str) -> bool:
    """No lone surrogate: JSON's ``\\ud800`` escape, or CESU bytes the JSON decoder lets
    through, would pass as text and then fail in Spark or the Cassandra driver."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
}  # fmt: skip
Check = Callable[[Any], "str | None"]


def _compile(field: Field) -> Check:
    """A checker for one field: why a value does not fit ``field``, or None.

    Built once per field so that validating a record costs a few attribute-free
    comparisons per field (the producer validates every record it sends).
    """
    name, kind, required = field.name, field.kind, field.required
    allowed, low, high = field.allowed, field.minimum, field.maximum
    expected = _TYPES.get(kind, (str,))

    def check(value: Any) -> str | None:
        if value is None:
            return f"missing required field {name}" if required else None
        if kind == "time":
            if not isinstance(value, str):
                return f"{name}: expected an ISO-8601 string, got {type(value).__name__}"
            if len(value) > 40:
                return f"{name}: not a timestamp (longer than 40 characters)"
            try:
                moment = parse_time(value)
            except ValueError as exc:
                return f"{name}: not a timestamp ({exc})"
            if not EARLIEST_TIME <= moment < LATEST_TIME:
                return f"{name}: {value}{_OUTSIDE}"
            return None
        wrong_type = not isinstance(value, expected) or (kind != "bool" and isinstance(value, bool))
        if wrong_type:  # (a separate flag keeps mypy from narrowing value to object)
            return f"{name}: expected {kind}, got {type(value).__name__}"
        if kind == "str":
            if not value.strip():
                return f"{name}: empty string"
            if len(value) > MAX_TEXT:
                return f"{name}: {len(value)} characters, more than {MAX_TEXT}"
            if not value.isascii() and not _is_unicode(value):
                return f"{name}: not valid Unicode (a lone surrogate)"
        if kind == "float" and not math.isfinite(value):  # JSON's NaN / Infinity extensions
            return f"{name}: not a finite number"
        if allowed is not None and value not in allowed:
            return f"{name}: unknown value {value!r}"
        if low is not None and value < low:
            return f"{name}: {value} below minimum {low:g}"
        if high is not None and value > high:
            return f"{name}: {value} above maximum {high:g}"
        return None

    return check


_CHECKS: dict[str, tuple[tuple[str, Check], ...]] = {
    event: tuple((f.name, _compile(f)) for f in fields) for event, fields in CONTRACTS.items()
}
_NAMES: dict[str, frozenset[str]] = {
    event: frozenset(f.name for f in fields) for event, fields in CONTRACTS.items()
}


def validate(
    record: bytes | str | dict[str, Any],
    event_type: str = "transaction",
    received_at: dt.datetime | None = None,
) -> str | None:
    """Check one record against its contract.

    Args:
        record: the raw Kafka value (bytes or str, parsed as JSON) or a parsed object.
        event_type: a key of :data:`CONTRACTS` (``transaction``, ``chargeback``,
            ``order_status``, ``inventory``).
        received_at: when the record arrived (the producer's clock, or the Kafka record's
            timestamp); given, an ``event_time`` more than :data:`MAX_CLOCK_SKEW` later is
            refused. The batch layer, re-reading history, leaves it out.

    Returns:
        None when valid, else the first reason it is not.
    """
    if isinstance(record, bytes | str):
        size = len(record.encode() if isinstance(record, str) else record)
        if size > MAX_RECORD_BYTES:
            return f"record of {size} bytes, more than {MAX_RECORD_BYTES}"
        try:
            record = json.loads(record)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"malformed JSON: {exc}"
        except RecursionError:
            return "malformed JSON: nested too deeply"
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if record.get("schema_version") != SCHEMA_VERSION:
        return f"unsupported schema_version {_shorten(record.get('schema_version'))}"
    unknown = record.keys() - _NAMES[event_type]
    if unknown:
        return f"unknown field(s) {_shorten(sorted(unknown))}"
    get = record.get
    for name, check in _CHECKS[event_type]:
        reason = check(get(name))
        if reason:
            return reason
    if received_at is not None:
        latest = received_at + MAX_CLOCK_SKEW
        if parse_time(record["event_time"]) > latest:
            return (
                f"event_time: {record['event_time']} is more than {MAX_CLOCK_SKEW.days} day "
                f"after it was received ({format_time(received_at)})"
            )
    return None


def _shorten(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a reason never carries a whole payload)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _is_finite(column: Column) -> Column:
    """Not NaN and not +/-Infinity (Spark parses JSON's NaN and Infinity into doubles)."""
    from pyspark.sql import functions as F

    as_double = column.cast("double")
    return ~F.isnan(as_double) & (F.abs(as_double) != F.lit(float("inf")))


def _in_time_bounds(moment: Column) -> Column:
    """Within [EARLIEST_TIME, LATEST_TIME) (null for a null timestamp)."""
    from pyspark.sql import functions as F

    return (moment >= F.lit(EARLIEST_TIME)) & (moment < F.lit(LATEST_TIME))


def is_valid_column(event_type: str = "transaction") -> Column:
    """The contract as one Spark boolean over the columns ``from_json`` parsed.

    For paths that cannot call Python (Spark's real-time mode): required fields
    present, allowed values, ranges, schema version. Wrongly typed JSON values
    parse as null and so fail "required"; a wrongly typed optional field parses as
    null and passes, which :func:`validate` would reject, so this is the looser of
    the two. The exact reasons come from :func:`validate` on the quarantine path.
    """
    from pyspark.sql import functions as F

    checks = [F.col("schema_version") == SCHEMA_VERSION]
    for field in CONTRACTS[event_type]:
        column = F.col(field.name)
        if field.required:
            checks.append(column.isNotNull())
        if field.kind == "float":
            checks.append(column.isNull() | _is_finite(column))
        if field.kind == "time":
            checks.append(column.isNull() | _in_time_bounds(column))
        if field.kind == "str":
            checks.append(column.isNull() | (F.length(column) <= MAX_TEXT))
        if field.allowed is not None:
            checks.append(column.isNull() | column.isin(*sorted(field.allowed)))
        if field.minimum is not None:
            checks.append(column.isNull() | (column >= field.minimum))
        if field.maximum is not None:
            checks.append(column.isNull() | (column <= field.maximum))
    valid = checks[0]
    for check in checks[1:]:
        valid = valid & check
    return F.coalesce(valid, F.lit(False))


def rejection_reason_column(event_type: str = "transaction") -> Column:
    """The contract as one Spark string column: the reason, in :func:`validate`'s words, that
    a row breaks it, or null.

    For rows already typed by a schema (the master dataset's Parquet), where JSON-level
    faults (malformed JSON, wrong JSON types, unknown fields) cannot occur any more.
    Time fields may be ISO-8601 strings or timestamps.
    """
    from pyspark.sql import functions as F

    version = F.col("schema_version")
    reasons = [
        F.when(
            version.isNull() | (version != SCHEMA_VERSION),
            F.concat(
                F.lit("unsupported schema_version "),
                F.coalesce(version.cast("string"), F.lit("None")),
            ),
        )
    ]
    for field in CONTRACTS[event_type]:
        name, column = field.name, F.col(field.name)
        present = column.isNotNull()
        if field.required:
            reasons.append(F.when(~present, F.lit(f"missing required field {name}")))
        if field.kind == "time":
            parsed = column.cast("string").try_cast("timestamp")
            reasons.append(F.when(present & parsed.isNull(), F.lit(f"{name}: not a timestamp")))
            reasons.append(
                F.when(
                    ~_in_time_bounds(parsed),
                    F.concat(F.lit(f"{name}: "), column.cast("string"), F.lit(_OUTSIDE)),
                )
            )
        if field.kind == "str":
            reasons.append(F.when(present & (F.trim(column) == ""), F.lit(f"{name}: empty string")))
            reasons.append(
                F.when(
                    F.length(column) > MAX_TEXT,
                    F.concat(
                        F.lit(f"{name}: "),
                        F.length(column).cast("string"),
                        F.lit(f" characters, more than {MAX_TEXT}"),
                    ),
                )
            )
        if field.kind == "float":
            finite = _is_finite(column)
            reasons.append(F.when(present & ~finite, F.lit(f"{name}: not a finite number")))
        if field.allowed is not None:
            unknown = present & ~column.isin(*sorted(field.allowed))
            reasons.append(
                F.when(unknown, F.concat(F.lit(f"{name}: unknown value '"), column, F.lit("'")))
            )
        text = column.cast("string")
        if field.minimum is not None:
            low = present & (column < field.minimum)
            reasons.append(
                F.when(
                    low,
                    F.concat(F.lit(f"{name}: "), text, F.lit(f" below minimum {field.minimum:g}")),
                )
            )
        if field.maximum is not None:
            high = present & (column > field.maximum)
            reasons.append(
                F.when(
                    high,
                    F.concat(F.lit(f"{name}: "), text, F.lit(f" above maximum {field.maximum:g}")),
                )
            )
    return F.coalesce(*reasons)
