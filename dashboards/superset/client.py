"""A small client for Superset's REST API: JWT login, CSRF token, pagination."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import requests

from fraudstack.stack.health import Unhealthy

if TYPE_CHECKING:
    from fraudstack.stack.services.superset import Login


class SupersetError(RuntimeError):
    """Superset refused a request; the message holds its answer."""


class Superset:
    """A logged-in session against one Superset (bearer token plus CSRF token)."""

    def __init__(self, credentials: Login, timeout: float = 300.0) -> None:
        """Log in with the admin's credentials.

        Raises:
            SupersetError: the login was refused (wrong password, or not initialised).
            requests.RequestException: Superset does not answer.
        """
        self.url = credentials.url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        answer = self.http.post(
            f"{self.url}/api/v1/security/login",
            json={
                "username": credentials.username,
                "password": credentials.password,
                "provider": "db",
                "refresh": False,
            },
            timeout=30,
        )
        if answer.status_code != 200:
            raise SupersetError(
                f"Superset refused the login of {credentials.username!r} "
                f"({answer.status_code}: {answer.text[:200]}); the password is in "
                "`fraudstack superset password`"
            )
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        csrf = self.get("/api/v1/security/csrf_token/")["result"]
        self.http.headers.update({"X-CSRFToken": csrf, "Referer": self.url})

    def _check(self, answer: requests.Response, what: str) -> Any:
        if answer.status_code >= 400:
            raise SupersetError(f"{what}: {answer.status_code} {answer.text[:1500]}")
        return answer.json()

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (``q`` is sent as Rison-compatible JSON)."""
        if "q" in params:
            params["q"] = json.dumps(params["q"])
        answer = self.http.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        return self._check(answer, f"GET {path}")

    def post(self, path: str, **kwargs: Any) -> Any:
        answer = self.http.post(f"{self.url}{path}", timeout=self.timeout, **kwargs)
        return self._check(answer, f"POST {path}")

    def put(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.http.put(f"{self.url}{path}", json=body, timeout=self.timeout)
        return self._check(answer, f"PUT {path}")

    def every(self, resource: str, columns: list[str]) -> list[dict[str, Any]]:
        """Every row of a list endpoint (``chart``, ``dataset``, ...), page by page."""
        rows: list[dict[str, Any]] = []
        page = 0
        while True:
            answer = self.get(
                f"/api/v1/{resource}/",
                q={"columns": columns, "page": page, "page_size": 100},
            )
            rows += answer["result"]
            if len(rows) >= answer["count"] or not answer["result"]:
                return rows
            page += 1


def health(credentials: Login) -> str:
    """Superset answers ``/health`` and an API call as the admin.

    Raises:
        Unhealthy: either does not work yet.
    """
    try:
        answer = requests.get(f"{credentials.url}/health", timeout=10)
        if answer.status_code != 200 or answer.text.strip() != "OK":
            raise Unhealthy(f"/health answered {answer.status_code}: {answer.text[:100]}")
        session = Superset(credentials, timeout=30)
        dashboards = session.get("/api/v1/dashboard/", q={"columns": ["id"]})["count"]
    except requests.RequestException as exc:
        raise Unhealthy(f"Superset does not answer: {exc}") from exc
    except SupersetError as exc:
        raise Unhealthy(str(exc)) from exc
    return f"logged in as {credentials.username}; {dashboards} dashboard(s)"
