"""The ``fraudstack`` command line."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from batch.cli import batch_app, model_app
from dashboards.superset.cli import superset_app
from fraudstack.compose_cli import compose_app
from fraudstack.config import load_config
from fraudstack.stack import launcher, process
from fraudstack.stack.services import stack_services
from fraudstack.stack.setup import ensure_jars

app = typer.Typer(
    help="fraudstack: real-time and batch e-commerce transaction risk.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)


@app.command()
def setup(
    force: Annotated[
        bool, typer.Option(help="Resolve the jars even if they look current.")
    ] = False,
) -> None:
    """Resolve the JVM services' jars from Maven Central (skipped when current)."""
    config = load_config()
    with console.status("Resolving service jars from Maven Central…"):
        try:
            ran = ensure_jars(config, force=force)
        except RuntimeError as exc:
            console.print(f"[red]setup failed:[/red] {exc}")
            raise typer.Exit(1) from exc
    console.print(f"jars {'installed' if ran else 'already current'} in {config.jars_dir}")


@app.command()
def up(
    services: Annotated[list[str] | None, typer.Argument(help="Services (default: all).")] = None,
) -> None:
    """Start the local stack (or the named services) and wait until every one is usable."""
    config = load_config()
    lock = threading.Lock()
    begun = time.monotonic()

    def report(name: str, event: str) -> None:
        with lock:
            console.print(
                f"[dim]{time.monotonic() - begun:6.1f}s[/dim] [bold]{name:<12}[/bold] {event}"
            )

    with console.status("Bringing the stack up…"):
        try:
            launcher.up(config, services or None, report=report)
        except launcher.StackError as exc:
            console.print("[red bold]up failed[/red bold]: ", end="")
            console.print(str(exc), markup=False, highlight=False)
            console.print(
                "Fix the cause, then run `fraudstack up` again "
                "(healthy services are kept), or `fraudstack down`."
            )
            raise typer.Exit(1) from exc
    console.print(f"[green]stack healthy[/green] in {time.monotonic() - begun:.1f}s")


@app.command()
def down(
    services: Annotated[list[str] | None, typer.Argument(help="Services (default: all).")] = None,
) -> None:
    """Stop services started by `fraudstack up` (and whatever depends on them), nothing else."""
    from streaming import control

    config = load_config()
    for realtime in (False, True):  # the speed layer depends on every service
        if control.stop(config, realtime=realtime):
            console.print(f"{control.job_spec(config, realtime).name:<12} stopped")
    try:
        stopped = launcher.down(
            config,
            services or None,
            report=lambda name, event: console.print(f"{name:<12} {event}"),
        )
    except launcher.StackError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def status() -> None:
    """Show each service: health (checked live), pid, ports and detail."""
    config = load_config()
    states = launcher.status(config)
    table = Table(title=f"fraudstack ({config.env}) — {config.home}")
    for column in ("service", "state", "pid", "ports", "detail"):
        table.add_column(column)
    colours = {"healthy": "green", "unhealthy": "red", "stopped": "dim", "foreign": "yellow"}
    for state in states:
        ports = ", ".join(f"{role}={port}" for role, port in state.ports.items())
        table.add_row(
            state.name,
            f"[{colours[state.state]}]{state.state}[/]",
            str(state.pid or ""),
            ports,
            state.detail,
        )
    console.print(table)
    if any(state.state != "healthy" for state in states):
        raise typer.Exit(1)


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="Service name, e.g. kafka.")],
    lines: Annotated[int, typer.Option("-n", help="How many lines.")] = 50,
    follow: Annotated[bool, typer.Option("-f", help="Keep printing new lines.")] = False,
) -> None:
    """Print the log of one service."""
    config = load_config()
    if service not in stack_services(config):
        console.print(
            f"[red]no service {service!r}[/red]; known: {', '.join(stack_services(config))}"
        )
        raise typer.Exit(2)
    path = launcher.log_path(config, service)
    if not path.exists():
        console.print(f"no log yet at {path}")
        raise typer.Exit(1)
    if follow:
        subprocess.run(["tail", "-n", str(lines), "-F", str(path)], check=False)
    else:
        print(process.tail(path, lines))


app.add_typer(batch_app, name="batch")
app.add_typer(model_app, name="model")
app.add_typer(compose_app, name="compose")
app.add_typer(superset_app, name="superset")

