"""benchmarks/density_scan.py: samples made as documented, the across-density fit, the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import uproot
from script_helpers import load_script


def test_density_scan_follows_the_simulated_density(tmp_path: Path) -> None:
    ds = load_script("benchmarks/density_scan.py")
    ds.make_samples(tmp_path, n=40)
    stems = {stem for rows in ds.SAMPLES.values() for _, stem, *_ in rows}
    assert {p.stem for p in tmp_path.glob("*.root")} == stems
    dense = uproot.open(tmp_path / "hd2.0.root")["sim"]["n_clusters"].array(library="np")
    sparse = uproot.open(tmp_path / "hd0.7.root")["sim"]["n_clusters"].array(library="np")
    assert dense.mean() > 2 * sparse.mean()  # density_scale reached the simulator
    res = ds.scan(tmp_path, "deriv", {})
    assert set(res) == set(ds.SAMPLES)
    for family, f in res.items():
        means = [v["mean_true"] for v in f["samples"].values()]
        assert means == sorted(means), family  # each family is ordered by density
        # the fit reproduces the samples' means
        fit = f["across_intercept"] + f["across_slope"] * np.array(means)
        reco = np.array([v["mean_reco"] for v in f["samples"].values()])
        assert np.all(np.abs(fit - reco) < 0.15 * reco)
        assert 0.2 < f["across_slope"] < 1.3 and f["across_slope_err"] > 0
    text = ds.table({"deriv": res})
    assert text.count("| deriv |") == len(ds.SAMPLES) and "x2 (" in text


def test_density_scan_of_a_configuration_file(tmp_path: Path) -> None:
    """``--config FILE.toml`` (e.g. a tuned configuration) gives its own density and angle families."""
    from ccreco.sim import SimConfig

    ds = load_script("benchmarks/density_scan.py")
    toml = tmp_path / "tuned.toml"
    SimConfig.from_preset("tb2023-untuned", noise_mv=1.2).to_toml(toml)
    fams = ds.config_samples(str(toml))
    assert list(fams) == ["tuned, density", "tuned, angle"]
    dense = [row for row in fams["tuned, density"] if row[0] == "x2"][0]
    cfg = ds._config(dense[2], dense[4])
    assert cfg.density_scale == 2.0 and cfg.noise_mv == 1.2  # the file's values, then the scan's
    steep = ds._config(fams["tuned, angle"][-1][2], fams["tuned, angle"][-1][4])
    assert steep.angle_deg == 60.0


def test_plot_and_table_take_the_families_of_the_results(tmp_path: Path) -> None:
    """Two families (``--config``) make a one-row figure and two table rows per method."""
    ds = load_script("benchmarks/density_scan.py")
    per = {lab: {"mean_true": t, "mean_reco": 0.9 * t, "err_reco": 0.1, "bias": -0.1 * t, "slope": 0.9,
                 "calibrated_rms_over_sqrt_n": 1.0} for lab, t in (("x1", 10.0), ("x2", 20.0))}
    fam = {"samples": per, "across_slope": 0.9, "across_slope_err": 0.01, "across_intercept": 0.0}
    results = {"m": {"tuned, density": fam, "tuned, angle": fam}}
    ds.plot(results, tmp_path / "two.png")
    assert (tmp_path / "two.png").stat().st_size > 0
    assert ds.table(results).count("| m |") == 2
