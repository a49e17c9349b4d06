"""The operators' Grafana boards, as code: ``python -m dashboards.grafana.boards`` writes
``dashboards/grafana/boards/*.json``, which Grafana's file provider loads (compose).

Each panel is a title, a unit and PromQL targets over what the local Prometheus scrapes;
a test runs every target against the real Prometheus with the pipeline running, and
another checks the committed JSON is what this module generates.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOARDS_DIR = Path(__file__).resolve().parent / "boards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioning/datasources


@dataclass(frozen=True)
class Panel:
    """One time-series panel: ``targets`` are (PromQL, legend) pairs."""

    title: str
    unit: str
    targets: tuple[tuple[str, str], ...]
    description: str = ""


Row = tuple[str, tuple[Panel, ...]]

QUANTILES = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))


def quantiles(histogram: str, by: str = "") -> tuple[tuple[str, str], ...]:
    """p50 / p95 / p99 of a Prometheus histogram over 5 minutes."""
    group = f"le{', ' + by if by else ''}"
    legend = f"{{{{{by}}}}} " if by else ""
    return tuple(
        (f"histogram_quantile({q}, sum by ({group}) (rate({histogram}_bucket[5m])))",
         f"{legend}{name}")
        for q, name in QUANTILES
    )  # fmt: skip


PIPELINE: tuple[Row, ...] = (
    (
        "Throughput and lag",
        (
            Panel(
                "Transactions into Kafka",
                "msg/s",
                (
                    (
                        "sum by (topic) (rate(kafka_server_brokertopicmetrics_count"
                        '{name="MessagesInPerSec",'
                        'topic=~"transactions|chargebacks|fraud_alerts|dead_letter"}[1m]))',
                        "{{topic}}",
                    ),
                ),
                "Messages the broker appended, per topic.",
            ),
            Panel(
                "Speed layer: input vs processing rate",
                "rows/s",
                (
                    ('fraudstack_stream_input_rows_per_second{query="score"}', "input"),
                    ('fraudstack_stream_processed_rows_per_second{query="score"}', "processed"),
                ),
                "Processing below input for long means the backlog grows.",
            ),
            Panel(
                "Consumer lag (offsets behind newest)",
                "short",
                (("fraudstack_stream_source_offsets_behind_latest", "{{query}}"),),
                "From Spark's Kafka source progress: the worst partition of each query.",
            ),
            Panel(
                "Rows read per query",
                "rows/s",
                (("sum by (query) (rate(fraudstack_stream_input_rows_total[1m]))", "{{query}}"),),
            ),
        ),
    ),
    (
        "Latency",
        (
            Panel(
                "End-to-end latency (event time to Cassandra)",
                "s",
                quantiles("fraudstack_stream_end_to_end_latency_seconds"),
            ),
            Panel(
                "Micro-batch duration",
                "s",
                quantiles("fraudstack_stream_batch_duration_seconds", by="query"),
            ),
            Panel(
                "Where the last scoring batch went",
                "s",
                (('fraudstack_stream_phase_seconds{query="score"}', "{{phase}}"),),
            ),
            Panel(
                "State rows and watermark delay",
                "short",
                (
                    ("fraudstack_stream_state_rows", "state rows {{query}}"),
                    (
                        'fraudstack_stream_watermark_delay_seconds{query="score"}',
                        "watermark delay (s)",
                    ),
                ),
            ),
        ),
    ),
    (
        "Decisions and rejects",
        (
            Panel(
                "Scored transactions by decision",
                "tx/s",
                (
                    (
                        "sum by (decision) (rate(fraudstack_stream_scored_transactions_total[1m]))",
                        "{{decision}}",
                    ),
                ),
            ),
            Panel(
                "Alerts by decision",
                "alerts/s",
                (("sum by (decision) (rate(fraudstack_stream_alerts_total[1m]))", "{{decision}}"),),
            ),
            Panel(
                "Alert rate (share of scored)",
                "percentunit",
                (
                    (
                        "sum(rate(fraudstack_stream_alerts_total[5m])) / "
                        "sum(rate(fraudstack_stream_scored_transactions_total[5m]))",
                        "alerts / scored",
                    ),
                ),
            ),
            Panel(
                "Rule hits (top 8)",
                "hits/s",
                (
                    (
                        "topk(8, sum by (reason) (rate(fraudstack_stream_rule_hits_total[5m])))",
                        "{{reason}}",
                    ),
                ),
            ),
            Panel(
                "Dead letters",
                "records/s",
                (("sum by (topic) (rate(fraudstack_stream_dead_letters_total[5m]))", "{{topic}}"),),
                "Records the speed layer rejected, by source topic (reasons in quarantine_by_day).",
            ),
        ),
    ),
    (
        "Services",
        (
            Panel("Targets up", "short", (("up", "{{job}}"),)),
            Panel(
                "CPU per service",
                "cores",
                (("fraudstack:service_cpu_cores:rate1m", "{{groupname}}"),),
            ),
            Panel(
                "Resident memory per service",
                "bytes",
                (("fraudstack:service_resident_memory_bytes", "{{groupname}}"),),
            ),
            Panel("JVM heap used", "percentunit", (("fraudstack:jvm_heap_used:ratio", "{{job}}"),)),
            Panel(
                "Cassandra client request latency p99",
                "µs",
                (
                    (
                        'org_apache_cassandra_metrics_clientrequest_99thpercentile{name="Latency",'
                        'scope=~"Read|Write"}',
                        "{{scope}}",
                    ),
                ),
            ),
            Panel(
                "Kafka request latency p99",
                "ms",
                (
                    (
                        'kafka_network_requestmetrics_99thpercentile{name="TotalTimeMs",'
                        'request=~"Produce|Fetch"}',
                        "{{request}}",
                    ),
                ),
            ),
            Panel(
                "Host CPU busy",
                "percentunit",
                (('1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m]))', "busy"),),
            ),
            Panel(
                "Host memory available", "bytes", (("node_memory_MemAvailable_bytes", "available"),)
            ),
        ),
    ),
)

BATCH: tuple[Row, ...] = (
    (
        "Batch runs",
        (
            Panel(
                "Last outcome per step (1 = success)",
                "short",
                (("fraudstack_batch_last_success", "{{step}}"),),
            ),
            Panel(
                "Hours since each step last ran",
                "h",
                (("(time() - fraudstack_batch_last_run_timestamp_seconds) / 3600", "{{step}}"),),
            ),
            Panel("Step duration", "s", (("fraudstack_batch_duration_seconds", "{{step}}"),)),
            Panel("Rows per step", "short", (("fraudstack_batch_rows", "{{step}} {{kind}}"),)),
        ),
    ),
    (
        "Model",
        (
            Panel(
                "Last candidate's test metrics",
                "short",
                (
                    (
                        'fraudstack_model_test_metric{metric=~"auc_roc|average_precision"}',
                        "{{scorer}} {{metric}}",
                    ),
                ),
                "Measured on the held-out test period; promotion needs the combined "
                "average precision to beat what scores now.",
            ),
            Panel(
                "Last candidate promoted", "short", (("fraudstack_model_promoted", "{{version}}"),)
            ),
        ),
    ),
)

ORDER_CHANGES = "fraudstack_stream_order_status_changes_total"
STOCK_ALERTS = "fraudstack_stream_stock_alerts_total"

ORDERS: tuple[Row, ...] = (
    (
        "Orders",
        (
            Panel(
                "Order status changes by status",
                "changes/s",
                ((f"sum by (status) (rate({ORDER_CHANGES}[1m]))", "{{status}}"),),
                "Status changes the speed layer's orders query tracked, by the status entered "
                "(valid and invalid).",
            ),
            Panel(
                "Invalid transitions by status entered",
                "changes/s",
                (
                    (
                        f'sum by (status) (rate({ORDER_CHANGES}{{valid="false"}}[5m]))',
                        "into {{status}}",
                    ),
                ),
                "Changes the order lifecycle does not allow (e.g. delivered before shipped): "
                "flagged, and listed by day in invalid_order_transitions_by_day.",
            ),
            Panel(
                "Invalid share of status changes",
                "percentunit",
                (
                    (
                        f'sum(rate({ORDER_CHANGES}{{valid="false"}}[5m])) / '
                        f"sum(rate({ORDER_CHANGES}[5m]))",
                        "invalid / all",
                    ),
                ),
            ),
            Panel(
                "Orders and stock queries: rows read",
                "rows/s",
                (
                    (
                        "sum by (query) (rate(fraudstack_stream_input_rows_total"
                        '{query=~"orders|stock"}[1m]))',
                        "{{query}}",
                    ),
                ),
                "order_status and inventory events read from Kafka: a rate of changes near "
                "zero with rows read means the events are not getting through.",
            ),
        ),
    ),
    (
        "Stock",
        (
            Panel(
                "Stock alerts by kind and severity",
                "alerts/s",
                (
                    (
                        f"sum by (kind, severity) (rate({STOCK_ALERTS}[5m]))",
                        "{{kind}} {{severity}}",
                    ),
                ),
                "threshold: stock fell to the warning or critical threshold; demand: at the "
                "current sales rate or the demand profile's, the product runs out within the "
                "demand horizon. One alert per product and level until it is restocked.",
            ),
            Panel(
                "Stock alerts in the last hour",
                "short",
                (
                    (
                        f"sum by (kind, severity) (increase({STOCK_ALERTS}[1h]))",
                        "{{kind}} {{severity}}",
                    ),
                ),
            ),
        ),
    ),
)

BOARDS: dict[str, tuple[str, tuple[Row, ...]]] = {
    "fraudstack-pipeline": ("fraudstack: pipeline", PIPELINE),
    "fraudstack-batch": ("fraudstack: batch layer and model", BATCH),
    "fraudstack-orders": ("fraudstack: orders and stock", ORDERS),
}


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": expr,
             "legendFormat": legend}
            for n, (expr, legend) in enumerate(panel.targets)
        ],
    }  # fmt: skip


def board_json(uid: str, title: str, rows: tuple[Row, ...]) -> dict[str, Any]:
    """A whole Grafana dashboard: a row header, then panels two abreast."""
    panels: list[dict[str, Any]] = []
    y = 0
    for row_title, row_panels in rows:
        panels.append({"id": len(panels) + 1, "type": "row", "title": row_title,
                       "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                       "panels": []})  # fmt: skip
        y += 1
        for n, panel in enumerate(row_panels):
            panels.append(panel_json(panel, len(panels) + 1, 12 * (n % 2), y + 8 * (n // 2)))
        y += 8 * ((len(row_panels) + 1) // 2)
    return {
        "uid": uid,
        "title": title,
        "tags": ["fraudstack"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": panels,
    }


def boards() -> dict[str, dict[str, Any]]:
    """Every board by file name."""
    return {f"{uid}.json": board_json(uid, title, rows) for uid, (title, rows) in BOARDS.items()}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def all_targets() -> list[tuple[str, str, str]]:
    """(board uid, panel title, PromQL) for every target of every board."""
    return [
        (uid, panel.title, expr)
        for uid, (_, rows) in BOARDS.items()
        for _, row_panels in rows
        for panel in row_panels
        for expr, _ in panel.targets
    ]


def main() -> None:
    BOARDS_DIR.mkdir(exist_ok=True)
    for name, board in boards().items():
        (BOARDS_DIR / name).write_text(render(board))
        print(f"wrote {BOARDS_DIR / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
