"""``fraudstack batch`` and ``fraudstack model``: run the batch layer; train, evaluate, score
with and promote fraud models."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from batch.report import console, print_report
from fraudstack.config import Config, load_config

model_app = typer.Typer(help="The fraud model: train, evaluate, score files, list and promote.")
batch_app = typer.Typer(help="The batch layer: master dataset -> Hive tables, profiles, model.")


def _session(config: Config, name: str = "fraudstack-model") -> Any:
    from fraudstack.spark import build_session

    memory = str(config.raw["batch"]["driver_memory"])
    spark = build_session(
        name,
        config,
        extra={
            "spark.driver.memory": memory,
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",  # our own progress lines instead
        },
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def models_dir(config: Config, given: str | None) -> str:
    return config.storage_uri(given or config.raw["streaming"]["models_dir"])


@model_app.command("train")
def train(
    input_file: Annotated[
        str, typer.Option("--input", help="A labelled CSV or Parquet file (see batch/byod.py).")
    ],
    into: Annotated[
        str | None,
        typer.Option(
            "--models-dir", help="Registry to add the model to (default: a separate BYOD one)."
        ),
    ] = None,
    report_file: Annotated[
        str | None, typer.Option("--report", help="Also write the report as JSON.")
    ] = None,
) -> None:
    """Train and evaluate on your own labelled file, with the platform's features and split."""
    from batch import byod, model_job
    from fraudstack.scoring import load_policy

    config = load_config()
    settings = model_job.ModelSettings.from_config(config.raw["batch"]["model"])
    spark = _session(config)
    try:
        conformed = byod.conform(byod.read_input(spark, input_file), need_labels=True).cache()
        problems = conformed.where("problem IS NOT NULL").groupBy("problem").count().collect()
        for row in problems:
            console.print(f"[yellow]skipped {row['count']:,} rows[/yellow]: {row['problem']}")
        labelled_df, chargebacks_df = byod.labelled(conformed, settings.label_delay_days)
        target = into or config.storage_uri(config.raw["batch"]["byod_models_dir"])
        policy = load_policy(config.root / config.raw["streaming"]["rules_file"])
        report = model_job.run(spark, target, labelled_df, chargebacks_df, policy, settings)
    except (byod.InputError, ValueError) as exc:
        console.print(f"[red bold]cannot train[/red bold]: {exc}")
        raise typer.Exit(1) from exc
    finally:
        spark.stop()
    print_report(report)
    console.print(f"registry: {target}")
    if report_file:
        with open(report_file, "w") as out:
            json.dump(report, out, indent=2)


@model_app.command("score")
def score(
    input_file: Annotated[
        str, typer.Option("--input", help="A CSV or Parquet file of transactions.")
    ],
    output: Annotated[
        str, typer.Option("--output", help="Where to write scores (.csv or Parquet folder).")
    ],
    from_dir: Annotated[
        str | None,
        typer.Option(
            "--models-dir", help="Registry whose promoted model scores (default: the stack's)."
        ),
    ] = None,
) -> None:
    """Score a file with the rules and the promoted model; write risk, decision and reasons."""
    from batch import byod, model_job
    from fraudstack.scoring import load_policy
    from storage import model_registry

    config = load_config()
    spark = _session(config)
    try:
        conformed = byod.conform(byod.read_input(spark, input_file), need_labels=False)
        labelled_df, chargebacks_df = byod.labelled(conformed, 0)
        registry = models_dir(config, from_dir)
        version = model_registry.promoted_version(spark, registry)
        model = model_registry.load(registry, version) if version else None
        policy = load_policy(config.root / config.raw["streaming"]["rules_file"])
        dataset = model_job.build_dataset(labelled_df, chargebacks_df)
        scored = model_job.score(dataset, policy, model, version).cache()
        byod.write_scores(scored, output)
        counts = {r["decision"]: r["count"] for r in scored.groupBy("decision").count().collect()}
    except (byod.InputError, ValueError) as exc:
        console.print(f"[red bold]cannot score[/red bold]: {exc}")
        raise typer.Exit(1) from exc
    finally:
        spark.stop()
    used = f"model {version}" if version else "rules only (no promoted model)"
    console.print(f"scored {sum(counts.values()):,} transactions with {used} -> {output}: {counts}")


