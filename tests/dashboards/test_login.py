"""The live-alert screen's login gate, driven with Streamlit's AppTest (no services)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboards.alerts.login import ENV_PASSWORD, password_matches
from tests.polling import free_port

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "alerts" / "app.py")


def gated_page() -> None:
    import os

    import streamlit as st

    from dashboards.alerts.login import gate

    user = gate(os.environ.get("TEST_LOGIN") == "on")
    st.markdown(f"the page, for {user}")


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    value = secrets.token_urlsafe(16)
    monkeypatch.setenv(ENV_PASSWORD, value)
    monkeypatch.setenv("TEST_LOGIN", "on")
    return value


def page_text(at: AppTest) -> str:
    assert not at.exception, at.exception
    return " ".join(m.value for m in at.markdown)


def log_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_password").set_value(password)
    return at.button(key="login_submit").click().run()


def test_password_matches_only_the_same_password() -> None:
    expected = secrets.token_urlsafe(16)
    assert password_matches(expected, expected)
    assert not password_matches(expected[:-1], expected)
    assert not password_matches(expected + "x", expected)
    assert not password_matches("", expected)


def test_login_off_shows_the_page_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_LOGIN", "off")
    at = AppTest.from_function(gated_page).run()
    assert page_text(at) == "the page, for None"
    assert not at.text_input


def test_the_page_stays_closed_until_the_right_password(password: str) -> None:
    at = AppTest.from_function(gated_page).run()
    assert "the page" not in page_text(at)
    masked = at.text_input(key="login_password").proto
    assert masked.type == masked.PASSWORD  # typed as dots, not in clear

    log_in(at, "ana", password + "-wrong")
    assert "the page" not in page_text(at)
    assert "Wrong password" in at.error[0].value

    log_in(at, "   ", password)
    assert "the page" not in page_text(at)
    assert "Enter your name" in at.error[0].value

    log_in(at, "ana", password)
    assert page_text(at) == "the page, for ana"
    assert not at.error
    at.run()  # the session stays logged in
    assert page_text(at) == "the page, for ana"


def test_login_on_without_a_configured_password_refuses_everyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_LOGIN", "on")
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    at = AppTest.from_function(gated_page).run()
    assert "the page" not in page_text(at)
    assert ENV_PASSWORD in at.error[0].value
    assert not at.text_input  # no form to try


def test_the_alert_screen_reads_nothing_before_login(
    password: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = free_port()  # a Cassandra that is not there: any read shows an error
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        yaml.safe_dump({"services": {"streamlit": {"login": True}, "cassandra": {"port": closed}}})
    )
    monkeypatch.setenv("FRAUDSTACK_CONFIG", str(overlay))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert not at.error and not at.dataframe, "the screen read or showed data before login"
    assert not at.sidebar.text_input

    log_in(at, "ana", password)
    assert not at.exception, at.exception
    assert "is the stack running?" in at.error[0].value  # now it reads
    analyst = at.text_input(key="analyst")
    assert analyst.value == "ana" and analyst.disabled  # verdicts carry the login name
