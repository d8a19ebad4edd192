"""Progress output: periodic one-line reports in batch logs, nothing with -q (issue 19)."""

from __future__ import annotations

import sys

import pytest

from ccreco import _progress
from ccreco._progress import LogProgress, progress, set_quiet


class _Captured:
    """stderr as a batch log sees it (pytest's capture is not a terminal)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys, self.text = capsys, ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def batch_stderr(capsys, monkeypatch):
    """stderr captured (not a TTY, like a batch log), progress not disabled."""
    monkeypatch.delenv("CCRECO_NO_PROGRESS", raising=False)
    set_quiet(False)
    assert not sys.stderr.isatty()
    yield _Captured(capsys)
    set_quiet(False)


def test_batch_log_gets_periodic_lines_without_carriage_returns(batch_stderr, monkeypatch):
    monkeypatch.setenv("CCRECO_PROGRESS_INTERVAL", "0")
    with progress(total=4, desc="reco", unit="wf") as bar:
        assert isinstance(bar, LogProgress)
        for _ in range(4):
            bar.update(1)
    lines = batch_stderr.getvalue().splitlines()
    assert "\r" not in batch_stderr.getvalue()
    assert lines[0].startswith("reco: 1/4 wf (25 %)")
    assert lines[-1].startswith("reco: 4/4 wf (100 %)")
    assert len(lines) == 5  # four updates at interval 0, and the closing line


def test_batch_log_lines_are_rate_limited(batch_stderr):
    bar = LogProgress(total=1000, desc="sim", unit="wf", interval=3600.0)
    for _ in range(1000):
        bar.update(1)
    bar.set_postfix(best=0.5)
    bar.close()
    bar.close()
    assert len(batch_stderr.getvalue().splitlines()) == 1  # only the closing line, printed once
    assert "1000/1000" in batch_stderr.getvalue() and "best=0.5" in batch_stderr.getvalue()


def test_quiet_and_env_silence_everything(batch_stderr, monkeypatch):
    set_quiet(True)
    with progress(total=3, desc="x") as bar:
        bar.update(3)
    assert batch_stderr.getvalue() == ""
    assert _progress.progress_silenced() and not _progress.progress_enabled()
    set_quiet(False)
    monkeypatch.setenv("CCRECO_NO_PROGRESS", "1")
    with progress(total=3, desc="x") as bar:
        bar.update(3)
    assert batch_stderr.getvalue() == ""


def test_cli_quiet_flag_sets_and_resets(batch_stderr):
    from ccreco.cli import setup_logging

    setup_logging(0, True)
    assert _progress.is_quiet()
    setup_logging(0, False)
    assert not _progress.is_quiet()


def test_reco_quiet_prints_no_stage_lines(simulated_file, tmp_path, capsys):
    set_quiet(False)
    from ccreco.cli import main

    path = simulated_file(40, seed=5)
    assert main(["-q", "reco", str(path), "-o", str(tmp_path / "q"), "--no-plots"]) == 0
    assert "ccreco reco:" not in capsys.readouterr().err
    assert main(["reco", str(path), "-o", str(tmp_path / "v"), "--no-plots"]) == 0
    assert "ccreco reco:" in capsys.readouterr().err
