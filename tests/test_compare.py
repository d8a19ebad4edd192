"""Data/simulation comparison: identical samples agree, shifted ones do not; loaders; CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import uproot

from ccreco.analysis.compare import (
    chi2_two_samples,
    common_edges,
    compare_samples,
    load_sample,
    plot_comparison,
    write_comparison,
)
from ccreco.errors import ConfigError, InputFileError


def _sample(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    n_peaks = rng.poisson(17 * (1 + shift), n).astype(float)
    return {
        "n_peaks": n_peaks,
        "baseline_rms_mv": rng.normal(1.5 * (1 + shift), 0.2, n),
        "peak_amplitude_mv": rng.gamma(2.0, 10.0 * (1 + shift), int(n_peaks.sum())),
        "only_here": np.ones(n),
    }


def test_identical_distributions_agree() -> None:
    rng = np.random.default_rng(1)
    a, b = _sample(rng, 4000), _sample(rng, 3000)
    res = compare_samples(a, b, labels=("data", "sim"))
    for name in ("n_peaks", "baseline_rms_mv", "peak_amplitude_mv"):
        v = res.variables[name]
        assert 0.5 < v.chi2_ndf < 1.6, (name, v.chi2, v.ndf)
        assert v.ks < 0.04 and v.p_ks > 1e-3
    assert "only_here" in res.variables  # present in both
    assert res.variables["n_peaks"].edges[1] - res.variables["n_peaks"].edges[0] == 1.0  # unit bins


def test_shifted_distributions_disagree() -> None:
    rng = np.random.default_rng(2)
    a, b = _sample(rng, 4000), _sample(rng, 3000, shift=0.1)
    res = compare_samples(a, b, variables=["n_peaks", "baseline_rms_mv", "peak_amplitude_mv", "missing"])
    for name in ("n_peaks", "baseline_rms_mv", "peak_amplitude_mv"):
        v = res.variables[name]
        assert v.chi2_ndf > 5 and v.ks > 0.04 and v.p_ks < 1e-6, name
    assert "missing" in res.skipped
    assert "| n_peaks |" in res.table()


def test_chi2_formula_and_edges() -> None:
    chi2, ndf = chi2_two_samples(np.array([10, 20, 0]), np.array([20, 40, 0]))
    assert chi2 == pytest.approx(0.0) and ndf == 1
    e = common_edges(np.array([1.5, 2.5]), np.array([3.0]), bins=4)
    assert e.size == 5
    # integer values over a wide range (peak times in whole samples): whole-unit bins, no comb
    t = np.random.default_rng(2).integers(100, 351, 200_000).astype(float)
    e = common_edges(t, t, bins=50)
    width = np.diff(e)
    assert np.allclose(width, width[0]) and width[0] == round(width[0]) and np.allclose(e % 1.0, 0.5)
    assert 40 <= e.size - 1 <= 51
    counts = np.histogram(t, e)[0][1:-1]  # inner bins hold the same number of values: flat within noise
    assert counts.var() / counts.mean() < 2.0  # Poisson: about 1; the old non-integer width gave 3.9
    with pytest.raises(ConfigError):
        compare_samples({"x": np.ones(3)}, {"y": np.ones(3)})


@pytest.mark.slow
def test_load_waveforms_and_reco_tree_and_cli(tmp_path) -> None:
    from ccreco.cli import main
    from ccreco.sim import SimConfig, simulate_to_file

    cfg = SimConfig.from_preset("tb2023-untuned")
    fa, fb = tmp_path / "a.root", tmp_path / "b.root"
    simulate_to_file(fa, cfg, 300, seed=1, progress=False)
    simulate_to_file(fb, cfg.replace(noise_mv=2.5), 300, seed=2, progress=False)
    a, b = load_sample(fa), load_sample(fb)
    assert {"deriv_n_peaks", "deriv_peak_amplitude_mv", "baseline_rms_mv", "deriv_peak_time_ns"} <= set(a)
    res = compare_samples(a, b)
    assert res.variables["baseline_rms_mv"].ks > 0.5
    files = plot_comparison(res, a, b, tmp_path / "plots")
    assert (tmp_path / "plots" / "summary_chi2_ks.png") in files
    write_comparison(res, tmp_path / "plots")

    # a reco-like OUTDIR: per-waveform scalars and a jagged per-peak branch
    outdir = tmp_path / "reco"
    outdir.mkdir()
    import awkward as ak

    with uproot.recreate(outdir / "reco.root") as f:
        f["reco"] = {"n_peaks": np.array([1, 2, 3], dtype=np.int32),
                     "baseline_rms": np.array([1.4, 1.5, 1.6], dtype=np.float32),
                     "peak_time_ns": ak.Array([[1.0], [2.0, 3.0], [4.0, 5.0, 6.0]])}
    r = load_sample(outdir)
    assert r["lstm_n_peaks"].tolist() == [1, 2, 3] and r["lstm_peak_time_ns"].size == 6
    # a reco OUTDIR against a waveform file: LSTM/CNN quantities never pair with DERIV ones;
    # the pre-signal RMS (one definition in both) does
    assert set(r) & set(a) == {"baseline_rms_mv"}
    with pytest.raises(InputFileError):
        load_sample(tmp_path)

    out = tmp_path / "cmp"
    assert main(["compare", str(fa), str(fb), "-o", str(out), "--labels", "data,sim",
                 "--variables", "deriv_n_peaks,baseline_rms_mv"]) == 0
    info = json.loads((out / "summary.json").read_text())
    assert set(info["variables"]) == {"deriv_n_peaks", "baseline_rms_mv"}
    assert (out / "baseline_rms_mv.png").exists() and (out / "baseline_rms_mv_ks.png").exists()


def test_step2_variables_are_ml_and_the_old_cnn_names_still_work(tmp_path, capsys) -> None:
    """reco.root's step-2 count is ``ml_*`` whichever model ran; ``cnn_*`` maps to it with a notice."""
    from ccreco.analysis.compare import LABELS, RENAMED_VARIABLES
    from ccreco.cli import main

    rng = np.random.default_rng(3)
    dirs = []
    for name, mean in (("ra", 14.0), ("rb", 19.0)):
        d = tmp_path / name
        d.mkdir()
        n_cl = rng.poisson(mean, 400).astype(np.float32)
        with uproot.recreate(d / "reco.root") as f:
            f["reco"] = {"n_clusters": n_cl, "n_clusters_int": n_cl.astype(np.int64),
                         "dndx": (n_cl / 0.8).astype(np.float32), "n_peaks": rng.poisson(17, 400).astype(np.int32)}
        dirs.append(d)
    a, b = load_sample(dirs[0]), load_sample(dirs[1])
    assert {"ml_n_clusters", "ml_n_clusters_int", "ml_dndx"} <= set(a)
    assert not any(k.startswith("cnn_") for k in a)
    assert LABELS["ml_n_clusters"].endswith("(ML)") and LABELS["ml_dndx"].endswith("(ML)")
    assert set(RENAMED_VARIABLES.values()) <= set(a)
    # the default comparison puts the ML count first among the cluster variables
    assert list(compare_samples(a, b).variables)[:2] == ["lstm_n_peaks", "ml_n_clusters"]
    # old names in, new names out (given twice, as old and new: compared once)
    res = compare_samples(a, b, variables=["cnn_n_clusters", "ml_n_clusters", "cnn_dndx"])
    assert list(res.variables) == ["ml_n_clusters", "ml_dndx"] and not res.skipped
    assert res.variables["ml_n_clusters"].chi2_ndf > 5  # means 14 vs 19: a real comparison

    capsys.readouterr()
    out = tmp_path / "cmp"
    assert main(["compare", str(dirs[0]), str(dirs[1]), "-o", str(out), "--no-plots",
                 "--variables", "cnn_dndx,lstm_n_peaks"]) == 0
    err = capsys.readouterr().err
    assert "ccreco: variable cnn_dndx is deprecated; use ml_dndx" in err
    assert err.count("deprecated") == 1  # one line, only for the old name
    assert set(json.loads((out / "summary.json").read_text())["variables"]) == {"ml_dndx", "lstm_n_peaks"}


