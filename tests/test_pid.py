"""dN/dx / dE/dx particle identification on a tiny configuration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ccreco.analysis.pid import PidConfig, cell_charge, run_pid, truncated_mean
from ccreco.errors import ConfigError


def test_truncated_mean() -> None:
    v = np.array([[1.0, 2.0, 3.0, 100.0], [4.0, 4.0, 4.0, 4.0]])
    np.testing.assert_allclose(truncated_mean(v, 0.75), [2.0, 4.0])
    np.testing.assert_allclose(truncated_mean(v, 1.0), [26.5, 4.0])


def test_cell_charge_of_a_box() -> None:
    wf = np.zeros((2, 100), dtype=np.float32)
    wf[:, :] = 1.0  # baseline 1 mV
    wf[1, 50:60] += 2.0
    q = cell_charge(wf, 1.0, 40.0, 80.0, baseline_stop_ns=25.0)
    np.testing.assert_allclose(q, [0.0, 20.0])


def test_pid_tiny() -> None:
    cfg = PidConfig(species=("pi", "p"), momenta_gev=(1.0,), n_tracks=20, n_cells=40,
                    methods=("truth", "deriv", "dedx"), seed=3)
    res = run_pid(cfg)
    for m in cfg.methods:
        for s in cfg.species:
            mu, sd, r = res.stats(m, s, 1.0)
            assert mu > 0 and 0 < r < 0.5
    # MC-truth counting beats the truncated-mean charge (expected about a factor 2 at many cells)
    mean_res = res.to_dict()["mean_resolution"]
    assert mean_res["truth"] < mean_res["dedx"]
    # at 1 GeV/c the proton (beta*gamma 1.07) ionizes much more than the pion (7.2)
    assert res.stats("truth", "p", 1.0)[0] > 1.3 * res.stats("truth", "pi", 1.0)[0]
    assert res.separation("truth", "pi", "p", 1.0) > 3
    # the separation power's statistical error: finite, positive, about S / sqrt(2 n) plus the
    # error of the means (20 tracks per species here)
    err = res.separation_error("truth", "pi", "p", 1.0)
    sep = res.separation("truth", "pi", "p", 1.0)
    assert np.sqrt(2 / 20) < err < sep / 2
    # truth dN/dx equals the mean clusters per cell over the 0.8 cm cell (perpendicular tracks)
    assert res.stats("truth", "pi", 1.0)[0] == pytest.approx(res.mean_clusters_per_cell[("pi", 1.0)] / 0.8)
    assert "| pi | 1 |" in res.table()


def test_pid_config_errors() -> None:
    with pytest.raises(ConfigError):
        PidConfig(n_tracks=1)
    with pytest.raises(ConfigError):
        PidConfig(truncation=0.0)


def test_cli_pid(tmp_path) -> None:
    from ccreco.cli import main

    rc = main(["pid", "-o", str(tmp_path), "--species", "pi,K,p", "--momenta", "2,8", "--tracks", "5",
               "--cells", "10", "--methods", "truth,deriv,dedx,nosuchmethod", "--set", "noise_mv=1.6"])
    assert rc == 0
    info = json.loads((tmp_path / "pid.json").read_text())
    assert {r["method"] for r in info["resolution"]} == {"truth", "deriv", "dedx"}
    assert {s["pair"] for s in info["separation"]} == {"pi/K", "K/p"}
    assert info["config"]["sim_overrides"] == {"noise_mv": 1.6}
    for name in ("pid_truth.png", "pid_resolution.png", "pid_separation.png"):
        assert (tmp_path / name).exists()


def test_pid_ml_hook() -> None:
    from ccreco.analysis.pid import methods_available

    ml = methods_available(["lstm", "cnn"])
    if not ml:
        pytest.skip("no shipped models / onnxruntime")
    cfg = PidConfig(species=("pi",), momenta_gev=(5.0,), n_tracks=3, n_cells=20, methods=("truth", *ml))
    res = run_pid(cfg)
    for m in ml:
        mu = res.stats(m, "pi", 5.0)[0]
        assert 0.5 * res.stats("truth", "pi", 5.0)[0] < mu < 2 * res.stats("truth", "pi", 5.0)[0]