stream_app = typer.Typer(help="The speed layer: start, stop and watch the streaming job.")
app.add_typer(stream_app, name="stream")


class StartFrom(StrEnum):
    """Where ``stream start --from`` begins queries that have no checkpoint."""

    earliest = "earliest"
    latest = "latest"


@stream_app.command("start")
def stream_start(
    queries: Annotated[
        list[str] | None, typer.Argument(help="Queries to run (default: all).")
    ] = None,
    realtime: Annotated[
        bool, typer.Option(help="Start the real-time first-warning job instead.")
    ] = False,
    start_from: Annotated[
        StartFrom | None,
        typer.Option(
            "--from",
            help="Where queries without a checkpoint begin "
            "(default: streaming.starting_offsets in the config).",
        ),
    ] = None,
) -> None:
    """Start the streaming job in the background and wait until its queries run."""
    from streaming import control

    config = load_config()
    with console.status("Starting the speed layer (spark-submit)…"):
        try:
            state = control.start(
                config,
                tuple(queries or ()),
                realtime=realtime,
                starting_offsets=start_from.value if start_from else None,
            )
        except control.StreamError as exc:
            console.print("[red bold]stream start failed[/red bold]: ", end="")
            console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(1) from exc
    console.print(
        f"[green]speed layer running[/green] (pid {state.pid}): "
        f"{', '.join(sorted(state.active))}; metrics at {control.metrics_url(config)}; "
        f"log: fraudstack stream logs"
    )


@stream_app.command("stop")
def stream_stop() -> None:
    """Stop the streaming job after its current micro-batches."""
    from streaming import control

    config = load_config()
    with console.status("Stopping the speed layer…"):
        stopped = control.stop(config)
        fast = control.stop(config, realtime=True)
    if fast:
        console.print("real-time path stopped")
    console.print("speed layer stopped" if stopped else "the speed layer was not running")


@stream_app.command("status")
def stream_status() -> None:
    """Show whether the job runs, each query's state and the headline counters."""
    from streaming import control
    from streaming.summary import total

    config = load_config()
    fast = control.status(config, control.job_spec(config, realtime=True))
    if fast.running:
        console.print(f"real-time path: [green]running[/green] (pid {fast.pid})")
    state = control.status(config)
    if not state.running:
        console.print("speed layer: [dim]stopped[/dim]")
        raise typer.Exit(1)
    console.print(f"speed layer: [green]running[/green] (pid {state.pid})")
    for name, active in sorted(state.active.items()):
        rows = total(state.metrics, "fraudstack_stream_input_rows_total", query=name)
        console.print(
            f"  {name:<22} {'active' if active else 'stopped':<8} {rows:>12,.0f} rows read"
        )
    if not all(state.active.values()) or not state.active:
        raise typer.Exit(1)


@stream_app.command("logs")
def stream_logs(
    lines: Annotated[int, typer.Option("-n", help="How many lines.")] = 50,
) -> None:
    """Print the end of the streaming job's log."""
    from streaming import control

    print(process.tail(launcher.log_path(load_config(), control.NAME), lines))


@stream_app.command("watch")
def stream_watch(
    duration: Annotated[float, typer.Option(help="Seconds to watch.")] = 60.0,
    truth: Annotated[
        Path | None, typer.Option(help="Ground truth (default: the newest live run's).")
    ] = None,
    every: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 3.0,
) -> None:
    """A live summary: processed, alerts, dead letters, precision/recall, latency."""
    from rich.live import Live

    from storage.cassandra_client import cluster
    from streaming import control
    from streaming.summary import LATENCY, histogram_quantile, newest_truth, quality, total

    config = load_config()
    session = cluster(config.host("cassandra"), config.port("cassandra")).connect()

    def measures() -> list[tuple[str, str]]:
        samples = control.read_metrics(config) or {}
        path = truth or newest_truth(config.data_dir)
        checked = quality(session, config.keyspace, path) if path else None
        rows = [("scored", f"{total(samples, 'fraudstack_stream_scored_transactions_total'):,.0f}")]
        for decision in ("REVIEW", "BLOCK"):
            count = total(samples, "fraudstack_stream_alerts_total", decision=decision)
            rows.append((f"alerts {decision}", f"{count:,.0f}"))
        dead = total(samples, "fraudstack_stream_dead_letters_total")
        rows.append(("dead letters", f"{dead:,.0f}"))
        for q in (0.5, 0.99):
            value = histogram_quantile(samples, LATENCY, q)
            shown = f"{value * 1000:,.0f} ms" if value is not None else "-"
            rows.append((f"latency p{q * 100:.0f} (event → Cassandra)", shown))
        if checked:
            rows.append(("labelled / scored", f"{checked.labelled:,} / {checked.scored:,}"))
            caught = f"{checked.frauds:,} / {checked.flagged:,} / {checked.caught:,}"
            rows.append(("frauds / flagged / caught", caught))
            for name, value in (("precision", checked.precision), ("recall", checked.recall)):
                rows.append((name, f"{value:.1%}" if value is not None else "-"))
        return rows

    def render() -> Table:
        table = Table(title="speed layer — live")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for row in measures():
            table.add_row(*row)
        return table

    ends = time.monotonic() + duration
    if console.is_terminal:
        with Live(render(), console=console, refresh_per_second=1) as live:
            while time.monotonic() < ends:
                time.sleep(every)
                live.update(render())
    else:  # a log: one line per refresh
        while time.monotonic() < ends:
            console.print("; ".join(f"{name} {value}" for name, value in measures()))
            time.sleep(max(every, 10.0))
        console.print(render())
    session.cluster.shutdown()


