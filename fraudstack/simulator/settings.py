"""What the simulator generates, and how much of each thing. Defaults follow seed 003."""

from __future__ import annotations

from dataclasses import dataclass, field

SCENARIOS = (
    "card_testing",
    "account_takeover",
    "velocity_burst",
    "compromised_merchant",
    "new_customer_high_value",
    "shared_ring",
    "impossible_travel",
)


def default_scenario_rates() -> dict[str, float]:
    """Share of all transactions that are fraud of each scenario (about 2% in total)."""
    return {
        "card_testing": 0.004,
        "account_takeover": 0.003,
        "velocity_burst": 0.003,
        "compromised_merchant": 0.003,
        "new_customer_high_value": 0.002,
        "shared_ring": 0.003,
        "impossible_travel": 0.002,
    }


@dataclass(frozen=True)
class FaultRates:
    """Data-quality faults injected into the stream (shares of transactions)."""

    missing: float = 0.05  # a nullable field set to null
    duplicate: float = 0.01  # the same event sent twice
    outlier: float = 0.02  # an amount 20x-200x the usual
    malformed: float = 0.002  # broken JSON or a wrong type: must be rejected


@dataclass(frozen=True)
class ChargebackSettings:
    """How labels arrive: most fraud is disputed, days later; a few legit sales too."""

    fraud_dispute_rate: float = 0.9
    false_chargeback_rate: float = 0.001
    delay_median_days: float = 7.0
    delay_sigma: float = 0.6  # lognormal spread
    max_delay_days: float = 60.0


@dataclass(frozen=True)
class OrderSettings:
    """Orders and stock behind the sales (``order_status`` and ``inventory`` events).

    Off by default: the transactions and chargebacks of a seed are the same either way.
    """

    enabled: bool = False
    cancel_rate: float = 0.02  # cancelled after confirmation, never paid
    refund_rate: float = 0.02  # refunded after delivery
    fraud_refund_rate: float = 0.5  # fraud is often refunded (the chargeback's money back)
    invalid_transition_rate: float = 0.005  # bad input: delivered without being shipped
    products_per_merchant: int = 8
    initial_stock: tuple[int, int] = (30, 250)
    reorder_point: int = 10  # a restock is ordered when stock falls to this
    restock_lead_hours: tuple[float, float] = (6.0, 72.0)  # long leads: occasional stock-outs
    restock_units: tuple[int, int] = (50, 300)


@dataclass(frozen=True)
class SimulatorSettings:
    """Everything that shapes the generated marketplace; same settings + seed = same data."""

    seed: int = 7
    customers: int = 5_000
    merchants: int = 300
    transactions_per_day: int = 20_000
    scenario_rates: dict[str, float] = field(default_factory=default_scenario_rates)
    faults: FaultRates = field(default_factory=FaultRates)
    chargebacks: ChargebackSettings = field(default_factory=ChargebackSettings)
    orders: OrderSettings = field(default_factory=OrderSettings)

    def __post_init__(self) -> None:
        unknown = set(self.scenario_rates) - set(SCENARIOS)
        if unknown:
            raise ValueError(f"unknown scenario(s) {sorted(unknown)}; known: {SCENARIOS}")
        if sum(self.scenario_rates.values()) >= 0.5:
            raise ValueError("scenario rates must add up to less than 0.5")
