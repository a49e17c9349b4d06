"""The launcher's behaviour, with small real processes standing in as services."""

import dataclasses
import socket
import sys
from pathlib import Path

import pytest
import requests

from fraudstack.config import Config
from fraudstack.stack import launcher, process
from fraudstack.stack.health import Unhealthy
from fraudstack.stack.services import Service, render


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("FRAUDSTACK_HOME", str(tmp_path / "home"))
    return Config(raw={"home": "unused", "host": "127.0.0.1", "services": {}})


def http_service(name: str, port: int, depends_on: tuple[str, ...] = ()) -> Service:
    def health() -> str:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1).raise_for_status()
        except requests.RequestException as exc:
            raise Unhealthy(f"no answer on {port}") from exc
        return f"serving on {port}"

    return Service(
        name=name,
        host="127.0.0.1",
        ports={"port": port},
        command=lambda: (
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            {},
        ),
        health=health,
        depends_on=depends_on,
        start_timeout=20,
    )


def test_up_starts_in_dependency_order_is_idempotent_and_down_stops_all(config: Config) -> None:
    services = {
        "db": http_service("db", _free_port()),
        "api": http_service("api", _free_port(), depends_on=("db",)),
    }
    events: list[tuple[str, str]] = []
    try:
        results = launcher.up(config, report=lambda n, e: events.append((n, e)), services=services)
        assert set(results) == {"db", "api"}
        started = [name for name, event in events if event == "started"]
        assert started == ["db", "api"]
        healthy_db = next(
            i for i, (n, e) in enumerate(events) if n == "db" and e.startswith("healthy")
        )
        assert events.index(("api", "started")) > healthy_db

        pids = {name: launcher.pid_file(config, name).running_pid() for name in services}
        events.clear()
        launcher.up(config, report=lambda n, e: events.append((n, e)), services=services)
        assert ("db", "already running") in events and ("api", "already running") in events
        assert {n: launcher.pid_file(config, n).running_pid() for n in services} == pids

        states = {s.name: s.state for s in launcher.status(config, services=services)}
        assert states == {"db": "healthy", "api": "healthy"}
    finally:
        stopped = launcher.down(config, ["db"], services=services)  # api depends on db
    assert stopped == ["api", "db"]
    assert all(not process.port_open("127.0.0.1", s.ports["port"]) for s in services.values())
    assert {s.state for s in launcher.status(config, services=services)} == {"stopped"}


def test_up_refuses_before_starting_anything_when_a_port_is_taken(config: Config) -> None:
    free, taken = _free_port(), _free_port()
    services = {"a": http_service("a", free), "b": http_service("b", taken)}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        with pytest.raises(
            launcher.StackError, match=rf"b: port {taken} \(port\) is already in use"
        ):
            launcher.up(config, services=services)
        states = {s.name: s.state for s in launcher.status(config, services=services)}
    assert launcher.pid_file(config, "a").running_pid() is None, "nothing was started"
    assert states == {"a": "stopped", "b": "foreign"}


def test_a_crashing_service_is_named_with_its_reason_and_last_log_lines(config: Config) -> None:
    crash = Service(
        name="crashy",
        host="127.0.0.1",
        ports={"port": _free_port()},
        command=lambda: (["sh", "-c", "echo 'FATAL: cannot open data dir' >&2; exit 3"], {}),
        health=lambda: (_ for _ in ()).throw(Unhealthy("not listening")),
        start_timeout=20,
    )
    dependent = http_service("after", _free_port(), depends_on=("crashy",))
    with pytest.raises(launcher.StackError) as error:
        launcher.up(config, services={"crashy": crash, "after": dependent})
    message = str(error.value)
    assert "crashy did not become healthy: the process exited" in message
    assert "FATAL: cannot open data dir" in message
    assert launcher.pid_file(config, "after").running_pid() is None, "dependent never started"


def test_a_service_that_never_gets_healthy_times_out_with_the_last_reason(config: Config) -> None:
    listening = http_service("sleepy", _free_port())
    sleeper = dataclasses.replace(
        listening,
        health=lambda: (_ for _ in ()).throw(Unhealthy("still warming up")),
        start_timeout=3,
    )
    try:
        with pytest.raises(launcher.StackError, match=r"not healthy after 3s \(still warming up\)"):
            launcher.up(config, services={"sleepy": sleeper})
    finally:
        launcher.down(config, services={"sleepy": sleeper})


def test_a_service_that_never_listens_is_reported_as_such(config: Config) -> None:
    mute = Service(
        name="mute",
        host="127.0.0.1",
        ports={"port": _free_port()},
        command=lambda: (["sleep", "60"], {}),
        health=lambda: "never asked",
        start_timeout=2,
    )
    try:
        with pytest.raises(launcher.StackError, match=r"nothing listens on 127\.0\.0\.1:\d+ yet"):
            launcher.up(config, services={"mute": mute})
    finally:
        launcher.down(config, services={"mute": mute})


def test_unknown_service_names_are_rejected(config: Config) -> None:
    with pytest.raises(launcher.StackError, match="unknown service"):
        launcher.up(config, names=["nope"], services={"db": http_service("db", _free_port())})


def test_render_fills_placeholders_and_rejects_unknown_ones(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.properties").write_text("listeners=PLAINTEXT://${host}:${port}\n")
    render(source, tmp_path / "out", {"host": "127.0.0.1", "port": 9092})
    assert (
        tmp_path / "out" / "a.properties"
    ).read_text() == "listeners=PLAINTEXT://127.0.0.1:9092\n"
    (source / "b.properties").write_text("x=${missing}\n")
    with pytest.raises(KeyError, match="missing"):
        render(source, tmp_path / "out", {"host": "h", "port": 1})
