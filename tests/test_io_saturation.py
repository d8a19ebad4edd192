"""The saturation data check tells clipping from a maximum that merely repeats."""

from __future__ import annotations

import numpy as np
import pytest

from ccreco.io.validate import SATURATION_FLAT_NS, SATURATION_SHARED, sanity_counts, sanity_messages
from ccreco.sim import SimConfig, simulate


def pulses(n: int, seed: int, n_samples: int = 400) -> np.ndarray:
    """``n`` noisy waveforms, each with a pulse of a different height (no two maxima equal)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples, dtype=np.float64)
    wf = rng.normal(0.0, 1.0, size=(n, n_samples))
    for i in range(n):
        wf[i] += (30.0 + 3.1 * i) * np.exp(-0.5 * ((t - 100.0 - i) / 3.0) ** 2)
    return np.round(wf, 2).astype(np.float32)


def test_a_repeated_maximum_is_not_clipping():
    wf = pulses(20, 1)
    for i in range(0, 20, 2):  # a second pulse reaching exactly the same height, 100 samples later
        top = wf[i].max()
        wf[i, 250 + i] = top
        wf[i, 251 + i] = top - 2.0
    for i in range(1, 20, 2):  # a broad quantized top: the maximum in 3 consecutive samples
        j = int(np.argmax(wf[i]))
        wf[i, j - 1 : j + 2] = wf[i, j]
    assert sanity_counts(wf, 1.0)["saturated"] == 0


def test_a_clipping_level_shared_by_the_chunk_is_caught_with_one_sample_at_it():
    wf = pulses(20, 2)
    clipped = np.flatnonzero(wf.max(axis=1) > 60.0)
    for i in clipped:  # the ADC stops at 60 mV: one sample at the level, none beside it
        j = int(np.argmax(wf[i]))
        wf[i] = np.minimum(wf[i], 59.0)
        wf[i, j] = 60.0
    assert wf.max() == 60.0 and clipped.size >= SATURATION_SHARED + 2
    assert sanity_counts(wf, 1.0)["saturated"] == clipped.size
    # fewer waveforms at the chunk's top than SATURATION_SHARED: a coincidence, not a level
    keep = np.r_[np.flatnonzero(wf.max(axis=1) < 60.0), clipped[: SATURATION_SHARED - 1]]
    assert sanity_counts(wf[keep], 1.0)["saturated"] == 0


@pytest.mark.parametrize(("sampling_ns", "flat", "saturated"),
                         [(1.0, 10, 1), (1.0, 5, 0), (0.25, 10, 0), (0.25, 40, 1), (None, 10, 1)])
def test_a_lone_waveform_needs_a_flat_top_longer_than_a_pulse_gives(sampling_ns, flat, saturated):
    wf = pulses(1, 3)
    j = int(np.argmax(wf[0]))
    wf[0, j : j + flat] = wf[0, j] + 5.0
    assert (flat * (sampling_ns or 1.0) >= SATURATION_FLAT_NS) == bool(saturated)
    assert sanity_counts(wf, sampling_ns)["saturated"] == saturated


def test_negative_pulses_and_flat_waveforms_are_not_saturated():
    wf = -pulses(10, 4)
    wf[:, 100:120] = wf.min()
    assert sanity_counts(np.vstack([wf, np.zeros((5, 400), np.float32)]), 1.0)["saturated"] == 0


def test_simulation_flags_equal_the_truth():
    # tb2023-untuned seed 1, waveforms 1024-1223: entry 1124 has its maximum in 3 samples
    # (two separate tops at the same ADC code) and nothing clipped; the previous rule flagged it
    clean = next(simulate(SimConfig.from_preset("tb2023-untuned"), 200, 1, chunk_size=200, start=1024))
    top = clean.waveforms[100]
    assert np.count_nonzero(top == top.max()) >= 3 and not np.asarray(clean.truth.saturated).any()
    assert sanity_counts(clean.waveforms, clean.sampling_ns)["saturated"] == 0
    clip = next(simulate(SimConfig.from_preset("tb2023-untuned", adc_max_mv=60.0), 400, 5, chunk_size=400))
    truth = int(np.count_nonzero(np.asarray(clip.truth.saturated)))
    assert truth > 50
    counts = sanity_counts(clip.waveforms, clip.sampling_ns)
    assert counts["saturated"] == truth
    _, warnings = sanity_messages(counts)
    assert any(f"{truth} of 400 waveforms are saturated" in w for w in warnings)