@app.command()
def generate(
    days: Annotated[int, typer.Option(help="Days of history to generate.")] = 1,
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: DAYS ago).")
    ] = None,
    to: Annotated[
        str, typer.Option(help="kafka, master (the HDFS master dataset), or a Parquet folder.")
    ] = "kafka",
    seed: Annotated[
        int | None,
        typer.Option(help="Same seed, same data (default: 7; live mode: a fresh one per run)."),
    ] = None,
    customers: Annotated[int, typer.Option(help="Customers in the marketplace.")] = 5_000,
    per_day: Annotated[int, typer.Option(help="Transactions per day.")] = 20_000,
    rate: Annotated[int, typer.Option(help="Live mode: transactions a second, now.")] = 0,
    duration: Annotated[float, typer.Option(help="Live mode: seconds to run.")] = 60.0,
    orders: Annotated[
        bool | None,
        typer.Option(
            help="Also the order_status and inventory events behind the sales "
            "(default: on into Kafka and live, off into Parquet)."
        ),
    ] = None,
) -> None:
    """Generate a labelled marketplace into Kafka or Parquet (truth kept aside).

    History mode (default): DAYS of past days, as fast as possible. Live mode
    (--rate N): N transactions a second into Kafka for --duration seconds.
    """
    from fraudstack.simulator.run import live, resolve_target, to_kafka, to_parquet, wire_history
    from fraudstack.simulator.settings import OrderSettings, SimulatorSettings

    config = load_config()
    if rate > 0:
        # a fresh seed per live run: the same ids again would be dropped as duplicates
        seed = int(time.time()) if seed is None else seed
        settings = SimulatorSettings(
            seed=seed, customers=customers, transactions_per_day=rate,
            orders=OrderSettings(enabled=orders is not False),
        )  # fmt: skip
        truth = (
            config.data_dir
            / "simulator"
            / f"truth-live-seed{seed}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.parquet"
        )
        begun = time.monotonic()
        with console.status(f"Sending {rate}/s for {duration:.0f}s…"):
            counts = live(config, settings, rate, duration, truth)
        elapsed = time.monotonic() - begun
        for outcome, count in sorted(counts.items()):
            console.print(f"{outcome:<28} {count:>10,}")
        console.print(f"{sum(counts.values()) / elapsed:,.0f} records/s; ground truth in {truth}")
        return
    first = (
        dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
        if start
        else dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    )
    to = resolve_target(config, to)
    seed = 7 if seed is None else seed
    with_orders = orders if orders is not None else to == "kafka"
    settings = SimulatorSettings(
        seed=seed, customers=customers, transactions_per_day=per_day,
        orders=OrderSettings(enabled=with_orders),
    )  # fmt: skip
    truth = config.data_dir / "simulator" / f"truth-seed{seed}-{first:%Y%m%d}-{days}d.parquet"
    records = wire_history(config, settings, first, days)
    begun = time.monotonic()
    with console.status(f"Generating {days} day(s) into {to}…"):
        counts = (
            to_kafka(config, records, truth)
            if to == "kafka"
            else to_parquet(config, records, to, truth)
        )
    elapsed = time.monotonic() - begun
    for outcome, count in sorted(counts.items()):
        console.print(f"{outcome:<28} {count:>10,}")
    console.print(f"{sum(counts.values()):,} records in {elapsed:.1f}s; ground truth in {truth}")


