"""The live-alert screen's login: one analysts' password, from the environment.

On when the config says so (``services.streamlit.login``: true in the compose
deployment, false on the loopback-only local stack). The password comes from
``FRAUDSTACK_STREAMLIT_PASSWORD`` (``fraudstack compose init`` generates it into
``.env``); with login on and no password set, the screen refuses everyone. The name
an analyst logs in with is the one recorded with their verdicts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

import streamlit as st

ENV_PASSWORD = "FRAUDSTACK_STREAMLIT_PASSWORD"
FAILED_LOGIN_DELAY = 1.0  # seconds: slows down guessing
USER_KEY = "login_user"


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (of digests, so not even the length leaks)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def gate(enabled: bool) -> str | None:
    """Stop the page here until the viewer has logged in; returns who did.

    Args:
        enabled: whether login is required (``services.streamlit.login``).

    Returns:
        The analyst's name once logged in; None when login is off.
    """
    if not enabled:
        return None
    if st.session_state.get(USER_KEY):
        return str(st.session_state[USER_KEY])
    expected = os.environ.get(ENV_PASSWORD, "")
    if not expected:
        st.error(
            f"Login is required but no password is configured: set {ENV_PASSWORD} "
            "(`fraudstack compose init` writes one into .env).",
            icon=":material/lock:",
        )
        st.stop()
    st.title(":material/lock: Live fraud alerts")
    with st.form("login"):
        name = st.text_input("Analyst", key="login_name")
        given = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", key="login_submit")
    if submitted and not name.strip():
        st.error("Enter your name: it is recorded with your verdicts.")
    elif submitted:
        if password_matches(given, expected):
            st.session_state[USER_KEY] = name.strip()
            st.rerun()
        time.sleep(FAILED_LOGIN_DELAY)
        st.error("Wrong password.", icon=":material/block:")
    st.stop()
    return None  # not reached: st.stop() ends the script run
