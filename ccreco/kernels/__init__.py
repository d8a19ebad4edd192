"""Numba kernels: baseline/RMS, peak candidates, windows, labels, DERIV peaks, clusterization.

numpy in / numpy out, no I/O. Each public function validates its input (dtype, contiguity,
shape) and calls a ``_``-prefixed kernel compiled once with :func:`ccreco.kernels._jit.jit`.

Public API (stable; the model and reco layers build on it)::

    CandidateConfig(threshold=2.5, smooth=0, rule="d2", window_left=WINDOW_LEFT,
                    window_right=WINDOW_RIGHT, normalize=False, baseline_start_ns=0.0,
                    baseline_stop_ns=BASELINE_NS, tolerance=MATCH_TOLERANCE, min_distance=3,
                    roi_threshold=None, roi_margin=20,       # rule: "d2", "max" or "top"
                    preselect_weights=None, preselect_threshold=0.0)  # PRESELECT_FEATURES + intercept
    baseline_rms(waveforms, *, sampling_ns, start_ns, stop_ns) -> (baseline, rms)
    find_candidates(waveforms, cfg, *, sampling_ns, baseline, rms, lo, hi)
        -> (index, offsets, baseline, rms)
    candidate_features(waveforms, index, offsets, baseline, rms) -> (m, len(PRESELECT_FEATURES))
    candidate_windows(waveforms, cfg, *, sampling_ns) -> CandidateWindows
        (.windows (m, L, 1) float32, .sample_index (m,) int64, .offsets (n+1,) int64,
         .baseline (n,), .rms (n,), .sampling_ns, .n_samples, .config, .waveform_index,
         .time_ns, .per_waveform(values))
    extract_windows(waveforms, index, offsets, cfg, *, rms) -> (windows, index, offsets, keep)
    candidate_labels(cw, truth, *, tolerance) -> (m,) int8
    candidate_recall(cw, truth, *, tolerance) -> (found, n_true)
    shadowed_windows(cw, ref, ref_offsets, *, tolerance) -> (m,) bool
    reference_peaks(truth, sampling_ns, n_samples) -> (samples, offsets)
    match_peaks(ref, ref_offsets, det, det_offsets, tolerance) -> (ref_match, det_match)
    truth_peak_samples(truth, sampling_ns, n_samples, field) -> (samples, offsets, times_ns)
    DerivConfig(n1, n2, n3, n4, baseline_start_ns, baseline_stop_ns), DERIV_PRESETS
    deriv_peaks(waveforms, cfg, *, sampling_ns) -> (index, offsets, baseline, rms)
    ClusterizeConfig(c, t0_ns)
    clusterize(times_ns, offsets, cfg) -> (cluster_id, n_clusters)
"""

from __future__ import annotations

from ccreco.kernels.baseline import baseline_rms
from ccreco.kernels.candidates import (
    MATCH_TOLERANCE,
    PRESELECT_FEATURES,
    RULES,
    CandidateConfig,
    candidate_features,
    find_candidates,
    preselect_mask,
    unflatten,
)
from ccreco.kernels.clusterize import ClusterizeConfig, clusterize
from ccreco.kernels.deriv import DERIV_CLUSTERIZE, DERIV_PRESETS, DerivConfig, deriv_peaks, deriv_preset
from ccreco.kernels.labels import (
    candidate_labels,
    candidate_recall,
    match_peaks,
    reference_peaks,
    shadowed_windows,
    truth_peak_samples,
)
from ccreco.kernels.windows import CandidateWindows, candidate_windows, extract_windows

__all__ = [
    "DERIV_CLUSTERIZE",
    "DERIV_PRESETS",
    "ClusterizeConfig",
    "DerivConfig",
    "clusterize",
    "deriv_peaks",
    "deriv_preset",
    "MATCH_TOLERANCE",
    "PRESELECT_FEATURES",
    "RULES",
    "CandidateConfig",
    "CandidateWindows",
    "baseline_rms",
    "candidate_features",
    "candidate_labels",
    "candidate_recall",
    "candidate_windows",
    "extract_windows",
    "find_candidates",
    "match_peaks",
    "preselect_mask",
    "reference_peaks",
    "shadowed_windows",
    "truth_peak_samples",
    "unflatten",
]


def __dir__() -> list[str]:
    return __all__
