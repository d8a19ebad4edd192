"""ROOT itself reads what ccreco writes: the check_ntuple.C macro and a hist.Hist as TH1D."""

from __future__ import annotations

import subprocess
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from io_helpers import N_SAMPLES_TEST, make_chunk, make_truth, write_native, write_raw

pytestmark = pytest.mark.root

MACRO = Path(__file__).resolve().parents[1] / "macros" / "check_ntuple.C"


def _root(root_exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([root_exe, "-l", "-b", "-q", *args], capture_output=True, text=True, timeout=120)


def test_macro_accepts_ccreco_file(tmp_path, root_exe):
    path = write_native(tmp_path / "ok.root", 20, chunks=2)
    proc = _root(root_exe, f'{MACRO}("{path}", "sim", {N_SAMPLES_TEST}, 1.0)')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check_ntuple: OK" in proc.stdout and "40 entries" in proc.stdout
    assert f"{N_SAMPLES_TEST} samples" in proc.stdout and "truth:     yes" in proc.stdout


def test_macro_fails_on_bad_file(tmp_path, root_exe):
    wf = make_chunk(10, truth=False).waveforms
    wf[4, 0] = np.nan
    truth = make_truth(10, np.random.default_rng(1))
    n_cl = np.asarray(ak.num(truth.cluster_time_ns), dtype=np.int32)
    n_cl[6] += 1
    path = write_raw(tmp_path / "bad.root", {
        "waveform": wf, "sampling_ns": np.ones(10), "n_clusters": n_cl,
        "cluster_time_ns": truth.cluster_time_ns,
    })
    proc = _root(root_exe, f'{MACRO}("{path}")')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL: entry 6: n_clusters" in proc.stdout
    assert "FAIL: 1 NaN/inf samples, first in entry 4" in proc.stdout
    assert "check_ntuple: FAIL (2 problems)" in proc.stdout


def test_hist_opens_as_th1d(tmp_path, root_exe):
    import hist
    import uproot

    h = hist.Hist.new.Reg(10, 0.0, 5.0, name="x").Double()
    h.fill(np.random.default_rng(3).exponential(1.0, 500))
    path = tmp_path / "h.root"
    with uproot.recreate(path) as f:
        f["h"] = h
    code = (
        f'auto f = TFile::Open("{path}"); auto h = f->Get<TH1>("h");'
        'if (!h) gSystem->Exit(3);'
        'printf("class=%s bins=%d sum=%.1f b3=%.1f\\n", h->ClassName(), h->GetNbinsX(),'
        ' h->Integral(0, h->GetNbinsX() + 1), h->GetBinContent(3)); gSystem->Exit(0);'
    )
    proc = _root(root_exe, "-e", code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"class=TH1D bins=10 sum=500.0 b3={h.values()[2]:.1f}" in proc.stdout
