"""Vectorized checks of one chunk: waveform lengths, finite samples, sampling, truth.

Every check returns a list of problems (:class:`~ccreco.errors.CcrecoError` instances, not
raised) so that :func:`ccreco.io.inspect_file` can report all of them; the reader raises the
first. Entry numbers in the problems are global entries of the tree. Checks cost a few numpy
passes over the chunk, never a Python loop over entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from ccreco.constants import SAMPLING_NS
from ccreco.errors import (
    CcrecoError,
    NonFiniteWaveformError,
    SamplingMismatchError,
    TruthInconsistencyError,
    WaveformLengthError,
)

#: Relative tolerance when comparing sampling periods.
SAMPLING_RTOL: float = 1e-6


@dataclass(frozen=True)
class Where:
    """Location of a chunk, for problem messages."""

    file: str
    tree: str
    entry_start: int = 0
    #: waveform rows per tree entry (the number of channel branches flattened)
    rows_per_entry: int = 1

    def entry(self, row: int) -> int:
        """Global tree entry of a waveform row of the chunk."""
        return self.entry_start + int(row) // self.rows_per_entry


def regularize(
    wf: ak.Array | np.ndarray, n_expected: int | None, where: Where, branch: str
) -> tuple[np.ndarray | None, list[CcrecoError]]:
    """Turn a (possibly jagged) waveform array into a 2-D numpy array, checking its length.

    Parameters
    ----------
    wf : awkward.Array or numpy.ndarray
        Waveforms of one branch, one per entry.
    n_expected : int or None
        Required length; ``None`` requires only equal lengths.
    where : Where
        Location for messages.
    branch : str
        Branch name for messages.

    Returns
    -------
    array : numpy.ndarray or None
        ``(n, n_samples)`` array (``None`` when the lengths are wrong).
    problems : list of CcrecoError
        A :class:`WaveformLengthError` naming the first bad entry, if any.
    """
    if isinstance(wf, np.ndarray) and wf.ndim == 2:
        arr = wf
        lengths = None
    else:
        layout_ok = isinstance(wf, ak.Array) and wf.ndim == 2
        if not layout_ok:
            return None, [WaveformLengthError(
                f"expected one array of samples per entry, got type {ak.type(wf)}",
                file=where.file, tree=where.tree, branch=branch, entry=where.entry_start,
            )]
        try:
            arr = ak.to_numpy(wf, allow_missing=False)  # regular (fixed-size) arrays: no copy
            lengths = None
        except ValueError:
            arr = None
            lengths = np.asarray(ak.num(wf, axis=1))
    if lengths is None:
        assert arr is not None
        if n_expected is None or arr.shape[1] == n_expected:
            return arr, []
        return None, [WaveformLengthError(
            f"waveforms have {arr.shape[1]} samples, expected {n_expected}",
            file=where.file, tree=where.tree, branch=branch, entry=where.entry_start,
        )]
    ref = int(lengths[0]) if n_expected is None else n_expected
    bad = np.flatnonzero(lengths != ref)
    if bad.size:
        first = int(bad[0])
        what = f"expected {n_expected}" if n_expected is not None else f"entry {where.entry(0)} has {ref}"
        return None, [WaveformLengthError(
            f"waveform has {int(lengths[first])} samples, {what} "
            f"({bad.size} entries of this chunk differ)",
            file=where.file, tree=where.tree, branch=branch, entry=where.entry(first),
        )]
    flat = ak.to_numpy(ak.flatten(wf, axis=1))
    return flat.reshape(len(lengths), ref), []


def check_finite(waveforms: np.ndarray, where: Where, branches: tuple[str, ...]) -> list[CcrecoError]:
    """Report NaN or inf samples (count and first entry).

    Parameters
    ----------
    waveforms : numpy.ndarray
        ``(n, n_samples)`` block.
    where : Where
        Location for messages.
    branches : tuple of str
        Waveform branch of each row modulo ``len(branches)`` (channel branches, entry-major).

    Returns
    -------
    list of CcrecoError
        One :class:`NonFiniteWaveformError`, or nothing.
    """
    if np.isfinite(waveforms).all():  # the fast path: one pass, no temporaries kept
        return []
    bad_rows = ~np.isfinite(waveforms).all(axis=1)
    rows = np.flatnonzero(bad_rows)
    n_bad = int(np.count_nonzero(~np.isfinite(waveforms[rows])))
    return [NonFiniteWaveformError(
        f"{n_bad} NaN/inf samples in {rows.size} waveforms",
        file=where.file, tree=where.tree, branch=branches[int(rows[0]) % len(branches)],
        entry=where.entry(rows[0]),
    )]


def check_sampling(
    period_ns: np.ndarray, expected_ns: float | None, where: Where, branch: str | None
) -> tuple[float | None, list[CcrecoError]]:
    """Check that the sampling period is positive, constant in the chunk and as expected.

    Parameters
    ----------
    period_ns : numpy.ndarray
        Per-entry sampling period in ns.
    expected_ns : float or None
        The period asked for, if any.
    where : Where
        Location for messages.
    branch : str or None
        Sampling branch name (``None`` for a fixed value from the mapping).

    Returns
    -------
    period : float or None
        The chunk's period (``None`` when invalid).
    problems : list of CcrecoError
        :class:`SamplingMismatchError` instances.
    """
    period_ns = np.asarray(period_ns, dtype=np.float64)
    first = float(period_ns[0])
    if not (np.isfinite(first) and first > 0):
        return None, [SamplingMismatchError(
            f"sampling period {first} ns is not a positive number",
            file=where.file, tree=where.tree, branch=branch, entry=where.entry_start,
        )]
    problems: list[CcrecoError] = []
    differ = np.flatnonzero(~np.isclose(period_ns, first, rtol=SAMPLING_RTOL, atol=0.0))
    if differ.size:
        i = int(differ[0])
        problems.append(SamplingMismatchError(
            f"sampling period changes within the file: {float(period_ns[i])} ns vs {first} ns "
            f"at entry {where.entry_start}",
            file=where.file, tree=where.tree, branch=branch, entry=where.entry_start + i,
        ))
    if expected_ns is not None and not np.isclose(first, expected_ns, rtol=SAMPLING_RTOL, atol=0.0):
        problems.append(SamplingMismatchError(
            f"sampling period is {first:g} ns, expected {expected_ns:g} ns",
            file=where.file, tree=where.tree, branch=branch, entry=where.entry_start,
        ))
    return (first if not problems else None), problems


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_truth(truth: ak.Array, where: Where) -> list[CcrecoError]:
    """Check MC-truth arrays for consistency with each other.

    Checks (each only when the fields involved are present): jagged fields of one group have
    equal lengths; ``n_clusters`` equals the number of clusters; ``n_electrons`` the number of
    electrons; ``electron_cluster`` indexes an existing cluster; the ``cluster_size`` sum equals
    the number of electrons; ``cand_label`` is 0 or 1.

    Parameters
    ----------
    truth : awkward.Array
        Records of truth fields, one per waveform.
    where : Where
        Location for messages.

    Returns
    -------
    list of CcrecoError
        :class:`TruthInconsistencyError` instances, one per failed check.
    """
    fields = set(truth.fields)
    problems: list[CcrecoError] = []

    def bad(mask: np.ndarray, msg: str, branch: str) -> None:
        if mask.any():
            row = _first_bad(mask)
            problems.append(TruthInconsistencyError(
                f"{msg} ({int(np.count_nonzero(mask))} entries of this chunk)",
                file=where.file, tree=where.tree, branch=branch, entry=where.entry(row),
            ))

    def num(name: str) -> np.ndarray:
        return np.asarray(ak.num(truth[name], axis=1))

    groups: dict[str, list[str]] = {"cluster": [], "electron": [], "cand": []}
    for f in sorted(fields):
        prefix = f.split("_", 1)[0]
        if prefix in groups and truth[f].ndim == 2:
            groups[prefix].append(f)
    counts: dict[str, np.ndarray] = {}
    for prefix, names in groups.items():
        if not names:
            continue
        ref = num(names[0])
        counts[prefix] = ref
        for other in names[1:]:
            n = num(other)
            bad(n != ref, f"{other} and {names[0]} have different lengths", other)
    for scalar, prefix in (("n_clusters", "cluster"), ("n_electrons", "electron")):
        if scalar in fields and prefix in counts and truth[scalar].ndim == 1:
            n = np.asarray(truth[scalar])
            bad(n != counts[prefix], f"{scalar} differs from the number of {groups[prefix][0]} values", scalar)
    n_clusters = counts.get("cluster")
    if n_clusters is None and "n_clusters" in fields and truth["n_clusters"].ndim == 1:
        n_clusters = np.asarray(truth["n_clusters"])
    if "electron_cluster" in fields and n_clusters is not None:
        ec = truth["electron_cluster"]
        flat = np.asarray(ak.flatten(ec, axis=1))
        limit = np.repeat(n_clusters, num("electron_cluster"))
        out = (flat < 0) | (flat >= limit)
        if out.any():
            rows = np.repeat(np.arange(len(ec)), num("electron_cluster"))
            mask = np.zeros(len(ec), dtype=bool)
            mask[rows[out]] = True
            bad(mask, "electron_cluster out of range [0, n_clusters)", "electron_cluster")
    if "cluster_size" in fields and "electron" in counts and truth["cluster_size"].ndim == 2:
        total = np.asarray(ak.sum(truth["cluster_size"], axis=1))
        bad(total != counts["electron"], "sum of cluster_size differs from the number of electrons", "cluster_size")
    if "cand_label" in fields and truth["cand_label"].ndim == 2:
        labels = truth["cand_label"]
        flat = np.asarray(ak.flatten(labels, axis=1))
        if flat.size and ((flat != 0) & (flat != 1)).any():
            mask = np.asarray(ak.any((labels != 0) & (labels != 1), axis=1))
            bad(mask, "cand_label values other than 0/1", "cand_label")
    return problems


#: Larger sample magnitudes (mV) are no front-end output: a wrong scale, garbage or an overflow.
ABSURD_MV: float = 1.0e4
#: A pulse at least this many robust noise RMS from the baseline counts for the polarity check.
PULSE_SIGMA: float = 5.0
#: Waveforms of a chunk whose maximum is the chunk's highest value from which that value counts
#: as a clipping level (an ADC limit is shared; the top of an unclipped pulse is not).
SATURATION_SHARED: int = 3
#: A flat run at a waveform's maximum at least this long (ns) marks it clipped on its own:
#: longer than any unclipped pulse top gives. Simulated unclipped tops repeat their maximum in
#: at most 3 consecutive samples at 12 bits and 5 at 8 bits (1 ns sampling), 7 at 8 bits and
#: 0.25 ns (1.75 ns).
SATURATION_FLAT_NS: float = 8.0
#: ... and at least this many samples, whatever the sampling.
SATURATION_RUN: int = 3


def _longest_run(mask: np.ndarray) -> np.ndarray:
    """Longest run of consecutive True per row of a 2-D boolean array."""
    n, m = mask.shape
    padded = np.zeros((n, m + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)  # row-major: the i-th start pairs with the i-th end
    _, ends = np.nonzero(edges == -1)
    out = np.zeros(n, dtype=np.int64)
    np.maximum.at(out, rows, ends - starts)
    return out


def sanity_counts(waveforms: np.ndarray, sampling_ns: float | None = None) -> dict[str, int]:
    """Count waveforms that no reconstruction can interpret as they are (vectorized, no loop).

    Parameters
    ----------
    waveforms : numpy.ndarray
        ``(n, n_samples)`` samples in mV after the mapping (pulses expected positive), one chunk.
    sampling_ns : float, optional
        Sampling period (default :data:`~ccreco.constants.SAMPLING_NS`); it converts
        :data:`SATURATION_FLAT_NS` to samples.

    Returns
    -------
    dict of str to int
        ``waveforms``; ``flat`` (every sample equal, e.g. all zero); ``negative`` (the largest
        pulse points down: wrong polarity); ``positive`` (the largest pulse points up);
        ``absurd`` (a sample beyond +-``ABSURD_MV``); ``saturated`` (a positive pulse above the
        noise whose maximum is clipped: it equals the chunk's highest value and at least
        :data:`SATURATION_SHARED` waveforms share it, or it stays for at least
        :data:`SATURATION_FLAT_NS` ns and :data:`SATURATION_RUN` samples in a row). A maximum
        merely repeated (two pulses, a quantized broad top) is not clipping.
    """
    wf = np.asarray(waveforms)
    n = int(wf.shape[0]) if wf.ndim == 2 else 0
    out = {"waveforms": n, "flat": 0, "negative": 0, "positive": 0, "absurd": 0, "saturated": 0}
    if n == 0 or wf.shape[1] == 0:
        return out
    with np.errstate(invalid="ignore", over="ignore"):
        hi = wf.max(axis=1).astype(np.float64)
        lo = wf.min(axis=1).astype(np.float64)
        sub = wf[:, :: max(1, wf.shape[1] // 256)]  # baseline and noise from ~256 samples: cheap, robust
        med = np.median(sub, axis=1).astype(np.float64)
        mad = np.median(np.abs(sub - med[:, None].astype(wf.dtype)), axis=1).astype(np.float64) * 1.4826
        up, down = hi - med, med - lo
        noise = np.maximum(mad, 1e-6 * np.maximum(np.abs(med), 1.0))
        pulse = np.maximum(up, down) > PULSE_SIGMA * noise
        out["flat"] = int(np.count_nonzero(hi == lo))
        out["negative"] = int(np.count_nonzero(pulse & (down > 2.0 * up)))
        out["positive"] = int(np.count_nonzero(pulse & (up > 2.0 * down)))
        out["absurd"] = int(np.count_nonzero(np.maximum(np.abs(hi), np.abs(lo)) > ABSURD_MV))
        rising = pulse & (up > 2.0 * down)
        clipped = np.zeros(n, dtype=bool)
        if rising.any():
            top = hi[rising].max()
            at_top = rising & (hi == top)
            if np.count_nonzero(at_top) >= SATURATION_SHARED:
                clipped |= at_top
            period = float(sampling_ns) if sampling_ns and sampling_ns > 0 else SAMPLING_NS
            run_min = max(SATURATION_RUN, int(np.ceil(SATURATION_FLAT_NS / period - 1e-9)))
            at_max = wf == wf.max(axis=1, keepdims=True)
            rows = np.flatnonzero(rising & ~clipped & (np.count_nonzero(at_max, axis=1) >= run_min))
            if rows.size:
                clipped[rows[_longest_run(at_max[rows]) >= run_min]] = True
        out["saturated"] = int(np.count_nonzero(clipped))
    return out


def sanity_messages(counts: dict[str, int]) -> tuple[list[str], list[str]]:
    """Problems and warnings from (summed) :func:`sanity_counts`.

    Parameters
    ----------
    counts : dict of str to int
        Counts of a file or a run.

    Returns
    -------
    problems : list of str
        Findings that make a reconstruction meaningless: most pulses negative (polarity), a
        majority of flat waveforms, absurd magnitudes.
    warnings : list of str
        Findings worth knowing: a minority of flat waveforms, saturated ones.
    """
    n = max(int(counts.get("waveforms", 0)), 1)
    problems: list[str] = []
    warnings: list[str] = []
    neg, pos = int(counts.get("negative", 0)), int(counts.get("positive", 0))
    if neg > pos:
        problems.append(f"{neg} of {n} waveforms have negative pulses (against {pos} positive): wrong polarity? "
                        "Set `polarity = -1` in the mapping (docs/SCHEMA.md)")
    flat = int(counts.get("flat", 0))
    if flat:
        text = f"{flat} of {n} waveforms are flat (every sample equal, e.g. all zero): no pulse to count"
        (problems if 2 * flat >= n else warnings).append(text)
    if counts.get("absurd", 0):
        problems.append(f"{counts['absurd']} of {n} waveforms have samples beyond +-{ABSURD_MV:g} mV: wrong `scale` "
                        "in the mapping, or corrupt data")
    if counts.get("saturated", 0):
        warnings.append(f"{counts['saturated']} of {n} waveforms are saturated (maximum at a clipping level "
                        f"shared by >= {SATURATION_SHARED} waveforms, or flat for >= {SATURATION_FLAT_NS:g} ns)")
    return problems, warnings
