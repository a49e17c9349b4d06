"""The stack's Superset shows nothing to a visitor who has not logged in."""

from __future__ import annotations

import pytest
import requests

from fraudstack.config import Config
from fraudstack.stack.services.superset import login

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "path", ["/api/v1/dashboard/", "/api/v1/chart/", "/api/v1/database/", "/api/v1/dataset/"]
)
def test_the_api_refuses_an_anonymous_visitor(stack: Config, path: str) -> None:
    answer = requests.get(f"{login(stack).url}{path}", timeout=30)
    assert answer.status_code == 401, answer.text[:300]


def test_a_dashboard_sends_an_anonymous_visitor_to_the_login(stack: Config) -> None:
    url = f"{login(stack).url}/superset/dashboard/fraudstack-sales/"
    answer = requests.get(url, timeout=30, allow_redirects=False)
    assert answer.status_code == 302
    assert "/login/" in answer.headers["Location"]


def test_the_admin_logs_in_with_the_generated_password_only(stack: Config) -> None:
    credentials = login(stack)
    answers = {
        password: requests.post(
            f"{credentials.url}/api/v1/security/login",
            json={"username": credentials.username, "password": password, "provider": "db"},
            timeout=60,
        ).status_code
        for password in (credentials.password, credentials.password + "x", "admin")
    }
    assert answers == {credentials.password: 200, credentials.password + "x": 401, "admin": 401}
