"""Cassandra's logins as the compose deployment sets them up, on a real Cassandra 5.0 node.

A throwaway node of the stack's own Cassandra (its jars and config templates, other
ports, a temporary home) gets the compose image's switch to password authentication
(``docker/cassandra/enable-auth.sh``); then ``secure_roles`` runs as ``fraudstack
compose bootstrap`` runs it.
"""

from __future__ import annotations

import copy
import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest
from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable

from fraudstack.config import REPO_ROOT, Config
from fraudstack.stack import process
from fraudstack.stack.services.cassandra import cassandra
from storage import cassandra_auth
from storage.cassandra_auth import DEFAULT_LOGIN, secure_roles
from storage.cassandra_client import ENV_PASSWORD, ENV_USERNAME, cluster
from storage.cassandra_schema import apply_schema, schema_statements
from tests.polling import free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENABLE_AUTH = REPO_ROOT / "docker" / "cassandra" / "enable-auth.sh"


@pytest.fixture(scope="module")
def node(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(host, CQL port) of a fresh single node with PasswordAuthenticator on."""
    home = tmp_path_factory.mktemp("cassandra-auth")
    (home / "jars").symlink_to(stack.jars_dir)
    raw = copy.deepcopy(stack.raw)
    raw["home"] = str(home)
    ports = {k: free_port() for k in ("port", "storage_port", "jmx_port", "metrics_port")}
    raw["services"]["cassandra"].update(ports, heap="512m")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("FRAUDSTACK_HOME", raising=False)
        config = Config(raw=raw)
        assert config.home == home
    service = cassandra(config)
    service.prepare()
    subprocess.run(["sh", str(ENABLE_AUTH), str(home / "conf" / "cassandra" / "cassandra.yaml")],
                   check=True)  # fmt: skip
    argv, extra = service.command()
    pid_file = process.PidFile(home / "run" / "cassandra.pid")
    log = home / "logs" / "cassandra.log"
    process.spawn(argv, log_path=log, pid_file=pid_file, env={**os.environ, **extra})
    try:
        host = config.host("cassandra")
        wait_for(lambda: process.port_open(host, ports["port"]), 300, "the node's CQL port")
        yield host, ports["port"]
    finally:
        process.terminate(pid_file)


def refused(host: str, port: int, login: tuple[str, str] | None) -> bool:
    try:
        cluster(host, port, timeout=20, credentials=login).connect().cluster.shutdown()
    except NoHostAvailable as exc:
        # a dict of host -> error when the control connection failed; a session whose
        # pools failed reports only a list of hosts, which says nothing about the login
        errors = list(exc.errors.values()) if isinstance(exc.errors, dict) else []
        return bool(errors) and all(isinstance(e, AuthenticationFailed) for e in errors)
    return False


def test_compose_bootstrap_leaves_only_the_application_login(
    node: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = node
    monkeypatch.delenv(ENV_USERNAME, raising=False)
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    assert refused(host, port, None), "the node accepts connections without a login"

    app_login = ("fraudstack", secrets.token_urlsafe(24))
    assert secure_roles(host, port, app_login) == [
        "created role fraudstack",
        "locked the default role cassandra",
    ]
    assert secure_roles(host, port, app_login) == []  # a second bootstrap changes nothing
    # a node keeps a login it has already checked in its credentials cache for a while
    wait_for(lambda: refused(host, port, DEFAULT_LOGIN), 60, "the default login refused")
    assert refused(host, port, ("fraudstack", secrets.token_urlsafe(24)))
    with monkeypatch.context() as patch:  # .env replaced after the first start
        patch.setattr(cassandra_auth, "FIRST_BOOT_WAIT", 0.0)
        with pytest.raises(RuntimeError, match=r"was \.env replaced"):
            secure_roles(host, port, ("fraudstack", secrets.token_urlsafe(24)))

    # the application's own client, configured from the environment as in compose
    monkeypatch.setenv(ENV_USERNAME, app_login[0])
    monkeypatch.setenv(ENV_PASSWORD, app_login[1])
    schema = REPO_ROOT / "storage" / "cassandra" / "schema.cql"
    created = apply_schema(host, port, schema_statements(schema, "fraudstack"), "fraudstack")
    assert "created keyspace fraudstack" in created
    session = cluster(host, port).connect("fraudstack")
    try:
        session.execute(
            "INSERT INTO service_health (probe, checked_at) VALUES ('auth', toTimestamp(now()))"
        )
        assert session.execute("SELECT probe FROM service_health").one().probe == "auth"
    finally:
        session.cluster.shutdown()
