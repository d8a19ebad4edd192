"""One-to-one matching of peak positions, truth peak samples and candidate labels.

Matching rule (used for labels, DERIV selection and electron efficiency; docs/ALGORITHMS.md):
reference positions ``r`` (e.g. true electron peaks) and detected positions ``d`` (candidates,
found peaks), both integer samples, are paired greedily by distance: all pairs with
``|d - r| <= tol`` are taken in the order (distance, rank of ``r`` in time order, position of
``d``) and a pair is accepted when neither member is already paired. Each position is paired at
most once, so two electrons peaking at the same sample need two detected peaks.

A true electron peak is at sample ``rint(electron_peak_ns / sampling_ns)`` (as in the
simulator); peaks outside ``[0, n_samples)`` are ignored.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ccreco.errors import MissingBranchError
from ccreco.kernels._jit import jit
from ccreco.kernels._util import as_offsets
from ccreco.kernels.windows import CandidateWindows


@jit
def _first_at(det: np.ndarray, lo: int, hi: int, target: int) -> int:
    # first p in [lo, hi) with det[p] >= target (det sorted)
    while lo < hi:
        mid = (lo + hi) // 2
        if det[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def _match(
    ref: np.ndarray,
    ref_offsets: np.ndarray,
    det: np.ndarray,
    det_offsets: np.ndarray,
    tol: int,
) -> tuple[np.ndarray, np.ndarray]:
    ref_match = np.full(ref.size, -1, dtype=np.int64)
    det_match = np.full(det.size, -1, dtype=np.int64)
    for w in range(ref_offsets.size - 1):
        r0, r1 = ref_offsets[w], ref_offsets[w + 1]
        d0, d1 = det_offsets[w], det_offsets[w + 1]
        if r0 == r1 or d0 == d1:
            continue
        for dist in range(tol + 1):
            for j in range(r0, r1):
                if ref_match[j] >= 0:
                    continue
                for side in range(2):
                    if side == 1 and dist == 0:
                        break
                    target = ref[j] - dist if side == 0 else ref[j] + dist
                    p = _first_at(det, d0, d1, target)
                    while p < d1 and det[p] == target:
                        if det_match[p] < 0:
                            det_match[p] = j
                            ref_match[j] = p
                            break
                        p += 1
                    if ref_match[j] >= 0:
                        break
    return ref_match, det_match


def _sorted_flat(values: np.ndarray, offsets: np.ndarray, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=np.int64).reshape(-1)
    off = as_offsets(offsets, None, arr.size, f"{name} offsets")
    if arr.size > 1:
        step = np.diff(arr)
        inner = np.ones(arr.size - 1, dtype=bool)
        inner[off[1:-1][(off[1:-1] > 0) & (off[1:-1] < arr.size)] - 1] = False
        if np.any(step[inner] < 0):
            raise ValueError(f"{name} must be sorted within each waveform")
    return arr


def match_peaks(
    ref: np.ndarray,
    ref_offsets: np.ndarray,
    det: np.ndarray,
    det_offsets: np.ndarray,
    tolerance: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference and detected sample positions one-to-one within ``tolerance``.

    Parameters
    ----------
    ref, det : numpy.ndarray
        Integer sample positions, flat over waveforms, sorted within each waveform.
    ref_offsets, det_offsets : numpy.ndarray
        int64 ``(n + 1,)`` offsets (same ``n`` for both).
    tolerance : int
        Largest accepted ``|det - ref|`` in samples.

    Returns
    -------
    ref_match : numpy.ndarray
        int64 ``(len(ref),)``: flat index into ``det`` of each reference's partner, or -1.
    det_match : numpy.ndarray
        int64 ``(len(det),)``: flat index into ``ref`` of each detected position's partner, or -1.
    """
    r = _sorted_flat(ref, ref_offsets, "ref")
    d = _sorted_flat(det, det_offsets, "det")
    ro = as_offsets(ref_offsets, None, r.size, "ref_offsets")
    do = as_offsets(det_offsets, ro.size - 1, d.size, "det_offsets")
    if int(tolerance) < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return _match(r, ro, d, do, int(tolerance))


