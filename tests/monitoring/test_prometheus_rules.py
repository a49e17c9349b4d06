"""Prometheus configuration and rules, checked and unit-tested with the real promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fraudstack.config import REPO_ROOT, load_config
from fraudstack.stack.services import stack_services

MONITORING = REPO_ROOT / "monitoring" / "prometheus"
pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="run `make setup`")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("rules", sorted(MONITORING.glob("rules/*.yml")), ids=lambda p: p.name)
def test_rule_files_are_valid(rules: Path) -> None:
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tests", sorted(MONITORING.glob("tests/*.yml")), ids=lambda p: p.name)
def test_rule_unit_tests_pass(tests: Path) -> None:
    result = promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    import yaml

    alerts = {
        rule["alert"]
        for path in MONITORING.glob("rules/*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in MONITORING.glob("tests/*.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    untested = alerts - tested - {"HostMemoryLow", "HostDiskLow", "HdfsMissingBlocks"}
    assert not untested, f"alerts without a promtool test: {sorted(untested)}"


def test_the_rendered_scrape_config_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUDSTACK_HOME", str(tmp_path))
    config = load_config("local")
    stack_services(config)["prometheus"].prepare()
    rendered = tmp_path / "conf" / "prometheus" / "prometheus.yml"
    result = promtool("check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    text = rendered.read_text()
    for job in ("kafka", "cassandra", "hdfs", "thriftserver", "node", "processes"):
        assert f"job_name: {job}" in text