@app.command()
def replay(
    path: Annotated[
        Path, typer.Argument(help="CSV or Parquet of transactions (README lists the columns).")
    ],
    speedup: Annotated[
        float, typer.Option(help="Event-time speed-up; 0 sends as fast as possible.")
    ] = 0.0,
) -> None:
    """Publish your own transactions into Kafka (PII tokenised, invalid rows dead-lettered)."""
    from fraudstack.pii import Tokeniser, load_key
    from fraudstack.replay import replay as run_replay

    config = load_config()
    if not path.exists():
        console.print(f"[red]no such file: {path}[/red]")
        raise typer.Exit(2)
    from fraudstack.simulator.run import producer_metrics

    tokens = Tokeniser(load_key(config.home))
    counts = run_replay(
        path, config.kafka_bootstrap, tokens, speedup, metrics=producer_metrics(config)
    )
    console.print(
        f"sent {counts['sent']:,}, dead-lettered {counts['dead_letter']:,}"
        " (reasons on the dead_letter topic)"
    )


def _moment(text: str) -> dt.datetime:
    """ISO-8601 (UTC if no zone) or an age: ``90s``, ``30m``, ``2h``, ``1d`` ago."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@app.command()
def audit(
    since: Annotated[str, typer.Option(help="Window start: ISO-8601, or an age (30m, 2h, 1d).")],
    until: Annotated[
        str | None, typer.Option(help="Window end (default: now), same forms.")
    ] = None,
    master: Annotated[
        bool, typer.Option(help="Also check the HDFS master dataset (starts Spark).")
    ] = True,
    wait: Annotated[
        float, typer.Option(help="Seconds to keep re-checking while anything is missing.")
    ] = 0.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
) -> None:
    """Reconcile what Kafka acknowledged with Cassandra, quarantine and the master dataset.

    Exits 1 when anything is lost, duplicated or unaccounted.
    """
    import json

    from streaming.audit import audit as run_audit

    config = load_config()
    window = (_moment(since), _moment(until) if until else None)
    spark = None
    if master:
        from fraudstack.spark import build_session

        spark = build_session("fraudstack-audit", config)
        spark.sparkContext.setLogLevel("ERROR")
    with console.status("Reading Kafka and checking every sink…"):
        result = run_audit(config, *window, spark=spark, wait=wait)
    if spark is not None:
        spark.stop()
    inputs = result.inputs
    per_topic = ", ".join(f"{t} {n:,}" for t, n in sorted(inputs.records.items()))
    console.print(
        f"{result.since:%Y-%m-%d %H:%M:%S} to {result.until:%Y-%m-%d %H:%M:%S} UTC: "
        f"{inputs.total:,} records in Kafka ({per_topic}); "
        f"{len(inputs.rejected):,} rejected by the contract; "
        f"{inputs.replayed:,} replayed transaction ids"
    )
    table = Table("sink", "expected", "found", "lost", "duplicated", "redelivered", "e.g.")
    for check in result.checks:
        bad = check.lost or check.duplicated
        table.add_row(
            check.name,
            f"{check.expected:,}",
            f"{check.found:,}",
            f"[red]{check.lost:,}[/red]" if check.lost else "0",
            f"[red]{check.duplicated:,}[/red]" if check.duplicated else "0",
            f"{check.redelivered:,}",
            ", ".join(check.examples) if bad else "",
        )
    console.print(table)
    verdict = "[green]reconciled[/green]" if result.ok else "[red bold]NOT reconciled[/red bold]"
    console.print(f"unaccounted: {result.unaccounted:,} — {verdict}")
    if json_out is not None:
        json_out.write_text(json.dumps(result.as_dict(), indent=2, default=str) + "\n")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop the stack and delete all its data and logs (jars and the venv are kept)."""
    config = load_config()
    if not yes:
        typer.confirm(
            f"Delete everything under {config.data_dir} and {config.logs_dir}?", abort=True
        )
    launcher.down(config)
    for directory in (config.data_dir, config.logs_dir, config.conf_dir, config.run_dir):
        shutil.rmtree(directory, ignore_errors=True)
    console.print("stack stopped and state deleted; `fraudstack up` starts from scratch")


if __name__ == "__main__":
    app()