def truth_peak_samples(
    truth: ak.Array | None,
    sampling_ns: float,
    n_samples: int,
    field: str = "electron_peak_ns",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True peak positions per waveform, sorted, as samples and ns (flat + offsets).

    Parameters
    ----------
    truth : awkward.Array
        ``WaveformChunk.truth`` with the jagged ``field``.
    sampling_ns : float
        Sampling period.
    n_samples : int
        Samples per waveform (peaks outside ``[0, n_samples)`` are dropped).
    field : str
        Truth field of times in ns (``electron_peak_ns`` or ``cand_time_ns``).

    Returns
    -------
    samples : numpy.ndarray
        int64 ``rint(t / sampling_ns)``, sorted within each waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    times_ns : numpy.ndarray
        float64, the times in the same order.

    Raises
    ------
    MissingBranchError
        No truth, or no ``field`` in it.
    """
    if truth is None or field not in ak.fields(truth):
        have = [] if truth is None else sorted(ak.fields(truth))
        raise MissingBranchError(f"needs the truth field {field!r}; truth has {have or 'nothing'}",
                                 branch=field)
    times = ak.values_astype(truth[field], np.float64)
    samples = ak.values_astype(np.rint(times / sampling_ns), np.int64)
    inside = (samples >= 0) & (samples < n_samples)
    times, samples = times[inside], samples[inside]
    order = ak.argsort(times, axis=1, stable=True)
    times, samples = times[order], samples[order]
    counts = ak.to_numpy(ak.num(samples, axis=1)).astype(np.int64)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat_s = np.ascontiguousarray(ak.to_numpy(ak.flatten(samples, axis=1)), dtype=np.int64)
    flat_t = np.ascontiguousarray(ak.to_numpy(ak.flatten(times, axis=1)), dtype=np.float64)
    return flat_s, offsets, flat_t


def candidate_labels(
    cw: CandidateWindows,
    truth: ak.Array | None,
    *,
    tolerance: int | None = None,
) -> np.ndarray:
    """Signal (1) / noise (0) label of every candidate window from the MC truth.

    With ``electron_peak_ns`` in the truth (ccreco simulation), a window is signal when its
    candidate is matched one-to-one (module docstring) to a true electron peak (primary or
    secondary ionization). Otherwise, with the file's own tagged candidates (cepc schema:
    ``cand_time_ns`` and ``cand_label``, already 1 signal / 0 noise), a window takes the label
    of the tagged candidate it is matched to (0 when none).

    Parameters
    ----------
    cw : CandidateWindows
        Output of :func:`~ccreco.kernels.windows.candidate_windows`.
    truth : awkward.Array
        ``WaveformChunk.truth`` of the same waveforms.
    tolerance : int, optional
        Matching tolerance in samples (default ``cw.config.tolerance``).

    Returns
    -------
    numpy.ndarray
        int8, shape ``(len(cw),)``.

    Raises
    ------
    MissingBranchError
        Neither ``electron_peak_ns`` nor ``cand_time_ns`` + ``cand_label`` in the truth.
    """
    tol = cw.config.tolerance if tolerance is None else int(tolerance)
    fields = [] if truth is None else ak.fields(truth)
    if truth is not None and len(truth) != cw.n_waveforms:
        raise ValueError(f"truth has {len(truth)} entries for {cw.n_waveforms} waveforms")
    if "electron_peak_ns" in fields or "cand_label" not in fields:
        ref, ref_off, _ = truth_peak_samples(truth, cw.sampling_ns, cw.n_samples)
        _, det_match = _match(ref, ref_off, cw.sample_index, cw.offsets, tol)
        return (det_match >= 0).astype(np.int8)
    assert truth is not None  # no truth has no "cand_label": handled above
    times = ak.values_astype(truth["cand_time_ns"], np.float64)
    order = ak.argsort(times, axis=1, stable=True)
    tag = ak.to_numpy(ak.flatten(ak.values_astype(truth["cand_label"][order], np.int8), axis=1))
    samples = ak.values_astype(np.rint(times[order] / cw.sampling_ns), np.int64)
    counts = ak.to_numpy(ak.num(samples, axis=1)).astype(np.int64)
    ref_off = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ref_off[1:])
    ref = np.ascontiguousarray(ak.to_numpy(ak.flatten(samples, axis=1)), dtype=np.int64)
    _, det_match = _match(ref, ref_off, cw.sample_index, cw.offsets, tol)
    labels = np.zeros(len(cw), dtype=np.int8)
    hit = det_match >= 0
    labels[hit] = tag[det_match[hit]]
    return labels


def reference_peaks(truth: ak.Array | None, sampling_ns: float, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The true peaks candidates are scored against: electron peaks, or signal-tagged candidates.

    Parameters
    ----------
    truth : awkward.Array
        ``WaveformChunk.truth``: ``electron_peak_ns`` (simulation) or ``cand_time_ns`` +
        ``cand_label`` (tagged files, whose signal-tagged candidates stand in for the peaks).
    sampling_ns : float
        Sampling period.
    n_samples : int
        Samples per waveform.

    Returns
    -------
    samples, offsets : numpy.ndarray
        int64 sorted peak samples and ``(n + 1,)`` offsets.

    Raises
    ------
    MissingBranchError
        Neither kind of truth.
    """
    fields = [] if truth is None else ak.fields(truth)
    if "electron_peak_ns" in fields or "cand_label" not in fields:
        samples, offsets, _ = truth_peak_samples(truth, sampling_ns, n_samples)
        return samples, offsets
    assert truth is not None  # no truth has no "cand_label": handled above
    signal = truth["cand_time_ns"][truth["cand_label"] == 1]
    samples, offsets, _ = truth_peak_samples(ak.zip({"t": signal}, depth_limit=1), sampling_ns, n_samples, "t")
    return samples, offsets