def test_ratio_panel_range_follows_the_ratios():
    """The ratio panel is not clipped to 0.5-1.5: a 2.5x excess stays visible; imprecise points do not set it."""
    from ccreco.analysis.compare import ratio_limits

    lo, hi = ratio_limits(np.array([0.9, 1.1, 2.5, 40.0]), np.array([0.05, 0.05, 0.1, 30.0]))
    assert lo < 0.85 and 2.6 < hi < 3.5
    assert ratio_limits(np.array([np.nan]), np.array([np.nan])) == (0.5, 1.5)


def test_sample_kinds_set_the_data_or_simulation_mark(tmp_path, monkeypatch) -> None:
    """--label-a/--label-b decide the 'Data'/'Simulation' mark; by default only truth says 'simulation'."""
    from ccreco import plotting
    from ccreco.analysis.compare import SAMPLE_KINDS, data_mark, sample_kind
    from ccreco.cli import main
    from ccreco.cli.compare import add_parser

    feats = {"baseline_rms_mv": np.ones(3)}
    truth = {"baseline_rms_mv": np.ones(3), "n_clusters_true": np.ones(3)}
    assert sample_kind(feats) is None and sample_kind(truth) == "simulation"
    assert sample_kind(truth, "data") == "data" and sample_kind(feats, "simulation") == "simulation"
    with pytest.raises(ConfigError, match="kind"):
        sample_kind(feats, "mc")
    assert data_mark("data", "simulation") is True and data_mark(None, "data") is True
    assert data_mark("simulation", "simulation") is False
    assert data_mark(None, "simulation") is None and data_mark(None, None) is None

    import argparse

    sub = argparse.ArgumentParser().add_subparsers()
    choices = next(a.choices for a in add_parser(sub)._actions if a.dest == "label_a")
    assert tuple(choices) == SAMPLE_KINDS  # the CLI offers exactly what the analysis accepts

    from ccreco.sim import SimConfig, simulate_to_file

    fa, fb = tmp_path / "a.root", tmp_path / "b.root"
    cfg = SimConfig.from_preset("tb2023-untuned")
    simulate_to_file(fa, cfg, 120, seed=1, progress=False)
    simulate_to_file(fb, cfg, 120, seed=2, progress=False)
    marks: list[bool] = []
    real = plotting.label
    monkeypatch.setattr(plotting, "label",
                        lambda ax, data=False, rlabel="": (marks.append(data), real(ax, data, rlabel)))
    common = ["compare", str(fa), str(fb), "--variables", "baseline_rms_mv"]
    # waveform features carry no truth: no mark unless told
    assert main([*common, "-o", str(tmp_path / "c0")]) == 0
    assert marks == []
    assert main([*common, "-o", str(tmp_path / "c1"), "--label-a", "data", "--label-b", "simulation"]) == 0
    assert marks and all(m is True for m in marks)
    marks.clear()
    assert main([*common, "-o", str(tmp_path / "c2"), "--label-a", "simulation", "--label-b", "simulation"]) == 0
    assert marks and all(m is False for m in marks)


def test_forced_log_scale_leaves_the_legend_room() -> None:
    """A forced log y axis (tune's tail plots) gets its legend headroom in log space, above the spectra."""
    from ccreco import plotting
    from ccreco.analysis.compare import overlay_figure

    rng = np.random.default_rng(3)
    vals = {"data": rng.normal(50, 5, 4000), "sim": rng.normal(51, 5, 4000)}
    edges = np.linspace(40, 60, 21)  # the core of a peak: auto scale stays linear
    ax = overlay_figure(vals, edges, "x", title="tail", reference="data").axes[0]
    assert ax.get_yscale() == "linear"
    ax = overlay_figure(vals, edges, "x", title="tail", reference="data", logy=True).axes[0]
    assert ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    top = max(np.histogram(v, edges, density=True)[0].max() for v in vals.values())
    free = 1.0 - (np.log10(top) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
    assert free >= plotting.LEGEND_LINE * 3  # three legend lines (title + 2 entries) fit above the data
