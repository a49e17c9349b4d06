"""What every page of the analysts' app shares: configuration, the Cassandra session and
the stores over it, and the message shown when the stack is down."""

from __future__ import annotations

from typing import Any

import streamlit as st
from cassandra import DriverException
from cassandra.cluster import NoHostAvailable, Session
from cassandra.connection import ConnectionException

from fraudstack.config import Config, load_config
from storage.alert_store import AlertStore
from storage.order_store import OrderStore

# what the driver raises when the node is down, slow or not there
UNREACHABLE = (DriverException, NoHostAvailable, ConnectionException, OSError)


@st.cache_resource(show_spinner=False)
def settings() -> Config:
    return load_config()


@st.cache_resource(show_spinner="Connecting to Cassandra…")
def session() -> Session:
    """One driver session for every viewer and page (the driver is thread-safe)."""
    from storage.cassandra_client import cluster

    config = settings()
    return cluster(config.host("cassandra"), config.port("cassandra"), timeout=5).connect()


@st.cache_resource(show_spinner=False)
def alert_store() -> AlertStore:
    return AlertStore(session(), settings().keyspace)


@st.cache_resource(show_spinner=False)
def order_store() -> OrderStore:
    return OrderStore(session(), settings().keyspace)


def login_required() -> bool:
    """Whether analysts log in (``services.streamlit.login``: on in the compose deployment)."""
    return bool(settings().service("streamlit").get("login", False))


def stack_down(error: Exception) -> None:
    config = settings()
    st.error(
        f"Cannot reach Cassandra at {config.address('cassandra')}: is the stack running?  \n"
        "Start it with `fraudstack up` (and the speed layer with `fraudstack stream start`); "
        "this page reconnects by itself.",
        icon=":material/power_off:",
    )
    st.caption(f"{type(error).__name__}: {error}")


def utc_time(label: str) -> Any:
    """A time column, in UTC to the second like every time on these pages."""
    return st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm:ss")
