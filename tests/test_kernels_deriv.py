"""DERIV peak finder and clusterization against slow references, plus edge cases."""

from __future__ import annotations

import kernels_reference as ref
import numpy as np
import pytest

from ccreco.errors import ConfigError
from ccreco.kernels import DERIV_PRESETS, ClusterizeConfig, DerivConfig, clusterize, deriv_peaks


def test_deriv_matches_reference() -> None:
    rng = np.random.default_rng(21)
    for trial in range(80):
        quantized = trial % 2 == 1
        dt = float(rng.choice([0.5, 1.0, 0.8]))
        wf, _ = ref.synthetic(3, 200, seed=trial, noise=float(rng.uniform(0.3, 2)), n_pulses=6)
        if quantized:
            wf = np.round(wf)
        cfg = DerivConfig(n1=float(rng.uniform(0, 6)), n2=float(rng.uniform(0, 1.5)),
                          n3=float(rng.uniform(0, 0.3)), n4=float(rng.uniform(0, 0.3)),
                          baseline_stop_ns=20.0 * dt)
        index, offsets, base, rms = deriv_peaks(wf, cfg, sampling_ns=dt)
        for w in range(3):
            expect = ref.deriv(wf[w], base[w], rms[w], dt, cfg.n1, cfg.n2, cfg.n3, cfg.n4)
            assert index[offsets[w]:offsets[w + 1]].tolist() == expect


def test_deriv_finds_clean_pulses_and_edge_cases() -> None:
    wf, peaks = ref.synthetic(10, 400, seed=22, noise=0.3, n_pulses=3)
    index, offsets, _, _ = deriv_peaks(wf, DerivConfig(n1=8, n2=4, n3=0.1, n4=0.1))  # no tail bumps
    for w, p in enumerate(peaks):
        assert index[offsets[w]:offsets[w + 1]].tolist() == p.astype(int).tolist()
    flat = np.full((2, 100), 3.0, np.float32)
    index, offsets, _, rms = deriv_peaks(flat)
    assert index.size == 0 and offsets.tolist() == [0, 0, 0] and np.all(rms == 0)
    edge = np.zeros((1, 100), np.float32)
    edge[0, :25] = np.random.default_rng(0).normal(0, 0.1, 25)
    edge[0, 0], edge[0, -1], edge[0, -2] = 50, 50, 40
    assert deriv_peaks(edge)[0].size == 0  # first/last samples never pass
    top = np.zeros((1, 100), np.float32)
    top[0, :25] = np.random.default_rng(1).normal(0, 0.1, 25)
    top[0, 50:57] = [3, 9, 12, 12, 12, 8, 3]  # saturated top: the middle has no prominence
    index, _, _, _ = deriv_peaks(top, DerivConfig(n1=5, n2=0.0, n3=0.2, n4=-1e9))
    assert index.tolist() == [52, 54]  # so its two edges pass, as separate runs


def test_deriv_config() -> None:
    assert DerivConfig.from_strings({"N1": "7", "n4": "0.2"}) == DerivConfig(n1=7.0, n4=0.2)
    assert DERIV_PRESETS["tb2023"] == DerivConfig()
    with pytest.raises(ConfigError, match="N5"):
        DerivConfig.from_strings({"N5": "1"})
    with pytest.raises(ConfigError, match="n2"):
        DerivConfig.from_strings({"n2": "abc"})
    with pytest.raises(ConfigError, match="n3"):
        DerivConfig(n3=float("nan"))


def test_clusterize_matches_reference() -> None:
    rng = np.random.default_rng(23)
    for _ in range(200):
        n = int(rng.integers(1, 5))
        lists = [np.sort(rng.uniform(0, 300, size=int(rng.integers(0, 20)))) for _ in range(n)]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum([x.size for x in lists], out=offsets[1:])
        cfg = ClusterizeConfig(c=float(rng.uniform(0, 1.5)),
                               t0_ns=None if rng.random() < 0.5 else float(rng.uniform(-50, 100)))
        cid, counts = clusterize(np.concatenate(lists), offsets, cfg)
        for w in range(n):
            assert counts[w] == ref.clusterize(lists[w], cfg.c, cfg.t0_ns)
            ids = cid[offsets[w]:offsets[w + 1]]
            if ids.size:
                assert ids[0] == 0 and ids[-1] == counts[w] - 1 and np.all(np.diff(ids) >= 0)


def test_clusterize_edge_cases_and_validation() -> None:
    times = np.array([100.0, 101.0, 150.0])
    cid, counts = clusterize(times, np.array([0, 0, 3]), ClusterizeConfig(c=1.5))
    assert counts.tolist() == [0, 2] and cid.tolist() == [0, 0, 1]  # 1 <= 1.5*sqrt(1); 49 > 1.5*sqrt(50)
    assert clusterize(times, np.array([0, 3]), ClusterizeConfig(c=0.0))[1].tolist() == [3]
    with pytest.raises(ValueError, match="sorted"):
        clusterize(times[::-1], np.array([0, 3]))
    for bad in (-0.1, float("inf"), True):
        with pytest.raises(ConfigError, match="c must"):
            ClusterizeConfig(c=bad)
