"""Bring the local stack up and down, and report its state.

``up`` starts every service whose dependencies are healthy, in parallel, waits
until each is usable, and applies the declarative setup (topics, schema). It is
safe to run twice: a service already running from an earlier ``up`` is only
checked. ``down`` stops only processes recorded in our pid files.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fraudstack.config import Config
from fraudstack.stack import process
from fraudstack.stack.health import Unhealthy
from fraudstack.stack.services import Service, stack_services

POLL_SECONDS = 1.0


class StackError(RuntimeError):
    """``up`` could not bring the stack to health; the message names service and reason."""


@dataclass
class ServiceState:
    """What ``status`` reports about one service."""

    name: str
    state: str  # healthy | unhealthy | stopped | foreign
    pid: int | None
    ports: dict[str, int]
    detail: str


def pid_file(config: Config, name: str) -> process.PidFile:
    return process.PidFile(config.run_dir / f"{name}.pid")


def log_path(config: Config, name: str) -> Path:
    return config.logs_dir / f"{name}.log"


def port_owner(port: int) -> str:
    """Best-effort description of the process listening on ``port`` (from ``ss``)."""
    try:
        out = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown process"
    return out.split("users:")[-1].strip() if "users:" in out else "unknown process"


def preflight(config: Config, services: Iterable[Service]) -> list[str]:
    """Ports needed by services we are about to start on which something else listens.

    A listener is what blocks a start; connections of a process that just exited,
    still closing in the kernel, do not (the services bind with SO_REUSEADDR).
    """
    problems = []
    for service in services:
        if pid_file(config, service.name).running_pid() is not None:
            continue
        for role, port in service.ports.items():
            if process.port_open(service.host, port, timeout=0.5):
                problems.append(
                    f"{service.name}: port {port} ({role}) is already in use by {port_owner(port)}"
                )
    return problems


def _failure(config: Config, service: Service, reason: str) -> StackError:
    logs = process.tail(log_path(config, service.name), 25)
    return StackError(
        f"{service.name} did not become healthy: {reason}\n"
        f"last lines of {log_path(config, service.name)}:\n{logs or '(empty)'}"
    )


def start_and_wait(
    config: Config,
    service: Service,
    report: Callable[[str, str], None],
    cancel: threading.Event | None = None,
) -> str:
    """Start ``service`` unless it runs already, then wait until it is healthy.

    Args:
        config: the configuration.
        service: the service to start.
        report: called with (service name, event) for progress lines.
        cancel: when set (another service failed), stop waiting.

    Returns:
        The health detail of the service.

    Raises:
        StackError: the process died, or it was not healthy within its timeout.
    """
    pids = pid_file(config, service.name)
    if pids.running_pid() is None:
        try:
            service.prepare()
            argv, env = service.command()
            process.spawn(
                argv,
                log_path=log_path(config, service.name),
                pid_file=pids,
                env={**os.environ, **env},
                cwd=config.home,
            )
        except Exception as exc:
            raise _failure(config, service, f"could not start: {exc}") from exc
        report(service.name, "started")
    else:
        report(service.name, "already running")
    deadline = time.monotonic() + service.start_timeout
    reason = "no answer yet"
    while time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            raise StackError(f"{service.name}: gave up waiting because another service failed")
        if pids.running_pid() is None:
            raise _failure(config, service, "the process exited")
        main_port = next(iter(service.ports.values()))
        if not process.port_open(service.host, main_port):
            # clients block for long timeouts against a port nobody listens on yet
            reason = f"nothing listens on {service.host}:{main_port} yet"
            time.sleep(POLL_SECONDS)
            continue
        try:
            for change in service.bootstrap():
                report(service.name, change)
            return service.health()
        except Unhealthy as exc:
            reason = str(exc)
        except Exception as exc:  # a client library error while the service is starting
            reason = f"{type(exc).__name__}: {exc}"
        time.sleep(POLL_SECONDS)
    raise _failure(config, service, f"not healthy after {service.start_timeout:.0f}s ({reason})")


def up(
    config: Config,
    names: Iterable[str] | None = None,
    report: Callable[[str, str], None] = lambda name, event: None,
    services: dict[str, Service] | None = None,
) -> dict[str, str]:
    """Start the named services (default: all) and their dependencies; wait for health.

    Returns:
        Health detail per service.

    Raises:
        StackError: a port is taken, or a service failed to become healthy.
    """
    services = services or stack_services(config)
    wanted = _with_dependencies(services, list(names or services))
    problems = preflight(config, (services[name] for name in wanted))
    if problems:
        raise StackError("cannot start, ports already in use:\n  " + "\n  ".join(problems))
    for directory in (config.data_dir, config.logs_dir, config.run_dir, config.conf_dir):
        directory.mkdir(parents=True, exist_ok=True)
    done = {name: threading.Event() for name in wanted}
    failed = threading.Event()
    results: dict[str, str] = {}

    def run(name: str) -> None:
        service = services[name]
        for dependency in service.depends_on:
            while not done[dependency].wait(0.5):
                if failed.is_set():
                    return
        started = time.monotonic()
        try:
            results[name] = start_and_wait(config, service, report, cancel=failed)
        except BaseException:
            failed.set()
            raise
        report(name, f"healthy in {time.monotonic() - started:.1f}s: {results[name]}")
        done[name].set()

    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        futures = [pool.submit(run, name) for name in wanted]
    errors = [f.exception() for f in futures if f.exception() is not None]
    # the first real failure, not a service that only gave up waiting because of it
    errors.sort(key=lambda error: "gave up waiting" in str(error))
    if errors:
        raise errors[0] if isinstance(errors[0], StackError) else StackError(str(errors[0]))
    return results


def _with_dependencies(services: dict[str, Service], names: list[str]) -> list[str]:
    """``names`` plus everything they depend on, in the stack's declaration order."""
    unknown = [name for name in names if name not in services]
    if unknown:
        raise StackError(f"unknown service(s) {unknown}; known: {', '.join(services)}")
    needed: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(services[name].depends_on)
    return [name for name in services if name in needed]


