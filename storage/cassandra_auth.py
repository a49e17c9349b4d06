"""Cassandra's logins in the compose deployment: the application's role, no default superuser.

With ``PasswordAuthenticator`` a new cluster has a single role, ``cassandra``, whose
password is the published ``cassandra``. ``fraudstack compose bootstrap`` logs in with
it once, creates the application's role with the password from ``.env``, then, as
that role, locks the default one (a random password nobody keeps, no login, no
superuser). Run again, it finds the application's login working and does nothing.
"""

from __future__ import annotations

import re
import secrets
import time

from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable, Session

from storage.cassandra_client import cluster

# Cassandra's published first-boot login, locked by secure_roles() below
DEFAULT_LOGIN = ("cassandra", "cassandra")  # pragma: allowlist secret
FIRST_BOOT_WAIT = 120.0  # seconds: a new node creates its default role ~10 s after start


def secure_roles(
    host: str, port: int, app_login: tuple[str, str], replication_factor: int = 1
) -> list[str]:
    """Make ``app_login`` a superuser role and lock the default one (idempotent).

    Args:
        host: a Cassandra contact point.
        port: its CQL port.
        app_login: (role, password) the application connects with.
        replication_factor: replicas of ``system_auth`` (the roles), as for the keyspace.

    Returns:
        What changed; empty when the application's login already worked.

    Raises:
        RuntimeError: neither the application's nor the default login is accepted.
    """
    role, password = app_login
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", role):
        raise ValueError(f"role name {role!r}: lower-case letters, digits and _ only")
    if _can_log_in(host, port, app_login):
        return []
    session = _first_boot_session(host, port)
    try:
        session.execute(
            "ALTER KEYSPACE system_auth WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {int(replication_factor)}}}"
        )
        session.execute(
            f"CREATE ROLE IF NOT EXISTS {role} WITH PASSWORD = %s AND LOGIN = true"
            " AND SUPERUSER = true",
            [password],
        )
    finally:
        session.cluster.shutdown()
    own = cluster(host, port, timeout=30, credentials=app_login).connect()
    try:  # a superuser cannot take its own rights away: the new role does it
        own.execute(
            f"ALTER ROLE {DEFAULT_LOGIN[0]} WITH PASSWORD = %s AND LOGIN = false"
            " AND SUPERUSER = false",
            [secrets.token_urlsafe(32)],
        )
    finally:
        own.cluster.shutdown()
    return [f"created role {role}", f"locked the default role {DEFAULT_LOGIN[0]}"]


def _can_log_in(host: str, port: int, login: tuple[str, str]) -> bool:
    try:
        cluster(host, port, timeout=30, credentials=login).connect().cluster.shutdown()
    except NoHostAvailable as exc:
        if all(isinstance(e, AuthenticationFailed) for e in exc.errors.values()):
            return False
        raise
    return True


def _first_boot_session(host: str, port: int) -> Session:
    """A session as the default superuser, waiting for a new node to create it."""
    deadline = time.monotonic() + FIRST_BOOT_WAIT
    while True:
        try:
            return cluster(host, port, timeout=30, credentials=DEFAULT_LOGIN).connect()
        except NoHostAvailable as exc:
            refused = all(isinstance(e, AuthenticationFailed) for e in exc.errors.values())
            if not refused:
                raise
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "Cassandra accepts neither the application's login (FRAUDSTACK_CASSANDRA_*"
                    " from .env) nor its first-boot default: was .env replaced after the first"
                    " start? Restore the old CASSANDRA_PASSWORD, or `docker compose down -v`"
                    " to start over with empty volumes."
                ) from exc
            time.sleep(5)
