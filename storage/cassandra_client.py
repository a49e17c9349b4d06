"""The one way fraudstack opens a Cassandra connection (explicit policies, protocol v5).

Credentials come from the environment: ``FRAUDSTACK_CASSANDRA_USERNAME`` and
``FRAUDSTACK_CASSANDRA_PASSWORD`` (the compose deployment sets both from ``.env``;
Cassandra there runs with ``PasswordAuthenticator``). The loopback-only local node
needs none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

LOCAL_DATACENTER = "datacenter1"  # SimpleSnitch's datacenter, the single-node default
ENV_USERNAME = "FRAUDSTACK_CASSANDRA_USERNAME"
ENV_PASSWORD = "FRAUDSTACK_CASSANDRA_PASSWORD"


def credentials_from_env() -> tuple[str, str] | None:
    """(username, password) when both are set in the environment, else None."""
    username, password = os.environ.get(ENV_USERNAME), os.environ.get(ENV_PASSWORD)
    if bool(username) != bool(password):
        raise ValueError(f"set both {ENV_USERNAME} and {ENV_PASSWORD}, or neither")
    return (username, password) if username and password else None


def cluster(
    host: str,
    port: int,
    timeout: float = 10.0,
    credentials: tuple[str, str] | None = None,
) -> Cluster:
    """A driver ``Cluster`` for ``host:port``; call ``.connect()`` and ``.shutdown()``.

    Args:
        host: a contact point.
        port: its CQL port.
        timeout: connect and request timeout in seconds.
        credentials: (username, password); default: :func:`credentials_from_env`.
    """
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=LOCAL_DATACENTER)),
        request_timeout=timeout,
    )
    login = credentials or credentials_from_env()
    return Cluster(
        [host],
        port=port,
        protocol_version=5,
        connect_timeout=timeout,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=PlainTextAuthProvider(*login) if login else None,
    )


@contextmanager
def connected(
    host: str, port: int, keyspace: str | None = None, timeout: float = 10.0
) -> Iterator[Session]:
    """A session on :func:`cluster` (in ``keyspace`` if given), shut down on the way out."""
    connection = cluster(host, port, timeout)
    try:
        yield connection.connect(keyspace)
    finally:
        connection.shutdown()