@model_app.command("list")
def list_models(
    from_dir: Annotated[
        str | None, typer.Option("--models-dir", help="Registry (default: the stack's).")
    ] = None,
) -> None:
    """Registered versions, their test metrics, and which one is promoted."""
    from storage import hdfs, model_registry

    config = load_config()
    spark = _session(config)
    try:
        registry = models_dir(config, from_dir)
        promoted = model_registry.promoted_version(spark, registry)
        table = Table(title=f"models in {registry}")
        for column in (
            "version",
            "promoted",
            "data",
            "auc_roc",
            "average_precision",
            "vs baseline",
        ):
            table.add_column(column)
        for version in model_registry.versions(spark, registry):
            text = hdfs.read_text(spark, f"{registry}/version={version}/metrics.json") or "{}"
            report = json.loads(text)
            combined = report.get("test", {}).get("combined", {})
            promotion = report.get("promotion", {})
            table.add_row(
                version,
                "yes" if version == promoted else "",
                "..".join(report.get("data", [])),
                str(combined.get("auc_roc", "")),
                str(combined.get("average_precision", "")),
                str(promotion.get("baseline_average_precision", "")),
            )
    finally:
        spark.stop()
    console.print(table)


@model_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The version to promote (see `model list`).")],
    from_dir: Annotated[
        str | None, typer.Option("--models-dir", help="Registry (default: the stack's).")
    ] = None,
) -> None:
    """Promote a version by hand (e.g. roll back); the speed layer picks it up within seconds."""
    from storage import model_registry

    config = load_config()
    spark = _session(config)
    try:
        model_registry.promote(spark, models_dir(config, from_dir), version)
    except FileNotFoundError as exc:
        console.print(f"[red bold]cannot promote[/red bold]: {exc}")
        raise typer.Exit(1) from exc
    finally:
        spark.stop()
    console.print(f"[green]promoted[/green] {version}")


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from exc


@batch_app.command("run")
def batch_run(
    start: Annotated[
        str | None, typer.Option("--from", help="First day (default: the oldest).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (default: the newest).")] = None,
    steps: Annotated[
        str,
        typer.Option(help="Comma-separated steps: clean, aggregates, orders, profiles, train."),
    ] = "clean,aggregates,orders,profiles,train",
) -> None:
    """Recompute the batch views from the master dataset (re-running a range replaces it)."""
    import time

    from batch import pipeline

    wanted = tuple(name.strip() for name in steps.split(",") if name.strip())
    unknown = sorted(set(wanted) - set(pipeline.STEPS))
    if unknown:
        console.print(
            f"[red bold]batch run failed[/red bold]: unknown step(s) {unknown}; "
            f"steps: {list(pipeline.STEPS)}"
        )
        raise typer.Exit(1)
    config = load_config()
    spark = _session(config, "fraudstack-batch")
    begun = time.monotonic()

    def progress(step: str, event: str) -> None:
        console.print(
            f"[dim]{time.monotonic() - begun:7.1f}s[/dim] [bold]{step:<10}[/bold] {event}"
        )

    try:
        report = pipeline.run(spark, config, _date(start), _date(end), wanted, progress)
    except ValueError as exc:
        console.print(f"[red bold]batch run failed[/red bold]: {exc}")
        raise typer.Exit(1) from exc
    finally:
        spark.stop()
    if "clean" in report:
        table = Table(title=f"data quality (run {report['run_id']})")
        table.add_column("count")
        table.add_column("rows", justify="right")
        for key, value in report["clean"].items():
            table.add_row(key, f"{value:,}")
        console.print(table)
    if "orders" in report:
        done = report["orders"]
        if "skipped" in done:
            console.print(f"[bold]orders[/bold] skipped: {done['skipped']}")
        else:
            console.print(
                f"[bold]orders[/bold] {done['orders_created']:,} created in the range; "
                f"demand profiles of {done['demand']['products']:,} products"
            )
    if "profiles" in report:
        console.print(f"[bold]profiles[/bold] {report['profiles']['profiles']}")
    if "train" in report:
        print_report(report["train"])
    console.print(f"[green]batch run done[/green] in {time.monotonic() - begun:.0f}s")
