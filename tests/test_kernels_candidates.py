"""Baseline/RMS, candidates and windows against slow numpy references, plus edge cases."""

from __future__ import annotations

import kernels_reference as ref
import numpy as np
import pytest

from ccreco.constants import BASELINE_NS, WINDOW_LEFT, WINDOW_RIGHT
from ccreco.errors import ConfigError
from ccreco.kernels import (
    CandidateConfig,
    baseline_rms,
    candidate_windows,
    extract_windows,
    find_candidates,
)

LENGTH = WINDOW_LEFT + WINDOW_RIGHT + 1


def random_block(rng: np.random.Generator, quantized: bool) -> np.ndarray:
    n, ns = int(rng.integers(1, 6)), int(rng.integers(30, 120))
    x = rng.normal(0.0, 1.0, size=(n, ns)) * rng.uniform(0.5, 5.0)
    if quantized:  # ADC-like steps make ties and flat tops common
        x = np.round(x)
    return x.astype(np.float32)


def test_baseline_rms_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        wf = random_block(rng, quantized=False) + np.float32(rng.normal(0, 10))
        base, rms = baseline_rms(wf, sampling_ns=0.5, start_ns=1.0, stop_ns=12.0)
        rb, rr = ref.baseline_rms(wf, 2, 24)
        np.testing.assert_allclose(base, rb, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rms, rr, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("quantized", [False, True], ids=["continuous", "quantized"])
@pytest.mark.parametrize("rule", ["d2", "max"])
def test_candidates_match_reference(rule: str, quantized: bool) -> None:
    rng = np.random.default_rng(2 if quantized else 3)
    for _ in range(150):
        wf = random_block(rng, quantized)
        n, ns = wf.shape
        k = None if rng.random() < 0.3 else float(rng.uniform(0, 3))
        h = int(rng.integers(0, 3))
        lo, hi = int(rng.integers(0, 8)), ns - 1 - int(rng.integers(0, 8))
        cfg = CandidateConfig(threshold=k, smooth=h, rule=rule, baseline_stop_ns=10.0)
        index, offsets, base, rms = find_candidates(wf, cfg, lo=lo, hi=hi)
        assert offsets.shape == (n + 1,) and offsets[0] == 0 and offsets[-1] == index.size
        for w in range(n):
            expect = ref.candidates(wf[w], base[w], rms[w], k, h, rule, lo, hi)
            np.testing.assert_array_equal(index[offsets[w]:offsets[w + 1]], expect)


@pytest.mark.parametrize("quantized", [False, True], ids=["continuous", "quantized"])
def test_top_rule_and_region_of_interest_match_reference(quantized: bool) -> None:
    rng = np.random.default_rng(12 if quantized else 13)
    for _ in range(150):
        wf = random_block(rng, quantized)
        n, ns = wf.shape
        k = None if rng.random() < 0.3 else float(rng.uniform(0, 3))
        h, dist = int(rng.integers(0, 3)), int(rng.integers(1, 6))
        roi = None if rng.random() < 0.4 else float(rng.uniform(0, 3))
        margin = int(rng.integers(0, 10))
        lo, hi = int(rng.integers(0, 8)), ns - 1 - int(rng.integers(0, 8))
        for rule in ("top", "d2"):
            cfg = CandidateConfig(threshold=k, smooth=h, rule=rule, min_distance=dist, roi_threshold=roi,
                                  roi_margin=margin, baseline_stop_ns=10.0)
            index, offsets, base, rms = find_candidates(wf, cfg, lo=lo, hi=hi)
            for w in range(n):
                expect = ref.top_candidates(wf[w], base[w], rms[w], k, h, dist if rule == "top" else 1,
                                            lo, hi, roi, margin)
                np.testing.assert_array_equal(index[offsets[w]:offsets[w + 1]], expect)


def test_top_rule_keeps_the_highest_sample_and_both_of_a_resolved_pair() -> None:
    # one pulse with a 3-sample concave top, then a second top 6 samples later (a resolved pair)
    x = np.array([0, 0, 0, 2, 6, 9, 10, 9.5, 6, 5, 7, 9, 9.8, 8, 4, 1, 0, 0], dtype=np.float32)
    d2, _, _, _ = find_candidates(x, CandidateConfig(threshold=None, baseline_stop_ns=3.0))
    top, _, _, _ = find_candidates(x, CandidateConfig(threshold=None, rule="top", baseline_stop_ns=3.0))
    assert d2.tolist() == [4, 5, 6, 7, 11, 12, 13]
    assert top.tolist() == [6, 12]  # highest sample of each top, nothing within 2 samples of it
    close, _, _, _ = find_candidates(x, CandidateConfig(threshold=None, rule="top", min_distance=8,
                                                        baseline_stop_ns=3.0))
    assert close.tolist() == [6]  # within 7 samples of the highest top: one pulse at min_distance 8
    same, _, _, _ = find_candidates(x, CandidateConfig(threshold=None, rule="top", min_distance=1,
                                                       baseline_stop_ns=3.0))
    assert same.tolist() == d2.tolist()


def test_region_of_interest_drops_candidates_away_from_the_signal() -> None:
    rng = np.random.default_rng(4)
    wf = rng.normal(0.0, 1.0, size=(3, 400)).astype(np.float32)
    wf[0, 200:205] += np.array([20, 40, 30, 20, 10], np.float32)
    wf[2, 50] += 25.0
    wf[2, 300] += 25.0
    cfg = CandidateConfig(threshold=None, roi_threshold=8.0, roi_margin=10, baseline_stop_ns=25.0)
    index, offsets, _, _ = find_candidates(wf, cfg)
    first = index[offsets[0]:offsets[1]]
    assert first.size and first.min() >= 190 and first.max() <= 214 and 201 in first
    assert offsets[2] - offsets[1] == 0  # nothing above 8 rms: no region, no candidates
    third = index[offsets[2]:offsets[3]]
    assert third.min() >= 40 and third.max() <= 310 and {50, 300} <= set(third.tolist())


def test_bare_rule_is_the_ihep_definition() -> None:
    x = np.array([0, 1, 3, 4, 4, 2, 2, 5, 1, 0], dtype=np.float32)
    index, _, _, _ = find_candidates(x, CandidateConfig(threshold=None, baseline_stop_ns=3.0))
    expect = [i for i in range(1, x.size - 1) if x[i] - x[i - 1] > x[i + 1] - x[i]]
    np.testing.assert_array_equal(index, expect)


def test_peak_on_first_and_last_sample_is_not_a_candidate() -> None:
    x = np.zeros((2, 40), dtype=np.float32)
    x[0, 0] = 10.0
    x[1, -1] = 10.0
    index, offsets, _, _ = find_candidates(x, CandidateConfig(threshold=None))
    # only the samples next to the spikes bend down ... and they do not (flat then rising)
    assert 0 not in index and 39 not in index
    cw = candidate_windows(x, CandidateConfig(threshold=None))
    assert len(cw) == 0 and cw.windows.shape == (0, LENGTH, 1)


def test_flat_waveform_has_no_candidates() -> None:
    x = np.full((3, 100), 7.5, dtype=np.float32)
    for k in (None, 0.0, 3.0):
        cw = candidate_windows(x, CandidateConfig(threshold=k))
        assert len(cw) == 0 and np.all(cw.offsets == 0) and np.all(cw.rms == 0)


def test_single_sample_above_threshold() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, size=(1, 200)).astype(np.float32)
    x[0, 120] = 50.0
    cw = candidate_windows(x, CandidateConfig(threshold=6.0))
    np.testing.assert_array_equal(cw.sample_index, [120])
    np.testing.assert_array_equal(cw.offsets, [0, 1])


