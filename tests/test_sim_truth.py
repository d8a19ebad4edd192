"""Truth consistency and reproducibility of the simulator."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from ccreco.sim import SimConfig, simulate

CFG = SimConfig.from_preset("tb2023-tuned")


@pytest.fixture(scope="module")
def chunk():  # type: ignore[no-untyped-def]
    return next(simulate(CFG, 600, seed=21, chunk_size=600))


def test_shapes_and_meta(chunk) -> None:  # type: ignore[no-untyped-def]
    assert chunk.waveforms.shape == (600, CFG.n_samples)
    assert chunk.waveforms.dtype == np.float32 and chunk.waveforms.flags.c_contiguous
    assert chunk.sampling_ns == CFG.sampling_ns
    assert ak.to_list(chunk.meta.event[:3]) == [0, 1, 2]
    assert np.all(ak.to_numpy(chunk.truth.pdg) == 13)


def test_cluster_truth_is_consistent(chunk) -> None:  # type: ignore[no-untyped-def]
    t = chunk.truth
    assert ak.all(ak.num(t.cluster_time_ns) == t.n_clusters)
    assert ak.all(ak.sum(t.cluster_size, axis=1) == ak.num(t.electron_time_ns))
    # cluster time = earliest electron of the cluster; sizes = electrons per cluster
    for i in range(0, len(t), 37):
        ev = t[i]
        ec = ak.to_numpy(ev.electron_cluster)
        et = ak.to_numpy(ev.electron_time_ns)
        ct = ak.to_numpy(ev.cluster_time_ns)
        assert np.array_equal(np.bincount(ec, minlength=len(ct)), ak.to_numpy(ev.cluster_size))
        first = np.full(len(ct), np.inf)
        np.minimum.at(first, ec, et)
        assert np.array_equal(first, ct)
        assert np.all(np.diff(ct) >= 0)  # clusters ordered by arrival


def test_electron_peaks_inside_window_or_flagged(chunk) -> None:  # type: ignore[no-untyped-def]
    t = chunk.truth
    peak = ak.to_numpy(ak.flatten(t.electron_peak_ns))
    flag = ak.to_numpy(ak.flatten(t.electron_in_window))
    idx = np.rint(peak / CFG.sampling_ns)
    inside = (idx >= 0) & (idx < CFG.n_samples)
    assert np.array_equal(inside, flag)
    assert np.all(inside | ~flag)
    delay = peak - ak.to_numpy(ak.flatten(t.electron_time_ns))
    assert np.ptp(delay) < 1e-9 and 1.0 < delay[0] < 5.0


def test_flag_marks_electrons_outside_a_short_window() -> None:
    cfg = SimConfig(trigger_offset_ns=0.0, trigger_jitter_ns=3.0, window_ns=300.0)
    t = next(simulate(cfg, 300, seed=2)).truth
    flag = ak.to_numpy(ak.flatten(t.electron_in_window))
    idx = np.rint(ak.to_numpy(ak.flatten(t.electron_peak_ns)) / cfg.sampling_ns)
    assert np.array_equal(flag, (idx >= 0) & (idx < cfg.n_samples))


def test_same_seed_same_output_any_chunk_size() -> None:
    a = list(simulate(CFG, 700, seed=9, chunk_size=700))
    b = list(simulate(CFG, 700, seed=9, chunk_size=113))
    assert [len(c) for c in b] == [113] * 6 + [22]
    wa = np.concatenate([c.waveforms for c in a])
    wb = np.concatenate([c.waveforms for c in b])
    assert np.array_equal(wa, wb)
    ta = ak.concatenate([c.truth for c in a])
    tb = ak.concatenate([c.truth for c in b])
    assert ak.to_list(ta) == ak.to_list(tb)
    assert ak.to_list(ak.concatenate([c.meta for c in b]).event) == list(range(700))


def test_first_events_independent_of_n_and_seed_matters() -> None:
    small = next(simulate(CFG, 10, seed=9))
    big = next(simulate(CFG, 300, seed=9))
    assert np.array_equal(small.waveforms, big.waveforms[:10])
    assert ak.to_list(small.truth) == ak.to_list(big.truth[:10])
    other = next(simulate(CFG, 10, seed=10))
    assert not np.array_equal(small.waveforms, other.waveforms)


def test_start_continues_a_run() -> None:
    whole = next(simulate(CFG, 400, seed=3))
    tail = next(simulate(CFG, 100, seed=3, start=300))
    assert np.array_equal(whole.waveforms[300:], tail.waveforms)
    assert ak.to_list(tail.meta.event) == list(range(300, 400))


def test_saturation_is_flagged() -> None:
    cfg = CFG.replace(adc_max_mv=30.0, adc_min_mv=-10.0)
    chunk = next(simulate(cfg, 200, seed=1))
    sat = ak.to_numpy(chunk.truth.saturated)
    top = np.isclose(chunk.waveforms.max(axis=1), 30.0)
    assert sat.any() and np.array_equal(sat, top | np.isclose(chunk.waveforms.min(axis=1), -10.0))


def test_pid_preset_mixes_species_and_momenta() -> None:
    t = next(simulate(SimConfig.from_preset("pid"), 800, seed=4)).truth
    assert set(np.unique(ak.to_numpy(t.pdg))) == {13, 211, 321, 2212}
    assert set(np.unique(ak.to_numpy(t.momentum_gev))) == {2.0, 5.0, 10.0, 20.0}
