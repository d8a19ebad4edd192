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
    title : str
        Histogram title (ROOT ``fTitle``) in ``hists.root``.
    ylabel : str
        What one entry is (the y-axis title): ``waveforms``, ``peaks`` or ``candidate windows``.
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
    title: str = ""
    ylabel: str = "waveforms"


def _residual(r: RecoResult) -> np.ndarray | None:
    if r.n_clusters_true is None:
        return None
    residual: np.ndarray = r.n_clusters - r.n_clusters_true
    return residual


def _scores(r: RecoResult) -> np.ndarray:
    # the windows the step-1 model scored (its pre-selection leaves the others at 0, unscored)
    scores: np.ndarray = r.score if r.scored is None else r.score[r.scored]
    return scores


def _labelled_score(signal: int) -> Callable[[RecoResult], np.ndarray | None]:
    def values(r: RecoResult) -> np.ndarray | None:
        if r.score_label is None:
            return None
        keep = r.score_label == signal
        if r.scored is not None:
            keep &= r.scored
        scores: np.ndarray = r.score[keep]
        return scores
    return values


#: Every 1-D histogram the reconstruction fills.
HISTS: tuple[HistSpec, ...] = (
    HistSpec("n_peaks", "detected peaks per waveform", 120, -0.5, 119.5, lambda r: r.n_peaks, integer=True,
             title="Peaks above the step-1 threshold"),
    HistSpec("n_clusters", "N_{cl} (ML)", 120, -0.5, 119.5, lambda r: r.n_clusters, integer=True,
             tex=r"$N_{cl}$ (ML)", title="Cluster count, step-2 model"),
    HistSpec("dndx", "dN_{cl}/dx [cm^{-1}]", 120, 0.0, 60.0, lambda r: r.dndx,
             tex=r"$dN_{cl}/dx$ [cm$^{-1}$]", title="Cluster density, step-2 count / track length"),
    HistSpec("peak_time", "peak time [ns]", 200, 0.0, WINDOW_NS, lambda r: r.peak_time_ns,
             title="Time of the detected peaks from the window start", ylabel="peaks"),
    HistSpec("peak_amplitude", "peak amplitude [mV]", 150, 0.0, 150.0, lambda r: r.peak_amplitude_mv,
             title="Height of the detected peaks above the baseline", ylabel="peaks"),
    HistSpec("lstm_score", "step-1 score", 100, 0.0, 1.0, _scores,
             title="Step-1 (LSTM) score of every window it scored", ylabel="candidate windows"),
    HistSpec("n_candidates", "candidate windows per waveform", 150, -0.5, 599.5, lambda r: r.n_candidates,
             title="Candidate windows (the LSTM scores those its pre-selection passes)"),
    HistSpec("baseline_rms", "baseline noise RMS [mV]", 100, 0.0, 10.0, lambda r: r.baseline_rms,
             title="Noise RMS of the pre-signal region"),
    HistSpec("deriv_n_clusters", "N_{cl} (DERIV + clusterization)", 120, -0.5, 119.5,
             lambda r: r.deriv_n_clusters, integer=True, tex=r"$N_{cl}$ (DERIV + clusterization)",
             title="Cluster count, classical DERIV + clusterization"),
    HistSpec("n_clusters_true", "N_{cl} (MC truth)", 120, -0.5, 119.5, lambda r: r.n_clusters_true,
             truth=True, integer=True, tex=r"$N_{cl}$ (MC truth)", title="True cluster count"),
    HistSpec("residual", "N_{cl}^{reco} - N_{cl}^{true}", 100, -25.0, 25.0, _residual, truth=True,
             tex=r"$N_{cl}^{reco} - N_{cl}^{true}$", title="ML count minus true count"),
    HistSpec("lstm_score_signal", "step-1 score", 100, 0.0, 1.0, _labelled_score(1), truth=True,
             title="Step-1 score of candidates matched to a true peak", ylabel="candidate windows"),
    HistSpec("lstm_score_noise", "step-1 score", 100, 0.0, 1.0, _labelled_score(0), truth=True,
             title="Step-1 score of candidates matched to no true peak", ylabel="candidate windows"),
)

#: 2-D histogram of the step-2 (ML) count against truth (filled only with truth).
RECO_VS_TRUE = "n_clusters_vs_true"
#: Profile (ROOT TProfile: mean step-2 count and its error per true count) of the same pairs.
RECO_VS_TRUE_PROFILE = "n_clusters_profile"
#: The histograms of the step-2 count (their titles name a level the count was divided by).
STEP2_HISTS: tuple[str, ...] = ("n_clusters", "dndx", "residual", RECO_VS_TRUE, RECO_VS_TRUE_PROFILE)
#: Titles of the 2-D histogram and the profile (``hists.root``).
TITLES: dict[str, str] = {s.name: s.title for s in HISTS} | {
    RECO_VS_TRUE: "ML cluster count vs true count",
    RECO_VS_TRUE_PROFILE: "Mean ML cluster count per true count"}
#: y-axis titles (``hists.root``) by histogram name.
YLABELS: dict[str, str] = {s.name: s.ylabel for s in HISTS} | {
    RECO_VS_TRUE: "N_{cl} (ML)", RECO_VS_TRUE_PROFILE: "#LTN_{cl}#GT (ML)"}
#: Plot labels (mathtext) by histogram name; axes of the 2-D one: truth, reco.
TEX: dict[str, str] = {s.name: s.tex or s.label for s in HISTS} | {
    RECO_VS_TRUE: r"$N_{cl}$ (MC truth);$N_{cl}$ (ML)"}


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
            hist.axis.Regular(80, -0.5, 79.5, name="reco", label="N_{cl} (ML)"),
            storage=hist.storage.Weight(),
        )
        out[RECO_VS_TRUE_PROFILE] = hist.Hist(
            hist.axis.Regular(80, -0.5, 79.5, name="true", label="N_{cl} (MC truth)"),
            storage=hist.storage.Mean(),
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
        if RECO_VS_TRUE_PROFILE in hists:
            hists[RECO_VS_TRUE_PROFILE].fill(true=result.n_clusters_true.astype(np.float64),
                                             sample=result.n_clusters.astype(np.float64))
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


__all__ = ["HISTS", "RECO_VS_TRUE", "RECO_VS_TRUE_PROFILE", "STEP2_HISTS", "TEX", "TITLES", "YLABELS", "HistSpec",
           "book", "fill", "moments"]