def test_saturated_flat_top() -> None:
    x = np.zeros((1, 60), dtype=np.float32)
    x[0, 30:37] = [2, 9, 9, 9, 9, 4, 1]  # clipped at 9
    d2, _, _, _ = find_candidates(x, CandidateConfig(threshold=1.0, baseline_stop_ns=20.0))
    mx, _, _, _ = find_candidates(x, CandidateConfig(threshold=1.0, rule="max", baseline_stop_ns=20.0))
    np.testing.assert_array_equal(d2, [31, 34])  # the two edges of the plateau
    np.testing.assert_array_equal(mx, [31])  # its first sample


def test_no_waveforms_and_no_candidates() -> None:
    cw = candidate_windows(np.zeros((0, 50), np.float32), CandidateConfig(threshold=None))
    assert cw.windows.shape == (0, LENGTH, 1) and cw.offsets.tolist() == [0]


def test_windows_match_reference_and_edges_are_dropped() -> None:
    rng = np.random.default_rng(5)
    for normalize in (False, True):
        for _ in range(40):
            wf = random_block(rng, quantized=False)
            n, ns = wf.shape
            cfg = CandidateConfig(threshold=None, normalize=normalize, baseline_stop_ns=10.0)
            cw = candidate_windows(wf, cfg)
            assert cw.windows.dtype == np.float32 and cw.windows.flags.c_contiguous
            assert cw.windows.shape == (len(cw), cfg.window_length, 1)
            assert np.all(cw.sample_index >= WINDOW_LEFT)
            assert np.all(cw.sample_index <= ns - 1 - WINDOW_RIGHT)
            all_idx, all_off, _, _ = find_candidates(wf, cfg)
            for w in range(n):
                got = cw.sample_index[cw.offsets[w]:cw.offsets[w + 1]]
                full = all_idx[all_off[w]:all_off[w + 1]]
                np.testing.assert_array_equal(
                    got, full[(full >= WINDOW_LEFT) & (full <= ns - 1 - WINDOW_RIGHT)])
                scale = cw.rms[w] if normalize else 1.0
                np.testing.assert_allclose(cw.windows[cw.offsets[w]:cw.offsets[w + 1]],
                                           ref.windows(wf[w], got, WINDOW_LEFT, WINDOW_RIGHT, scale),
                                           rtol=1e-5, atol=1e-5)


