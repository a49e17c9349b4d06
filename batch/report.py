"""The model report on a terminal: split, test metrics per scorer, scenarios,
calibration, rules, and the promotion decision."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=True)

HEADLINE = (
    "auc_roc",
    "average_precision",
    "precision_review",
    "recall_review",
    "precision_block",
    "recall_block",
    "card_precision_at_100",
)


def print_report(report: dict[str, Any]) -> None:
    """The evaluation as tables: the split, each scorer's test metrics, the decision."""
    split = ", ".join(f"{name} {a}..{b}" for name, (a, b) in report["split"].items())
    sizes = ", ".join(
        f"{name} {s['transactions']:,} ({s['frauds']:,} fraud)"
        for name, s in report["sizes"].items()
    )
    console.print(f"[bold]data[/bold] {report['data'][0]}..{report['data'][1]}; {split}")
    kept = report.get("train_legitimate_fraction", 1.0)
    if kept < 1.0:
        sizes += f"; the trees saw {kept:.1%} of train's legitimate transactions (every fraud)"
    console.print(f"[bold]sizes[/bold] {sizes}")
    test = report["test"]
    table = Table(
        title=f"test period: {test['transactions']:,} transactions, {test['frauds']:,} fraud"
    )
    table.add_column("scorer")
    for metric in HEADLINE:
        table.add_column(metric, justify="right")
    for scorer in ("rules", "model", "combined"):
        table.add_row(scorer, *[f"{test[scorer][m]:.3f}" for m in HEADLINE])
    console.print(table)
    scenarios = Table(title="recall at REVIEW per fraud scenario (test)")
    scenarios.add_column("scenario")
    for scorer in ("rules", "model", "combined"):
        scenarios.add_column(scorer, justify="right")
    for name in sorted(test["combined"]["recall_review_by_scenario"]):
        scenarios.add_row(
            name,
            *[
                f"{test[s]['recall_review_by_scenario'].get(name, 0):.3f}"
                for s in ("rules", "model", "combined")
            ],
        )
    console.print(scenarios)
    calibration = test["calibration"]
    console.print(f"[bold]calibration[/bold] Brier {calibration['brier']}; reliability:")
    for row in calibration["reliability"]:
        low, count = row["bin"] / 10, row["transactions"]
        console.print(
            f"  p in [{low:.1f}, {low + 0.1:.1f}): {count:>8,} transactions, "
            f"mean predicted {row['mean_predicted']:.3f}, observed {row['observed_rate']:.3f}"
        )
    hits = Table(title="rules on the test period")
    for column in ("rule", "hits", "precision"):
        hits.add_column(column, justify="left" if column == "rule" else "right")
    for code, rule in sorted(test.get("rule_hits", {}).items(), key=lambda kv: -kv[1]["hits"]):
        hits.add_row(code, f"{rule['hits']:,}", f"{rule['precision']:.3f}")
    console.print(hits)
    promotion = report.get("promotion")
    if promotion:
        verdict = (
            "[green]promoted[/green]" if promotion["promote"] else "[yellow]not promoted[/yellow]"
        )
        console.print(
            f"{verdict}: average precision {promotion['candidate_average_precision']:.4f} vs "
            f"{promotion['baseline_average_precision']:.4f} ({promotion['compared_with']})"
        )
    if report.get("version"):
        console.print(f"registered as version {report['version']}")
