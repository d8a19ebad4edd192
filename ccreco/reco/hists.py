"""The reconstruction's histograms (``hist.Hist``): booked once, filled per block, added up.

One table (:data:`HISTS`) defines every histogram: name, axis label, binning and the
:class:`~ccreco.reco.core.RecoResult` values that fill it. The coffea processor, the in-memory
runner and the plots all use it, so names and binnings live in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hist
import numpy as np

from ccreco.constants import WINDOW_NS
from ccreco.reco.core import RecoResult


@dataclass(frozen=True)
class HistSpec:
    """One 1-D histogram of the reconstruction output.

    Attributes
    ----------
    name : str
        Key in ``hists.root`` and the plot file name.
    label : str
        Axis title (ROOT-style units in brackets).
    bins, lo, hi : int, float, float
        Regular binning.
    values : callable
        ``RecoResult -> numpy.ndarray`` of the values to fill.
    truth : bool
        Needs MC truth.
    integer : bool
        Integer-valued quantity (bin edges at half-integers).
    tex : str
        The label in matplotlib mathtext for the plots (``label`` is ROOT's TLatex).
    """

    name: str
    label: str
    bins: int
    lo: float
    hi: float
    values: Callable[[RecoResult], np.ndarray | None]
    truth: bool = False
    integer: bool = False
    tex: str = ""


def _residual(r: RecoResult) -> np.ndarray | None:
    if r.n_clusters_true is None:
        return None
    residual: np.ndarray = r.n_clusters - r.n_clusters_true
    return residual


#: Every 1-D histogram the reconstruction fills.
HISTS: tuple[HistSpec, ...] = (
    HistSpec("n_peaks", "detected peaks per waveform", 120, -0.5, 119.5, lambda r: r.n_peaks, integer=True),
    HistSpec("n_clusters", "N_{cl} (CNN)", 120, -0.5, 119.5, lambda r: r.n_clusters, integer=True,
             tex=r"$N_{cl}$ (CNN)"),
    HistSpec("dndx", "dN_{cl}/dx [cm^{-1}]", 120, 0.0, 60.0, lambda r: r.dndx,
             tex=r"$dN_{cl}/dx$ [cm$^{-1}$]"),
    HistSpec("peak_time", "peak time [ns]", 200, 0.0, WINDOW_NS, lambda r: r.peak_time_ns),
    HistSpec("peak_amplitude", "peak amplitude [mV]", 150, 0.0, 150.0, lambda r: r.peak_amplitude_mv),
    HistSpec("lstm_score", "step-1 score of every candidate", 100, 0.0, 1.0, lambda r: r.score),
    HistSpec("n_candidates", "candidate windows per waveform", 150, -0.5, 599.5, lambda r: r.n_candidates),
    HistSpec("baseline_rms", "baseline noise RMS [mV]", 100, 0.0, 10.0, lambda r: r.baseline_rms),
    HistSpec("deriv_n_clusters", "N_{cl} (DERIV + clusterization)", 120, -0.5, 119.5,
             lambda r: r.deriv_n_clusters, integer=True, tex=r"$N_{cl}$ (DERIV + clusterization)"),
    HistSpec("n_clusters_true", "N_{cl} (MC truth)", 120, -0.5, 119.5, lambda r: r.n_clusters_true,
             truth=True, integer=True, tex=r"$N_{cl}$ (MC truth)"),
    HistSpec("residual", "N_{cl}^{reco} - N_{cl}^{true}", 100, -25.0, 25.0, _residual, truth=True,
             tex=r"$N_{cl}^{reco} - N_{cl}^{true}$"),
)

#: 2-D histogram of the CNN count against truth (filled only with truth).
RECO_VS_TRUE = "n_clusters_vs_true"
#: Plot labels (mathtext) by histogram name; axes of the 2-D one: truth, reco.
TEX: dict[str, str] = {s.name: s.tex or s.label for s in HISTS} | {
    RECO_VS_TRUE: r"$N_{cl}$ (MC truth);$N_{cl}$ (CNN)"}


def book(truth: bool) -> dict[str, hist.Hist[Any]]:
    """Empty histograms for one run.

    Parameters
    ----------
    truth : bool
        Also book the truth-dependent ones.

    Returns
    -------
    dict of str to hist.Hist
        Name -> histogram (weighted storage, so sums and errors survive the merge).
    """
    out: dict[str, hist.Hist[Any]] = {}
    for spec in HISTS:
        if spec.truth and not truth:
            continue
        out[spec.name] = hist.Hist(hist.axis.Regular(spec.bins, spec.lo, spec.hi, name="x", label=spec.label),
                                   storage=hist.storage.Weight())
    if truth:
        out[RECO_VS_TRUE] = hist.Hist(
            hist.axis.Regular(80, -0.5, 79.5, name="true", label="N_{cl} (MC truth)"),
            hist.axis.Regular(80, -0.5, 79.5, name="reco", label="N_{cl} (CNN)"),
            storage=hist.storage.Weight(),
        )
    return out


def fill(hists: dict[str, hist.Hist[Any]], result: RecoResult) -> dict[str, hist.Hist[Any]]:
    """Fill ``hists`` (from :func:`book`) with one block's result, in place.

    Parameters
    ----------
    hists : dict of str to hist.Hist
        Booked histograms.
    result : RecoResult
        One block's reconstruction.

    Returns
    -------
    dict of str to hist.Hist
        The same dict.
    """
    for spec in HISTS:
        h = hists.get(spec.name)
        if h is None:
            continue
        values = spec.values(result)
        if values is not None and len(values):
            h.fill(x=np.asarray(values, dtype=np.float64))
    if RECO_VS_TRUE in hists and result.n_clusters_true is not None and len(result):
        hists[RECO_VS_TRUE].fill(true=result.n_clusters_true.astype(np.float64),
                                 reco=result.n_clusters.astype(np.float64))
    return hists


def moments(result_values: dict[str, Any]) -> dict[str, float]:
    """Count, mean and RMS (standard deviation) from accumulated sums.

    Parameters
    ----------
    result_values : dict
        ``{"n": count, "sum": sum, "sum2": sum of squares}``.

    Returns
    -------
    dict
        ``n``, ``mean``, ``rms`` (NaN when empty).
    """
    n = float(result_values["n"])
    if n <= 0:
        return {"n": 0, "mean": float("nan"), "rms": float("nan")}
    mean = result_values["sum"] / n
    var = max(result_values["sum2"] / n - mean * mean, 0.0)
    return {"n": int(n), "mean": float(mean), "rms": float(np.sqrt(var))}


__all__ = ["HISTS", "RECO_VS_TRUE", "TEX", "HistSpec", "book", "fill", "moments"]
