"""Start, find and stop the local service processes.

A started service gets its own session (process group), a log file and a pid file
holding the pid *and* the kernel's start time of that pid, so that a recycled pid
is never mistaken for ours and ``down`` stops only what ``up`` started.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LOG_ROTATE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class PidFile:
    """Where a service's pid and start time are recorded."""

    path: Path

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid} {process_start_time(pid)}\n")

    def read(self) -> tuple[int, int] | None:
        try:
            pid_text, start_text = self.path.read_text().split()
            return int(pid_text), int(start_text)
        except (FileNotFoundError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """The recorded pid if that very process is still alive, else None."""
        record = self.read()
        if record is None:
            return None
        pid, start = record
        if process_start_time(pid) != start or _is_zombie(pid):
            return None
        return pid

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) may contain spaces; fields after it are plain
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (or it cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _rotate(log_path: Path) -> None:
    if log_path.exists() and log_path.stat().st_size > LOG_ROTATE_BYTES:
        log_path.replace(log_path.with_suffix(log_path.suffix + ".1"))


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    pid_file: PidFile,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached in its own session, appending output to ``log_path``.

    Returns:
        The pid of the started process (also recorded in ``pid_file``).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _rotate(log_path)
    with log_path.open("ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write(process.pid)
    return process.pid


def group_members(pgid: int) -> list[int]:
    """Pids of all live processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid and not _is_zombie(int(entry.name)):
                members.append(int(entry.name))
        except (ProcessLookupError, PermissionError):
            continue
    return members


def terminate(pid_file: PidFile, timeout: float = 30.0) -> bool:
    """Stop the recorded process and everything in its process group.

    Sends SIGTERM, waits up to ``timeout`` seconds for a clean shutdown, then SIGKILL.

    Returns:
        True if a process was running and has been stopped.
    """
    pid = pid_file.running_pid()
    if pid is None:
        pid_file.remove()
        return False
    pgid = os.getpgid(pid)
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_members(pgid):
        _signal_group(pgid, signal.SIGKILL)
        while group_members(pgid):
            time.sleep(0.1)
    _reap(pid)
    pid_file.remove()
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    """Collect the exit status if the process was our own child (avoids a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file, or an empty string when it is absent."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


_TCP_LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket


def listening_sockets(pids: Iterable[int]) -> list[tuple[int, str, int]]:
    """Every listening TCP socket (IPv4 and IPv6) that the processes ``pids`` hold open.

    Read from ``/proc`` (each process's open socket inodes matched against its network
    namespace's ``net/tcp`` and ``net/tcp6``), so it needs no tool and sees sockets an
    exited parent handed to its children.

    Returns:
        Sorted ``(pid, local address, port)``; an IPv4-mapped IPv6 address is shown as IPv4.
    """
    found: set[tuple[int, str, int]] = set()
    for pid in pids:
        try:
            listeners = _listeners(Path(f"/proc/{pid}/net"))
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # the process ended meanwhile
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and (inode := target[8:-1]) in listeners:
                found.add((pid, *listeners[inode]))
    return sorted(found)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 and ::1, also written as IPv4-mapped IPv6."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _listeners(net_dir: Path) -> dict[str, tuple[str, int]]:
    """Socket inode -> (local address, port) of the listening sockets in ``net_dir``."""
    listeners = {}
    for name in ("tcp", "tcp6"):
        lines = (net_dir / name).read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[3] != _TCP_LISTEN:
                continue
            address_hex, port_hex = fields[1].split(":")
            listeners[fields[9]] = (_address(address_hex), int(port_hex, 16))
    return listeners


def _address(hex_text: str) -> str:
    # the kernel prints each 32-bit word of the address in host (little-endian) order
    raw = b"".join(bytes.fromhex(hex_text[i : i + 8])[::-1] for i in range(0, len(hex_text), 8))
    ip = ipaddress.ip_address(raw)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)
