"""The fraud analyst's live-alert page (the app's default page), over the speed layer's
Cassandra tables.

The list refreshes itself in a fragment, so the rest of the page stays usable while it
does. A notification links to ``/?alert=<id>``, which opens that alert.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Any

import altair as alt
import streamlit as st

from dashboards.alerts import login, resources, view
from dashboards.alerts.resources import settings, stack_down
from fraudstack.scoring import MODEL_REASON, load_policy
from storage.alert_store import AlertStore

LIST_COLUMNS = {
    "event_time": st.column_config.DatetimeColumn("event time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "risk_score": st.column_config.ProgressColumn("risk", min_value=0.0, max_value=1.0,
                                                  format="%.2f"),
    "amount_usd": st.column_config.NumberColumn("amount (USD)", format="$%.2f"),
}  # fmt: skip
LIST_LIMIT = 500  # newest alerts fetched per refresh: every filter applies to these
CONTEXT_LIMIT = 20  # the customer's newest transactions shown beside an alert


@st.cache_data(show_spinner=False)
def reason_texts() -> dict[str, str]:
    config = settings()
    policy = load_policy(config.root / config.raw["streaming"]["rules_file"])
    texts = {rule.code: rule.description for rule in policy.rules}
    texts[MODEL_REASON] = "the model's probability of fraud is high"
    return texts


def sidebar(user: str | None) -> tuple[dt.timedelta, view.AlertFilter, str, int]:
    with st.sidebar:
        st.header("Filters")
        window = st.selectbox("Time range", list(view.WINDOWS), index=1, key="window")
        decisions = st.multiselect(
            "Decision", view.ALERT_DECISIONS, default=view.ALERT_DECISIONS, key="decisions"
        )
        low, high = st.slider("Risk score", 0.0, 1.0, (0.0, 1.0), 0.05, key="score")
        texts = reason_texts()
        reasons = st.multiselect(
            "Reason (any of)", sorted(texts), key="reasons", help="empty: every reason"
        )
        st.divider()
        analyst = st.text_input(
            "Analyst", value=user or os.environ.get("FRAUDSTACK_ANALYST") or getpass.getuser(),
            key="analyst", help="recorded with every verdict", disabled=user is not None,
        )  # fmt: skip
        refresh = st.select_slider("Refresh every (s)", [1, 2, 5, 10, 30], value=2, key="refresh")
    wanted = view.AlertFilter(tuple(decisions), low, high, tuple(reasons))
    return view.WINDOWS[window], wanted, analyst, refresh


def show_counters(alerts: list[dict[str, Any]], counts: list[dict[str, Any]]) -> None:
    totals = view.decision_totals(counts)
    scored = sum(totals.values())
    cells = st.columns(5)
    cells[0].metric("Alerts shown", len(alerts))
    cells[1].metric("BLOCK shown", sum(a["decision"] == "BLOCK" for a in alerts))
    cells[2].metric("REVIEW shown", sum(a["decision"] == "REVIEW" for a in alerts))
    cells[3].metric("Scored in range", f"{scored:,}")
    rate = (totals["REVIEW"] + totals["BLOCK"]) / scored if scored else 0.0
    cells[4].metric("Alert rate", f"{rate:.1%}")


def show_detail(alert_store: AlertStore, alert_id: str, analyst: str) -> None:
    alert = alert_store.alert(alert_id)
    if alert is None:
        st.warning(f"Alert {alert_id} is not in Cassandra (any more).")
        return
    texts = reason_texts()
    st.subheader(f"{alert['decision']} · risk {alert['risk_score']:.3f} · {alert_id}")
    left, right = st.columns([3, 2])
    with left:
        facts = st.columns([1.4, 1, 1, 1])
        facts[0].metric("Amount (USD)", f"${alert.get('amount_usd') or 0:,.2f}")
        facts[1].metric("Rule score", f"{alert.get('rule_score') or 0:.3f}")
        model_score = alert.get("model_score")
        facts[2].metric("Model p(fraud)", "—" if model_score is None else f"{model_score:.3f}")
        facts[3].metric("Model", alert.get("model_version") or "none")
        st.markdown("**Why it fired**")
        for code in alert.get("reasons") or ():
            st.markdown(f"- `{code}`: {texts.get(code, 'no description')}")
        st.caption(
            f"event {alert['event_time']:%Y-%m-%d %H:%M:%S} UTC · customer "
            f"`{alert.get('customer_id')}` · merchant `{alert.get('merchant_id')}` · "
            f"{alert.get('amount')} {alert.get('currency')}"
        )
        buttons = st.columns(2)
        for column, (label, value) in zip(
            buttons, (("Fraud", "fraud"), ("Not fraud", "not_fraud")), strict=True
        ):
            icon = ":material/flag:" if value == "fraud" else ":material/check_circle:"
            if column.button(label, key=f"verdict-{value}", icon=icon, width="stretch"):
                try:
                    at = alert_store.record_verdict(alert, value, analyst)
                except ValueError as problem:
                    st.error(str(problem))
                else:
                    alert.update(verdict=value, verdict_by=analyst, verdict_at=at)
                    st.toast(f"Recorded: {alert_id} is {value.replace('_', ' ')}")
        if alert.get("verdict"):
            st.info(f"Verdict: **{alert['verdict']}** by {alert.get('verdict_by')} at "
                    f"{alert['verdict_at']:%Y-%m-%d %H:%M:%S} UTC")  # fmt: skip
    with right:
        st.markdown("**Customer's recent transactions**")
        recent = alert_store.customer_transactions(alert["customer_id"], CONTEXT_LIMIT)
        st.dataframe(
            [{k: r.get(k) for k in ("event_time", "amount_usd", "decision", "risk_score",
                                    "merchant_id", "country", "device_id")} for r in recent],
            hide_index=True, width="stretch",
        )  # fmt: skip
        with st.expander("Feature values"):
            st.dataframe(view.feature_table(alert.get("features")), hide_index=True)


def minute_chart(per_minute: Any) -> alt.Chart:
    """Alerts per minute by decision, on a 24-hour UTC axis like the list's times."""
    long_df = (
        per_minute.rename_axis("minute")
        .reset_index()
        .melt("minute", var_name="decision", value_name="alerts")
    )
    colours = alt.Scale(domain=list(view.ALERT_DECISIONS), range=["#d62728", "#ff7f0e"])
    return (
        alt.Chart(long_df, height=200)
        .mark_bar()
        .encode(
            x=alt.X("minute:T", scale=alt.Scale(type="utc"),
                    axis=alt.Axis(format="%H:%M", title="minute (UTC)", tickCount="minute")),
            y=alt.Y("sum(alerts):Q", title="alerts", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("decision:N", scale=colours,
                            legend=alt.Legend(orient="top", title=None)),
            tooltip=[alt.Tooltip("minute:T", format="%H:%M", title="minute (UTC)"),
                     "decision:N", alt.Tooltip("alerts:Q")],
        )
    )  # fmt: skip


def live(window: dt.timedelta, wanted: view.AlertFilter, analyst: str) -> None:
    """The refreshing part: counters, chart, list and the open alert."""
    try:
        alert_store = resources.alert_store()
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # clocks drift a little
        since = until - window - dt.timedelta(minutes=1)
        fetched = alert_store.recent_alerts(since, until, LIST_LIMIT)
        counts = alert_store.minute_counts(since, until)
    except Exception as error:  # the driver raises several kinds when the node is down
        stack_down(error)
        return
    alerts = view.filter_alerts(fetched, wanted)
    show_counters(alerts, counts)
    per_minute = view.alerts_per_minute(counts)
    if not per_minute.empty:
        st.altair_chart(minute_chart(per_minute), use_container_width=True)
    if not fetched:
        st.info(
            "No alerts in this time range yet. They appear here seconds after the speed "
            "layer scores a REVIEW or BLOCK: `fraudstack stream start`, then send traffic, "
            "e.g. `fraudstack generate --rate 50 --duration 60`.",
            icon=":material/hourglass_empty:",
        )
        return
    if not alerts:
        st.warning(f"None of the {len(fetched)} newest alerts pass the filters.")
        return
    st.caption(f"Newest first; filters apply to the {len(fetched)} newest alerts in range.")
    st.dataframe(
        view.alert_table(alerts), hide_index=True, width="stretch", height=320,
        column_config=LIST_COLUMNS,
    )  # fmt: skip
    labels = {a["alert_id"]: view.option_label(a) for a in alerts}
    chosen = st.session_state.get("open_alert")
    if chosen and chosen not in labels:
        labels[chosen] = f"{chosen} (outside the list now)"
    alert_id = st.selectbox(
        "Open an alert", list(labels), format_func=labels.__getitem__, key="open_alert"
    )
    if alert_id:
        show_detail(alert_store, alert_id, analyst)


def page() -> None:
    """The live-alert page; the viewer has logged in already (when login is on)."""
    st.title(":material/shield: Live fraud alerts")
    window, wanted, analyst, refresh = sidebar(st.session_state.get(login.USER_KEY))
    linked = st.query_params.get("alert")  # notifications link to ?alert=<id>
    if linked and "open_alert" not in st.session_state:
        st.session_state["open_alert"] = linked
    st.fragment(run_every=refresh)(live)(window, wanted, analyst)
