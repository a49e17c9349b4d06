import os
import socket
import sys
import time
from pathlib import Path

from fraudstack.stack import process


def _spawn_tree(tmp_path: Path) -> tuple[int, process.PidFile]:
    """A shell that starts a grandchild and waits: both must be stopped by terminate()."""
    pid_file = process.PidFile(tmp_path / "svc.pid")
    pid = process.spawn(
        ["sh", "-c", "sleep 300 & echo started; wait"],
        log_path=tmp_path / "svc.log",
        pid_file=pid_file,
    )
    deadline = time.monotonic() + 5
    while len(process.group_members(os.getpgid(pid))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid, pid_file


def test_spawn_records_pid_and_logs_output(tmp_path: Path) -> None:
    pid, pid_file = _spawn_tree(tmp_path)
    try:
        assert pid_file.running_pid() == pid
        assert "started" in (tmp_path / "svc.log").read_text()
        assert os.getpgid(pid) == pid, "service runs in its own process group"
    finally:
        process.terminate(pid_file, timeout=5)


def test_terminate_stops_the_whole_group_and_leaves_no_orphan(tmp_path: Path) -> None:
    pid, pid_file = _spawn_tree(tmp_path)
    members = process.group_members(pid)
    assert len(members) == 2
    assert process.terminate(pid_file, timeout=5) is True
    assert process.group_members(pid) == []
    assert not pid_file.path.exists()
    assert process.terminate(pid_file) is False, "second stop finds nothing to stop"


def test_terminate_escalates_to_sigkill_when_term_is_ignored(tmp_path: Path) -> None:
    pid_file = process.PidFile(tmp_path / "stubborn.pid")
    pid = process.spawn(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(300)",
        ],
        log_path=tmp_path / "stubborn.log",
        pid_file=pid_file,
    )
    while "ready" not in (tmp_path / "stubborn.log").read_text():
        time.sleep(0.05)
    started = time.monotonic()
    assert process.terminate(pid_file, timeout=1) is True
    assert time.monotonic() - started < 10
    assert process.group_members(pid) == []


def test_a_recycled_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    pid_file = process.PidFile(tmp_path / "old.pid")
    # our own pid, but with another start time: as if the service died and the pid was reused
    pid_file.path.write_text(f"{os.getpid()} 1\n")
    assert pid_file.running_pid() is None
    assert process.terminate(pid_file) is False
    assert os.getpid() > 0  # we are still alive: terminate() did not signal us


def test_port_in_use_and_port_open() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert process.port_in_use("127.0.0.1", port)
        assert process.port_open("127.0.0.1", port)
    assert not process.port_in_use("127.0.0.1", port)
    assert not process.port_open("127.0.0.1", port, timeout=0.2)


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert process.tail(log, 3).splitlines() == ["line 97", "line 98", "line 99"]
    assert process.tail(tmp_path / "missing.log") == ""


def test_listening_sockets_names_the_address_each_socket_is_bound_to() -> None:
    with socket.socket() as private, socket.socket() as public, socket.socket() as client:
        private.bind(("127.0.0.1", 0))
        private.listen()
        public.bind(("0.0.0.0", 0))
        public.listen()
        client.connect(private.getsockname())  # connected, not listening: not reported
        ports = private.getsockname()[1], public.getsockname()[1], client.getsockname()[1]
        found = {
            (address, port)
            for pid, address, port in process.listening_sockets([os.getpid()])
            if pid == os.getpid()
        }
    assert ("127.0.0.1", ports[0]) in found
    assert ("0.0.0.0", ports[1]) in found
    assert ports[2] not in {port for _, port in found}


def test_listening_sockets_reads_ipv6_and_ipv4_mapped_addresses() -> None:
    with socket.socket(socket.AF_INET6) as v6, socket.socket(socket.AF_INET6) as mapped:
        v6.bind(("::1", 0))
        v6.listen()
        mapped.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        mapped.bind(("::ffff:127.0.0.1", 0))
        mapped.listen()
        ports = v6.getsockname()[1], mapped.getsockname()[1]
        found = {(a, p) for _, a, p in process.listening_sockets([os.getpid()])}
    assert ("::1", ports[0]) in found
    assert ("127.0.0.1", ports[1]) in found


def test_is_loopback() -> None:
    assert process.is_loopback("127.0.0.1")
    assert process.is_loopback("127.1.2.3")
    assert process.is_loopback("::1")
    assert process.is_loopback("::ffff:127.0.0.1")
    assert not process.is_loopback("0.0.0.0")
    assert not process.is_loopback("::")
    assert not process.is_loopback("10.0.0.5")
