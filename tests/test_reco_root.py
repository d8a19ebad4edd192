"""ROOT reads what ``ccreco reco`` writes: macros/draw_hists.C and macros/draw_reco.C on a fresh run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import uproot

from ccreco.reco.batch import run_reco
from ccreco.sim import SimConfig, simulate_to_file

pytestmark = pytest.mark.root

MACROS = Path(__file__).resolve().parents[1] / "macros"
N = 150


def _root(root_exe: str, macro: str, *args: str) -> subprocess.CompletedProcess[str]:
    quoted = ", ".join(f'"{a}"' for a in args)
    call = f"{MACROS / macro}({quoted})"
    return subprocess.run([root_exe, "-l", "-b", "-q", call], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("reco_root")
    simulate_to_file(base / "run.root", SimConfig.from_preset("tb2023-untuned"), N, 11)
    return run_reco([base / "run.root"], base / "out", chunk_size=100, plots=False, status=False)


def _summary_line(text: str, prog: str, name: str) -> tuple[int, float, float]:
    m = re.search(rf"^{prog}: {re.escape(name)}\s+entries (\d+) mean (\S+) rms (\S+)$", text, re.M)
    assert m, f"no summary line for {name} in:\n{text}"
    return int(m.group(1)), float(m.group(2)), float(m.group(3))


def test_draw_hists(run, tmp_path, root_exe):
    proc = _root(root_exe, "draw_hists.C", str(run.outdir / "hists.root"), str(tmp_path / "figs"))
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "draw_hists: OK (13 histograms, 4 files written" in out
    assert re.search(r"^draw_hists: provenance: ccreco \d+\.\d+.*, model sha256 [0-9a-f]{12}, model sha256", out, re.M)
    assert _summary_line(out, "draw_hists", "n_clusters_profile")[0] == N
    for name in ("n_clusters", "n_clusters_true", "deriv_n_clusters", "dndx", "n_peaks", "n_clusters_vs_true",
                 "residual"):
        assert _summary_line(out, "draw_hists", name)[0] == N, name
    n_peaks = round(run.stats["n_peaks"]["mean"] * N)
    assert _summary_line(out, "draw_hists", "peak_time")[0] == n_peaks
    assert _summary_line(out, "draw_hists", "peak_amplitude")[0] == n_peaks
    # integer quantity with unit bins: ROOT's binned mean/RMS equal the exact ones in summary.json
    _, mean, rms = _summary_line(out, "draw_hists", "n_peaks")
    assert mean == pytest.approx(run.stats["n_peaks"]["mean"], rel=1e-3)
    assert rms == pytest.approx(run.stats["n_peaks"]["rms"], rel=1e-3)
    for stem in ("hists", "truth"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "figs" / f"{stem}.{ext}").stat().st_size > 1000


def test_draw_hists_without_truth(run, tmp_path, root_exe):
    """A data run (no MC truth histograms): the truth canvas is skipped, not an error."""
    with uproot.open(run.outdir / "hists.root") as f:
        keep = {k: f[k].to_hist() for k in ("n_clusters", "dndx", "n_peaks", "peak_time", "peak_amplitude",
                                            "lstm_score")}
    with uproot.recreate(tmp_path / "data_hists.root") as f:
        for k, h in keep.items():
            f[k] = h
    proc = _root(root_exe, "draw_hists.C", str(tmp_path / "data_hists.root"), str(tmp_path / "figs"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no n_clusters_vs_true" in proc.stdout and "draw_hists: OK (6 histograms, 2 files" in proc.stdout
    assert (tmp_path / "figs" / "hists.png").exists() and not (tmp_path / "figs" / "truth.png").exists()


def test_draw_reco(run, tmp_path, root_exe):
    proc = _root(root_exe, "draw_reco.C", str(run.outdir / "reco.root"), str(tmp_path / "figs"))
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert f"tree reco, {N} entries" in out and f"draw_reco: OK ({N} entries" in out
    branches = re.search(r"^draw_reco: branches: (.*)$", out, re.M).group(1).split()
    assert {"n_clusters/Float_t", "dndx/Float_t", "n_peaks/Int_t", "peak_time_ns/Float_t[]",
            "n_clusters_true/Long64_t", "file_index/Int_t"} <= set(branches)
    assert "npeak/Int_t" not in branches  # the peak count is the jagged branches' counter, not a copy
    assert "draw_reco: title: ccreco cluster counting, one entry per waveform" in out
    assert re.search(r"^draw_reco: branch n_clusters\s+step-2 \(ML\) cluster count \[clusters\]$", out, re.M)
    assert re.search(r"^draw_reco: branch peak_time_ns\s+.*\[ns\]$", out, re.M)
    assert f"draw_reco: file_index 0 entries {N}" in out
    assert re.search(r"^draw_reco: provenance: ccreco \d+\.\d+", out, re.M)
    for name in ("n_clusters", "dndx", "n_peaks", "n_clusters:n_clusters_true"):
        assert _summary_line(out, "draw_reco", name)[0] == N
    # TTree::Draw's mean of the unbinned n_clusters equals the exact mean in summary.json
    assert _summary_line(out, "draw_reco", "n_clusters")[1] == pytest.approx(run.stats["n_clusters"]["mean"],
                                                                             rel=1e-3)
    assert _summary_line(out, "draw_reco", "peak_time_ns")[0] == round(run.stats["n_peaks"]["mean"] * N)
    assert (tmp_path / "figs" / "reco.png").stat().st_size > 1000


def test_root_reads_every_entry(run, root_exe):
    """Independent of the macros: ROOT loops over the tree and sums the jagged branch's sizes."""
    code = (f'auto f = TFile::Open("{run.outdir / "reco.root"}"); auto t = f->Get<TTree>("reco");'
            'if (!t) gSystem->Exit(3); TTreeReader r(t); TTreeReaderArray<float> pt(r, "peak_time_ns");'
            'TTreeReaderValue<Int_t> np(r, "n_peaks"); long long n = 0, bad = 0, peaks = 0;'
            'while (r.Next()) { ++n; peaks += pt.GetSize(); if ((long long)pt.GetSize() != *np) ++bad; }'
            'printf("entries=%lld peaks=%lld bad=%lld\\n", n, peaks, bad); gSystem->Exit(0);')
    proc = subprocess.run([root_exe, "-l", "-b", "-q", "-e", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"entries={N} peaks={round(run.stats['n_peaks']['mean'] * N)} bad=0" in proc.stdout


def test_missing_file_is_a_clear_error(tmp_path, root_exe):
    proc = _root(root_exe, "draw_hists.C", str(tmp_path / "nope.root"), str(tmp_path / "figs"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"draw_hists: ERROR: cannot open {tmp_path / 'nope.root'}" in proc.stdout
    assert not (tmp_path / "figs").exists()


def test_missing_histogram_and_tree_are_named(run, tmp_path, root_exe):
    with uproot.open(run.outdir / "hists.root") as f:
        only = f["n_clusters"].to_hist()
    with uproot.recreate(tmp_path / "partial.root") as f:
        f["n_clusters"] = only
    proc = _root(root_exe, "draw_hists.C", str(tmp_path / "partial.root"), str(tmp_path / "figs"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no 1-D histogram dndx, n_peaks, peak_time, peak_amplitude, lstm_score in" in proc.stdout
    assert "the file holds: n_clusters (TH1D)" in proc.stdout
    # hists.root has no 'reco' tree
    proc = _root(root_exe, "draw_reco.C", str(run.outdir / "hists.root"), str(tmp_path / "figs"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"draw_reco: ERROR: no TTree 'reco' in {run.outdir / 'hists.root'}" in proc.stdout
