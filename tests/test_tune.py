"""Simulator tuning: closure (shifted 'data' recovered), direct method, bounds, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ccreco.analysis.tune import (
    DEFAULT_PARAMETERS,
    parameter_bounds,
    simulate_features,
    summary_statistics,
    tune,
)
from ccreco.errors import ConfigError
from ccreco.sim import SimConfig

BASE = SimConfig.from_preset("tb2023-untuned")
#: The shifted "data" parameters: each shift is >= 2.5 expected HESSE sigmas at 500 waveforms
#: (docs/DATA_VS_SIM.md, closure table), so recovering it is not just staying at the start.
TRUE = {
    "noise_mv": 1.8,
    "single_electron_mv": 11.5,
    "pulse_rise_ns": 1.4,
    "pulse_fall_ns": 6.0,
    "density_scale": 1.15,
    "trigger_offset_ns": 108.0,
}


def test_statistics_respond_and_have_errors() -> None:
    s = summary_statistics(simulate_features(BASE, 200, seed=3))
    assert len(s.names) == len(s.values) == len(s.errors)
    assert np.all(np.isfinite(s.values)) and np.all(s.errors > 0)
    noisy = summary_statistics(simulate_features(BASE.replace(noise_mv=2.0), 200, seed=3))
    i = s.names.index("rms_mean")
    assert noisy.values[i] - s.values[i] > 10 * s.errors[i]


@pytest.mark.slow
def test_closure_all_six_parameters() -> None:
    """Tune all six parameters from the preset to 'data' simulated with shifted values and a
    different seed (500 waveforms each side).

    Tolerance: 4 HESSE sigmas. Over 8 data seeds (docs/DATA_VS_SIM.md) the pull RMS was 0.8-1.6
    (sigma includes the data and the fixed-seed simulation's statistical errors; the common
    simulation sample makes the pulls of different data seeds correlated), so 4 sigma is about
    2.5 times the observed spread; sigma itself is required to be below half of each shift.
    """
    data = simulate_features(BASE.replace(**TRUE), 500, seed=777)
    res = tune(data, BASE, list(TRUE), n_sim=500, seed=1, iterations=3)
    assert res.chi2_after < res.chi2_before / 20
    assert res.chi2_after < 3 * res.ndf
    for name, true in TRUE.items():
        fit, err = res.parameters[name], res.errors[name]
        shift = abs(true - getattr(BASE, name))
        assert 0 < err < shift / 2, (name, err, shift)
        assert abs(fit - true) < 4 * err, (name, fit, true, err)
    assert res.config.name.endswith("-tuned")
    assert res.config.noise_mv == pytest.approx(res.parameters["noise_mv"])


def test_direct_method_recovers_noise() -> None:
    data = simulate_features(BASE.replace(noise_mv=2.0), 300, seed=9)
    res = tune(data, BASE, ["noise_mv"], n_sim=300, seed=1, method="direct")
    assert abs(res.parameters["noise_mv"] - 2.0) < max(4 * res.errors["noise_mv"], 0.03)
    assert res.method == "direct"


def test_bounds_and_errors() -> None:
    b = parameter_bounds(BASE, DEFAULT_PARAMETERS)
    for name in DEFAULT_PARAMETERS:
        assert b[name][0] <= getattr(BASE, name) <= b[name][1]
    with pytest.raises(ConfigError, match="not a float field"):
        parameter_bounds(BASE, ["species"])
    with pytest.raises(ConfigError, match="contain the start"):
        parameter_bounds(BASE, ["noise_mv"], {"noise_mv": (2.0, 3.0)})
    with pytest.raises(ConfigError, match="method"):
        tune(summary_statistics(simulate_features(BASE, 60, 1)), BASE, ["noise_mv"], method="bad")


def test_cli_tune(tmp_path) -> None:
    from ccreco.cli import main
    from ccreco.sim import simulate_to_file

    data = tmp_path / "data.root"
    simulate_to_file(data, BASE.replace(noise_mv=1.9), 200, seed=5, progress=False)
    out = tmp_path / "tuned.toml"
    rc = main(["tune", str(data), "--params", "noise_mv", "--n-sim", "200", "--iterations", "2",
               "-o", str(out), "--plots", str(tmp_path / "plots")])
    assert rc == 0
    cfg = SimConfig.from_toml(out)
    assert abs(cfg.noise_mv - 1.9) < 0.1
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["parameters"]["noise_mv"] == pytest.approx(cfg.noise_mv)
    assert (tmp_path / "plots" / "tune_shape.png").exists()
    assert (tmp_path / "plots" / "tune_peak_amplitude_mv.png").exists()
    assert (tmp_path / "plots" / "tune_peak_amplitude_mv_tail.png").exists()


def _template_file(path) -> str:  # type: ignore[no-untyped-def]
    """A 'measured' single-electron pulse: the ion-tail x CR-RC shape sampled every 0.25 ns."""
    tp = SimConfig.from_preset("heed-tube").pulse_template
    t = np.arange(0, 150, 0.25)
    a = np.interp(t, np.arange(tp.values.size) * tp.dt_fine_ns, tp.values)
    path.write_text("time_ns,amplitude\n" + "\n".join(f"{x:.2f},{y:.6f}" for x, y in zip(t, a, strict=True)))
    return str(path)


@pytest.mark.slow
def test_closure_heed_clusters_from_table_start(tmp_path) -> None:
    """'Data': a 0.4 cm tube with HEED-like cluster sizes (P(1) 0.90, k^-2 tail to 300,
    delta-electron ranges), a measured-template pulse, gain 11 mV (+10%), noise 1.7 mV (+13%);
    6000 waveforms, seed 777. Tuned from today's default cluster sizes (the table, k_max 17; the
    tuner starts from its closest HEED-like member) in the same tube with the same template:
    P(1), tail exponent, gain, density, noise; 2000 simulated waveforms per evaluation, seed 1.
    Measured (docs/DATA_VS_SIM.md): P(1) 0.886 +- 0.012, density 0.989 +- 0.017, gain 11.10 +-
    0.21 mV, noise 1.703; about 30 s on a loaded 2-core machine. The tolerances (0.02, 2%, 3%)
    are the issue's; they are 1.2-1.7 HESSE sigma, so another data seed can fail them: this
    checks one fixed, deterministic case, not the coverage."""
    geo = dict(cell_shape="tube", impact_max_cm=0.4, anode_voltage_v=1250.0, coloured_noise_mv=0.0,
               adc_max_mv=950.0, pulse_model="template", pulse_template_file=_template_file(tmp_path / "t.csv"),
               window_ns=500.0)
    truth = SimConfig(cluster_size_model="heed", cluster_p1=0.90, cluster_tail_exponent=2.0,
                      delta_electron_spread=True, single_electron_mv=11.0, noise_mv=1.7, **geo)
    base = SimConfig(**geo)
    assert base.cluster_size_model == "table"
    data = simulate_features(truth, 6000, seed=777)
    names = ["cluster_p1", "cluster_tail_exponent", "single_electron_mv", "density_scale", "noise_mv"]
    res = tune(data, base, names, n_sim=2000, seed=1, iterations=3)
    p = res.parameters
    assert abs(p["cluster_p1"] - 0.90) < 0.02, p
    assert abs(p["density_scale"] - 1.0) < 0.02, p
    assert abs(p["single_electron_mv"] / 11.0 - 1) < 0.03, p
    assert abs(p["noise_mv"] - 1.7) < 0.03, p
    assert res.warnings == [], res.warnings
    assert res.chi2_after < 2 * res.ndf < res.chi2_before / 50
    assert res.config.cluster_size_model == "heed" and res.notes


def test_bound_and_geometry_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ccreco.analysis.tune import bound_warnings, geometry_check

    w = bound_warnings({"a": 1.0, "b": 0.5}, {"a": (0.0, 1.0), "b": (0.0, 1.0)})
    assert len(w) == 1 and "a = 1" in w[0] and "upper bound" in w[0]
    tube = SimConfig.from_preset("heed-tube", window_ns=600.0)
    square = SimConfig.from_preset("tb2023-untuned", window_ns=600.0)
    d = simulate_features(tube, 400, seed=3)
    s = simulate_features(square, 400, seed=4)
    assert geometry_check(d, s, square) and "cannot match" in geometry_check(d, s, square)[0]
    assert geometry_check(d, simulate_features(tube, 400, seed=5), tube) == []
    # the warning lands in the result and tuned.json
    res = tune(d, square, ["density_scale"], ranges={"density_scale": (0.9, 1.1)}, n_sim=200, seed=1,
               iterations=1, n_points=8)
    assert any("geometry" in x for x in res.warnings)
    assert any("density_scale" in x and "bound" in x for x in res.warnings)
    from ccreco.analysis.tune import write_result

    paths = write_result(res, tmp_path / "t.toml")
    assert json.loads(paths["json"].read_text())["warnings"] == res.warnings


def test_default_parameters_follow_the_models() -> None:
    from ccreco.analysis.tune import default_parameters

    assert default_parameters(BASE) == list(DEFAULT_PARAMETERS)
    heed = SimConfig.from_preset("heed-tube")
    names = default_parameters(heed)
    assert "cluster_p1" in names and "pulse_shaper_tau_ns" in names and "pulse_rise_ns" not in names
    with pytest.raises(ConfigError, match="no effect with pulse_model"):
        tune(summary_statistics(simulate_features(heed, 60, 1)), heed, ["pulse_rise_ns"])
