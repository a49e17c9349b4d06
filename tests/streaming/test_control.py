"""How the speed layer is launched: the spark-submit command line, without running it."""

from __future__ import annotations

import sys

import pytest

from fraudstack.config import load_config
from streaming import control, job


def test_the_command_passes_starting_offsets_to_the_job_only_when_asked() -> None:
    config = load_config()
    plain, _ = control.command(config, ("score",))
    assert plain[-1] == "score" and "--starting-offsets" not in plain
    latest, env = control.command(config, ("score",), starting_offsets="latest")
    assert latest[-2:] == ["--starting-offsets", "latest"]
    assert env["PYTHONPATH"] == str(config.root)


def test_the_job_refuses_an_unknown_query_or_starting_offset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["score", "bogus"], ["--starting-offsets", "middle"]):
        monkeypatch.setattr(sys, "argv", ["job.py", *argv])
        with pytest.raises(SystemExit) as exit_:
            job.main()
        assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown queries ['bogus']" in err and "invalid choice: 'middle'" in err
