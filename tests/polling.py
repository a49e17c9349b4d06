"""Waiting on real services without sleeping blindly, and free ports to put them on."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable

import pytest

# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for outgoing
# connections could be taken by one (Kafka, Cassandra, Spark clients) while a test has a
# service stopped, and the service could then not bind it again on restart.
_PORTS = range(20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, outside the ephemeral range, not handed out before."""
    for port in random.sample(_PORTS, len(_PORTS)):
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port between 20000 and 32000")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)