def test_extract_windows_at_given_positions() -> None:
    rng = np.random.default_rng(6)
    wf = rng.normal(size=(2, 80)).astype(np.float32)
    idx = np.array([0, 4, 5, 40, 70, 71, 79])
    off = np.array([0, 4, 7])
    cfg = CandidateConfig(window_left=3, window_right=8)
    windows, kept, new_off, keep = extract_windows(wf, idx, off, cfg)
    np.testing.assert_array_equal(keep, [False, True, True, True, True, True, False])
    np.testing.assert_array_equal(kept, [4, 5, 40, 70, 71])
    np.testing.assert_array_equal(new_off, [0, 3, 5])
    np.testing.assert_allclose(windows[3:], ref.windows(wf[1], kept[3:], 3, 8, 1.0), atol=1e-5)
    with pytest.raises(ValueError, match="offsets"):
        extract_windows(wf, idx, np.array([0, 4]), cfg)


def test_inputs_are_validated_and_converted() -> None:
    wf64 = np.asfortranarray(np.random.default_rng(7).normal(size=(3, 60)))
    a = candidate_windows(wf64, CandidateConfig(threshold=None))
    b = candidate_windows(np.ascontiguousarray(wf64, dtype=np.float32), CandidateConfig(threshold=None))
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    with pytest.raises(ValueError, match="shape"):
        candidate_windows(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="dtype"):
        candidate_windows(np.zeros((2, 30), dtype=object))
    with pytest.raises(ConfigError, match="baseline"):
        candidate_windows(np.zeros((2, 10), np.float32))  # 25 ns region longer than 10 samples


@pytest.mark.parametrize(
    ("field", "value"),
    [("threshold", -1.0), ("smooth", -1), ("rule", "peak"), ("window_left", 1.5), ("tolerance", -2),
     ("normalize", 1), ("baseline_stop_ns", -3.0), ("min_distance", 0), ("roi_threshold", float("nan")),
     ("roi_margin", -1)],
)
def test_config_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field.split("_ns")[0]):
        CandidateConfig(**{field: value})


def test_window_length_is_computed() -> None:
    assert CandidateConfig().window_length == WINDOW_LEFT + WINDOW_RIGHT + 1
    assert CandidateConfig(window_left=2, window_right=3).window_length == 6
    assert CandidateConfig().baseline_stop_ns == BASELINE_NS


def test_synthetic_pulses_all_get_a_candidate() -> None:
    wf, peaks = ref.synthetic(20, 600, seed=8, noise=0.5)
    cw = candidate_windows(wf, CandidateConfig(threshold=3.0))
    for w, p in enumerate(peaks):
        got = cw.sample_index[cw.offsets[w]:cw.offsets[w + 1]]
        assert np.all(np.min(np.abs(got[None, :] - p[:, None]), axis=1) <= 1)
    assert np.array_equal(cw.waveform_index, np.repeat(np.arange(20), cw.counts))
    assert len(cw.per_waveform(cw.time_ns)) == 20
