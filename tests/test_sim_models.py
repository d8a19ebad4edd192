"""Ionization and pulse models: HEED-like and file cluster sizes, delta ranges, pulse families."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from ccreco.errors import ConfigError
from ccreco.sim import SimConfig, simulate
from ccreco.sim.clusters import (
    HEED_DEFAULT_P1,
    HEED_REFERENCE_MEAN,
    electron_range_cm,
    heed_exponent_for_mean,
    heed_pmf,
)


def _truth(cfg: SimConfig, n: int, seed: int) -> ak.Array:
    return ak.concatenate([c.truth for c in simulate(cfg, n, seed, chunk_size=n)])


def test_heed_default_reproduces_reference_mean_and_tail() -> None:
    p = heed_pmf(HEED_DEFAULT_P1, 2.0, 300)
    k = np.arange(1, 301)
    assert p.sum() == pytest.approx(1.0)
    assert np.dot(p, k) == pytest.approx(HEED_REFERENCE_MEAN, abs=2e-3)
    assert p[1] / p[2] == pytest.approx((3 / 2) ** 2)  # Rutherford 1/k^2 tail
    # a steeper low-k part (k <= 5) joined continuously to the k^-2 tail
    s = heed_pmf(0.9, 2.0, 300, low_exponent=3.0)
    assert s[1] / s[2] == pytest.approx(1.5**3) and s[6] / s[7] == pytest.approx((8 / 7) ** 2)
    assert s[4] / s[5] == pytest.approx((6 / 5) ** 2)
    # the table's P(1) with a mean-matching exponent keeps the mean
    q = heed_pmf(0.77, heed_exponent_for_mean(0.77, 1.527), 300)
    assert np.dot(q, k) == pytest.approx(1.527, abs=1e-3)


def test_range_energy_relation() -> None:
    r = electron_range_cm([1e3, 5e3, 1e4])
    assert np.all(np.diff(r) > 0)
    assert 0.01 < r[0] < 0.02 and 0.5 < r[2] < 0.8  # 141 um at 1 keV, 6.6 mm at 10 keV


def test_heed_model_sampled_sizes_and_delta_spread() -> None:
    cfg = SimConfig.from_preset("heed-tube", window_ns=600.0)
    truth = _truth(cfg, 1500, seed=4)
    sizes = ak.to_numpy(ak.flatten(truth.cluster_size))
    assert abs((sizes == 1).mean() - cfg.cluster_p1) < 4 * np.sqrt(0.07 * 0.93 / sizes.size)
    assert sizes.max() > 40  # long tail beyond the table's 17
    # delta spread: electrons of a large cluster arrive over a wider time range than diffusion
    spread = cfg.replace(delta_electron_spread=False)
    t_on = _truth(cfg, 300, seed=5)
    t_off = _truth(spread, 300, seed=5)

    def big_cluster_width(t: ak.Array) -> float:
        w = []
        for ev in range(len(t)):
            et = ak.to_numpy(t.electron_time_ns[ev])
            ec = ak.to_numpy(t.electron_cluster[ev])
            for j, s in enumerate(ak.to_numpy(t.cluster_size[ev])):
                if s >= 60:
                    w.append(np.ptp(et[ec == j]))
        return float(np.median(w))

    assert big_cluster_width(t_on) > 1.5 * big_cluster_width(t_off)


def test_file_cluster_sizes_csv_and_toml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "sizes.csv"
    csv.write_text("k,p\n# comment\n1, 80\n2, 15\n4, 5\n")
    cfg = SimConfig(cluster_size_model="file", cluster_size_file=str(csv))
    assert np.allclose(cfg.size_pmf, [0.8, 0.15, 0.0, 0.05])
    sizes = ak.to_numpy(ak.flatten(_truth(cfg.replace(window_ns=500.0), 300, 1).cluster_size))
    assert set(np.unique(sizes)) <= {1, 2, 4}
    toml = tmp_path / "sizes.toml"
    toml.write_text("k = [1, 2]\np = [0.9, 0.1]\n")
    assert np.allclose(SimConfig(cluster_size_model="file", cluster_size_file=str(toml)).size_pmf, [0.9, 0.1])


@pytest.mark.parametrize(
    ("text", "match"),
    [("1, 0.5\n1, 0.5\n", "repeated"), ("1, -0.5\n", ">= 0"), ("0, 1\n", "integer >= 1"),
     ("1, abc\n2, 1\n", "not numbers"), ("1, 0\n", "P > 0"), ("1.5, 1\n", "integer")],
)
def test_file_cluster_sizes_errors_name_file_and_entry(tmp_path, text: str, match: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        SimConfig(cluster_size_model="file", cluster_size_file=str(path))
    assert "bad.csv" in str(err.value)
    with pytest.raises(ConfigError, match="cluster_size_file"):
        SimConfig(cluster_size_model="file")
    with pytest.raises(ConfigError, match="cannot read"):
        SimConfig(cluster_size_model="file", cluster_size_file=str(tmp_path / "missing.csv"))


def test_ion_tail_pulse_matches_reference_shape() -> None:
    """The iontail defaults: FWHM 6 ns, 0.31/0.11/0.02 of the peak at 10/20/50 ns (issue 15)."""
    tp = SimConfig.from_preset("heed-tube").pulse_template
    t = np.arange(tp.values.size) * tp.dt_fine_ns
    assert tp.fwhm_ns == pytest.approx(6.0, abs=0.3)
    for at, ref in ((10, 0.31), (20, 0.11), (50, 0.02)):
        assert np.interp(at, t, tp.values) == pytest.approx(ref, abs=0.02)
    ac = SimConfig.from_preset("heed-tube", pulse_ac_coupling_ns=50.0).pulse_template
    assert ac.values.min() < -0.02  # AC coupling: undershoot


def test_template_pulse_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = np.arange(0, 80, 0.5)
    a = (t / 2) * np.exp(1 - t / 2)
    path = tmp_path / "pulse.csv"
    path.write_text("time_ns,amplitude\n" + "\n".join(f"{x},{y}" for x, y in zip(t, a, strict=True)))
    cfg = SimConfig(pulse_model="template", pulse_template_file=str(path))
    assert cfg.pulse_template.peak_delay_ns == pytest.approx(2.0, abs=0.05)
    chunk = next(simulate(cfg.replace(noise_mv=0.0, coloured_noise_mv=0.0), 5, seed=1))
    assert chunk.waveforms.max() > 5
    bad = tmp_path / "bad.csv"
    bad.write_text("0 1\n1 2\n0.5 3\n2 1\n")
    with pytest.raises(ConfigError, match="not after") as err:
        SimConfig(pulse_model="template", pulse_template_file=str(bad))
    assert "bad.csv" in str(err.value)


def test_impact_over_whole_radius() -> None:
    cfg = SimConfig(cell_shape="tube", impact_max_cm=0.4)
    assert cfg.impact_max_cm == 0.4
    with pytest.raises(ConfigError, match="impact_max_cm"):
        SimConfig(cell_shape="tube", impact_max_cm=0.41)
