"""Configuration: committed defaults, an optional deployment overlay, local overrides.

Order of precedence (later wins):
    config/defaults.yaml
    config/<FRAUDSTACK_ENV>.yaml      (only when FRAUDSTACK_ENV is set and not "local")
    config/local.yaml                 (git-ignored, for one developer's machine)
    FRAUDSTACK_HOME                   (environment, overrides ``home``)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"


class ConfigError(RuntimeError):
    """The configuration is missing or inconsistent; the message says what to fix."""


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


@dataclass(frozen=True)
class Config:
    """The merged settings plus the paths derived from them."""

    raw: dict[str, Any]
    env: str = "local"

    @property
    def root(self) -> Path:
        return REPO_ROOT

    @cached_property
    def home(self) -> Path:
        home = Path(os.environ.get("FRAUDSTACK_HOME") or self.raw["home"])
        return home if home.is_absolute() else REPO_ROOT / home

    @property
    def jars_dir(self) -> Path:
        return self.home / "jars"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def textfile_dir(self) -> Path:
        """Where jobs drop ``<name>.prom`` files for the node exporter's textfile collector."""
        return self.data_dir / "node-exporter-textfile"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    def service(self, name: str) -> dict[str, Any]:
        """Settings of one service, with ``host`` filled in from the global default."""
        try:
            settings = dict(self.raw["services"][name])
        except KeyError as exc:
            raise ConfigError(f"no service named {name!r} in the configuration") from exc
        settings.setdefault("host", self.raw["host"])
        return settings

    def host(self, name: str) -> str:
        return str(self.service(name)["host"])

    def port(self, name: str, which: str = "port") -> int:
        return int(self.service(name)[which])

    def address(self, name: str, which: str = "port") -> str:
        return f"{self.host(name)}:{self.port(name, which)}"

    def path(self, key: str, section: str) -> Path:
        """A repository-relative file path from a config section, e.g. the topic list."""
        return REPO_ROOT / self.raw[section][key]

    @property
    def kafka_bootstrap(self) -> str:
        return self.address("kafka")

    @property
    def hdfs_uri(self) -> str:
        return f"hdfs://{self.address('namenode')}"

    def storage_uri(self, path: str) -> str:
        """A full URI for a storage path: as given if it has a scheme, else on the stack's HDFS."""
        return path if "://" in path else f"{self.hdfs_uri}/{path.lstrip('/')}"

    @property
    def keyspace(self) -> str:
        return str(self.raw["cassandra"]["keyspace"])


def load_config(env: str | None = None) -> Config:
    """Load the merged configuration.

    Layers, later wins: ``config/defaults.yaml``, ``config/<env>.yaml``,
    ``config/local.yaml`` (git-ignored), then the file ``$FRAUDSTACK_CONFIG`` names.

    Args:
        env: deployment name; defaults to ``$FRAUDSTACK_ENV`` or ``local``.

    Returns:
        The merged configuration.
    """
    env = env or os.environ.get("FRAUDSTACK_ENV") or "local"
    raw = _read_yaml(CONFIG_DIR / "defaults.yaml")
    if env != "local":
        overlay = CONFIG_DIR / f"{env}.yaml"
        if not overlay.exists():
            raise ConfigError(f"FRAUDSTACK_ENV={env} but {overlay} does not exist")
        raw = _merge(raw, _read_yaml(overlay))
    local = CONFIG_DIR / "local.yaml"
    if local.exists():
        raw = _merge(raw, _read_yaml(local))
    extra = os.environ.get("FRAUDSTACK_CONFIG")
    if extra:  # one more overlay, last: e.g. a test's own checkpoint and ports
        raw = _merge(raw, _read_yaml(Path(extra)))
    return Config(raw=raw, env=env)