def candidate_recall(
    cw: CandidateWindows,
    truth: ak.Array | None,
    *,
    tolerance: int | None = None,
) -> tuple[int, int]:
    """How many true peaks have a candidate window: the most any classifier of ``cw`` can find.

    True peaks (:func:`reference_peaks`) and candidates are matched one-to-one as the labels
    and the electron efficiency are (module docstring), so the recall ``found / n_true`` is the
    electron efficiency of a classifier that accepts exactly the signal windows.

    Parameters
    ----------
    cw : CandidateWindows
        Candidate windows of a block.
    truth : awkward.Array
        Its truth.
    tolerance : int, optional
        Matching tolerance in samples (default ``cw.config.tolerance``).

    Returns
    -------
    found, n_true : int
        True peaks matched to a candidate, and all true peaks (sum over blocks, then divide).
    """
    tol = cw.config.tolerance if tolerance is None else int(tolerance)
    ref, ref_off = reference_peaks(truth, cw.sampling_ns, cw.n_samples)
    if ref_off.size != cw.offsets.size:
        raise ValueError(f"truth has {ref_off.size - 1} entries for {cw.n_waveforms} waveforms")
    ref_match, _ = _match(ref, ref_off, cw.sample_index, cw.offsets, tol)
    return int(np.sum(ref_match >= 0)), int(ref_match.size)


@jit
def _shadowed(ref: np.ndarray, ref_offsets: np.ndarray, det: np.ndarray, det_offsets: np.ndarray,
              det_match: np.ndarray, tol: int) -> np.ndarray:
    out = np.zeros(det.size, dtype=np.bool_)
    for w in range(det_offsets.size - 1):
        r0, r1 = ref_offsets[w], ref_offsets[w + 1]
        for p in range(det_offsets[w], det_offsets[w + 1]):
            if det_match[p] >= 0:
                continue
            q = _first_at(ref, r0, r1, det[p] - tol)
            out[p] = q < r1 and ref[q] <= det[p] + tol
    return out


def shadowed_windows(
    cw: CandidateWindows,
    ref: np.ndarray,
    ref_offsets: np.ndarray,
    *,
    tolerance: int | None = None,
) -> np.ndarray:
    """Noise-labelled windows with a true peak within the tolerance (taken by another window).

    Such a window's label depends on its neighbours rather than on what it shows; with
    ``rule="top"`` and ``min_distance > 2 * tolerance`` there are none.

    Parameters
    ----------
    cw : CandidateWindows
        Candidate windows of a block.
    ref, ref_offsets : numpy.ndarray
        True peak samples (sorted per waveform) and offsets, e.g. from :func:`reference_peaks`.
    tolerance : int, optional
        Matching tolerance in samples (default ``cw.config.tolerance``).

    Returns
    -------
    numpy.ndarray
        bool, one per window.
    """
    tol = cw.config.tolerance if tolerance is None else int(tolerance)
    r = _sorted_flat(ref, ref_offsets, "ref")
    ro = as_offsets(ref_offsets, cw.n_waveforms, r.size, "ref_offsets")
    _, det_match = _match(r, ro, cw.sample_index, cw.offsets, tol)
    return _shadowed(r, ro, cw.sample_index, cw.offsets, det_match, tol)


__all__ = ["candidate_labels", "candidate_recall", "match_peaks", "reference_peaks", "shadowed_windows",
           "truth_peak_samples"]