def down(
    config: Config,
    names: Iterable[str] | None = None,
    report: Callable[[str, str], None] = lambda name, event: None,
    services: dict[str, Service] | None = None,
) -> list[str]:
    """Stop the named services (default: all) and those that depend on them.

    Only processes recorded by ``up`` are stopped; dependents stop first.

    Returns:
        Names of the services that were running and have been stopped.
    """
    services = services or stack_services(config)
    wanted = set(names or services)
    unknown = wanted - set(services)
    if unknown:
        raise StackError(f"unknown service(s) {sorted(unknown)}; known: {', '.join(services)}")
    grew = True
    while grew:  # add every service that depends on one being stopped
        dependents = {n for n, s in services.items() if wanted.intersection(s.depends_on)}
        grew = not dependents <= wanted
        wanted |= dependents
    stopped = []
    for name in reversed([name for name in services if name in wanted]):
        if process.terminate(pid_file(config, name), timeout=60):
            stopped.append(name)
            report(name, "stopped")
    return stopped


def status(config: Config, services: dict[str, Service] | None = None) -> list[ServiceState]:
    """Health of every service, checked live."""

    def check(service: Service) -> ServiceState:
        pid = pid_file(config, service.name).running_pid()
        if pid is None:
            taken = [
                p for p in service.ports.values() if process.port_open(service.host, p, timeout=0.5)
            ]
            if taken:
                return ServiceState(
                    service.name,
                    "foreign",
                    None,
                    service.ports,
                    f"not started by fraudstack, but port(s) {taken} in use",
                )
            return ServiceState(service.name, "stopped", None, service.ports, "")
        try:
            return ServiceState(service.name, "healthy", pid, service.ports, service.health())
        except Unhealthy as exc:
            return ServiceState(service.name, "unhealthy", pid, service.ports, str(exc))
        except Exception as exc:
            return ServiceState(
                service.name, "unhealthy", pid, service.ports, f"{type(exc).__name__}: {exc}"
            )

    ordered = list((services or stack_services(config)).values())
    with ThreadPoolExecutor(max_workers=len(ordered)) as pool:
        return list(pool.map(check, ordered))
