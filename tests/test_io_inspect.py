"""inspect_file and the ``ccreco inspect`` command: every problem, exit status."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
from io_helpers import N_SAMPLES_TEST, make_chunk, make_truth, write_native, write_raw

from ccreco.cli import main
from ccreco.io import inspect_file


def test_clean_file(tmp_path):
    report = inspect_file(write_native(tmp_path / "a.root", 15))
    assert report.ok and report.entries == 15 and report.n_samples == N_SAMPLES_TEST
    assert report.sampling_ns == 1.0 and report.has_truth and "cluster_time_ns" in report.truth_fields
    assert "waveform" in report.branches


def test_collects_all_problems(tmp_path):
    c = make_chunk(20, truth=False)
    c.waveforms[3, 2] = np.nan
    truth = make_truth(20, np.random.default_rng(2))
    cs = ak.to_list(truth.cluster_size)
    cs[11][0] += 2
    sampling = np.ones(20)
    sampling[17] = 2.0
    path = write_raw(tmp_path / "bad.root", {
        "waveform": c.waveforms, "sampling_ns": sampling,
        "cluster_size": ak.values_astype(ak.Array(cs), np.int32),
        "electron_time_ns": truth.electron_time_ns,
    })
    report = inspect_file(path)
    assert report.n_samples == N_SAMPLES_TEST and report.sampling_ns == 1.0
    kinds = sorted(p.split(":", 1)[0] for p in report.problems)
    assert kinds == ["NonFiniteWaveformError", "SamplingMismatchError", "TruthInconsistencyError"]
    assert any("entry 3" in p for p in report.problems) and any("entry 11" in p for p in report.problems)


def test_every_missing_branch(tmp_path):
    path = write_raw(tmp_path / "x.root", {"wf": np.zeros((2, 4), np.float32)})
    report = inspect_file(path)
    assert [e.branch for e in report.errors] == ["waveform", "sampling_ns"]
    assert report.entries == 2 and not report.has_truth


def test_cli(tmp_path, capsys):
    good = write_native(tmp_path / "a.root", 5, truth=False)
    assert main(["inspect", str(good)]) == 0
    out = capsys.readouterr().out
    assert "truth:       no" in out and "problems:    none" in out and "sampling:    1 ns" in out
    assert main(["inspect", str(good), "--json", "--sampling-ns", "0.5"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and "expected 0.5 ns" in doc["problems"][0]
    assert main(["inspect", str(tmp_path / "none.root"), "--schema", "cepc"]) == 1
    assert "no such file" in capsys.readouterr().out
    assert main(["inspect", str(good), "--mapping", str(tmp_path / "x.toml")]) == 2
