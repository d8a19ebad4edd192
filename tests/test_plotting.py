"""The plot helper (ccreco.plotting): style in a context only, ranges, log switch, profile, legend room."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from ccreco import plotting


def test_style_leaves_global_rcparams_untouched():
    before = dict(matplotlib.rcParams)
    with plotting.style():
        inside = dict(matplotlib.rcParams)
    assert inside["xtick.direction"] == "in" and inside != before  # the ROOT style was active
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_quantile_range_ignores_a_sparse_tail():
    edges = np.linspace(0, 2000, 201)  # 10 ns bins
    counts = np.zeros(200)
    counts[10:35] = 1000.0  # 100-350 ns
    counts[150] = 3.0       # a stray peak at 1500 ns
    lo, hi = plotting.quantile_range(counts, edges)
    assert lo == 100.0 and hi == 350.0
    assert plotting.quantile_range(np.zeros(5), np.arange(6.0)) is None


def test_spans_decades():
    assert plotting.spans_decades(np.array([1.0, 5e4, 0.0]))
    assert not plotting.spans_decades(np.array([10.0, 50.0, 0.0]))


def test_profile_mean_and_error_per_column():
    y = np.array([0.0, 1.0, 2.0])
    counts = np.array([[0.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    n, mean, err = plotting.profile(counts, y)
    assert n[0] == 4 and mean[0] == pytest.approx(1.5)
    assert err[0] == pytest.approx(0.5 / 2.0)  # RMS 0.5 / sqrt(4)
    assert np.isnan(mean[1]) and np.isnan(err[1])


def test_legend_gets_room_above_the_data(tmp_path):
    with plotting.style():
        fig, ax = plotting.figure()
        ax.plot([0, 1, 2], [0, 10, 10], label="a")
        ax.plot([0, 1, 2], [0, 5, 10], label="b")
        ax.set_ylim(0, 10)
        plotting.legend(ax)
        assert ax.get_ylim()[1] > 10 / (1 - 2 * plotting.LEGEND_LINE) - 1e-9
        plotting.label(ax, data=True)
        files = plotting.save(fig, tmp_path, "x")
    assert [p.rsplit(".", 1)[1] for p in files] == ["png", "pdf"]
    texts = [t.get_text() for t in ax.texts]
    assert "Data" in texts and "Simulation" not in texts


def test_reco_plots_label_data_without_truth_and_keep_global_style(tmp_path, monkeypatch):
    from ccreco.reco.hists import book
    from ccreco.reco.output import draw

    hists = book(truth=False)
    rng = np.random.default_rng(5)
    hists["n_clusters"].fill(x=rng.poisson(15, 200).astype(float))
    hists["peak_time"].fill(x=rng.uniform(100, 350, 2000))
    calls = []
    real = plotting.label
    monkeypatch.setattr(plotting, "label",
                        lambda ax, data=False, rlabel="": calls.append(data) or real(ax, data, rlabel))
    before = dict(matplotlib.rcParams)
    files = draw(hists, tmp_path, label="run.root")
    assert dict(matplotlib.rcParams) == before
    assert calls and all(calls)  # no MC truth: every plot says "Data"
    names = {p.rsplit("/", 1)[1] for p in files}
    assert {"n_clusters.png", "peak_time.pdf", "lstm_score.png"} <= names
    assert not {"n_clusters_true.png", "lstm_score_signal.png"} & names


def test_reco_count_plot_names_the_step2_model(tmp_path, plot_legends):
    """The N_cl legend calls the step-2 count "ML" and, when given, names the model that ran."""
    from ccreco.reco.hists import TEX, book
    from ccreco.reco.output import draw

    hists = book(truth=True)
    rng = np.random.default_rng(6)
    true = rng.poisson(15, 300).astype(float)
    hists["n_clusters"].fill(x=true + rng.normal(0, 2, 300))
    hists["n_clusters_true"].fill(x=true)
    legends = plot_legends
    draw(hists, tmp_path, model="perpeak_random_wide")
    assert any(t.startswith("ML (perpeak_random_wide): mean") for t in legends["n_clusters"])
    assert not any("CNN" in t for texts in legends.values() for t in texts)
    draw(hists, tmp_path / "anon")
    assert any(t.startswith("ML: mean") for t in legends["n_clusters"])
    assert "(ML)" in TEX["n_clusters"] and not any("CNN" in v for v in TEX.values())
