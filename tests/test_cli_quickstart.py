"""The README quickstart runs as pasted, from a directory outside the clone (on small data)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ccreco.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

# Small data: every size in the block is replaced, nothing else is changed.
SMALL = [
    (r"-n 5000\b", "-n 300"),
    (r"-n 2000\b", "-n 200"),
    (r"--set epochs=\d+", "--set epochs=1"),
    (r"--trials \d+", "--trials 1"),
    (r"--max-waveforms \d+", "--max-waveforms 200"),
    (r"--tracks \d+", "--tracks 3"),
    (r"--momenta [\d,]+", "--momenta 5"),
]
# Extra options for speed on small data (appended, so the pasted options are all exercised).
FAST = {
    "tune": ["--n-sim", "100", "--iterations", "1"],
    "hpo": ["--executor", "iterative"],
}


def quickstart_lines() -> list[str]:
    """The ``ccreco`` command lines of the README's quickstart block (comments stripped)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no ```bash block under ## Quickstart"
    lines = []
    for raw in block.group(1).splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def test_quickstart_block_is_self_contained():
    lines = quickstart_lines()
    assert all(line.startswith("ccreco ") for line in lines), lines  # nothing to source or cd into
    created: set[str] = set()
    for line in lines:
        argv = shlex.split(line)
        out = argv[argv.index("-o") + 1] if "-o" in argv else None
        inputs = [a for a in argv[2:] if a.endswith((".root", ".toml", ".onnx")) and a != out
                  and argv[argv.index(a) - 1] not in ("-o", "--output")]
        for name in inputs:  # every file a line reads is made by an earlier line
            assert name in created, f"{line!r} reads {name}, which no earlier line creates"
        if out:
            created.add(out)
    assert {"simulate", "inspect", "reco", "evaluate", "train", "tune", "compare", "pid", "hpo"} <= {
        shlex.split(line)[1] for line in lines}


@pytest.mark.slow
def test_quickstart_runs_as_pasted(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # any directory: nothing may come from the clone's examples/
    monkeypatch.setenv("CCRECO_NO_PROGRESS", "1")
    for line in quickstart_lines():
        for pattern, small in SMALL:
            line = re.sub(pattern, small, line)
        argv = shlex.split(line)[1:]
        argv += FAST.get(argv[0], [])
        rc = main(argv)
        captured = capsys.readouterr()
        assert rc == 0, f"{line!r} exited {rc}:\n{captured.err[-2000:]}"
    for path in ("run.root", "run-plots", "reco-run/reco.root", "reco-run/hists.root", "reco-run/summary.json",
                 "deriv.json", "lstm.json", "cnn.json", "my_lstm.onnx", "my_cnn.onnx", "train_wide.root",
                 "my_perpeak.onnx", "tuned.toml", "sim.root",
                 "compare/summary.json", "pid/pid.json", "hpo/best.onnx"):
        assert (tmp_path / path).exists(), path
