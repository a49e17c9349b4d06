"""The order lifecycle: which status may follow which, shared by the speed and batch layers.

An order is ``created``, ``confirmed``, ``paid``, ``shipped`` and ``delivered``; it can be
``cancelled`` before it ships and ``refunded`` once paid. ``cancelled`` and ``refunded``
end it. A status change that skips a step (``delivered`` straight after ``paid``) or
goes back (``paid`` after ``shipped``) is an invalid transition: kept in the history,
flagged with the reason.
"""

from __future__ import annotations

from fraudstack.events import ORDER_STATUSES

TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"paid", "cancelled"}),
    "paid": frozenset({"shipped", "cancelled", "refunded"}),
    "shipped": frozenset({"delivered", "refunded"}),
    "delivered": frozenset({"refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
assert set(TRANSITIONS) == ORDER_STATUSES
FIRST_STATUS = "created"
FINAL_STATUSES = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)
# the happy path, in order: what the simulator walks and the funnel counts
LIFECYCLE = ("created", "confirmed", "paid", "shipped", "delivered")


def transition_problem(previous: str | None, status: str) -> str | None:
    """Why ``previous`` → ``status`` is not a valid transition, or None.

    Args:
        previous: the order's status before this change; None for the first change seen.
        status: the status the order entered.
    """
    if previous is None:
        return None if status == FIRST_STATUS else f"first status {status}, expected created"
    if status in TRANSITIONS[previous]:
        return None
    allowed = ", ".join(sorted(TRANSITIONS[previous])) or "nothing (final)"
    return f"{status} after {previous} (allowed: {allowed})"
