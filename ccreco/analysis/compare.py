"""Compare two samples (data vs simulation, or two reconstructions) variable by variable.

A *sample* is a mapping of variable name -> 1D array of values: per-waveform quantities
(``n_peaks``, ``n_clusters``, ``baseline_rms_mv``, ...) and per-peak ones (``peak_amplitude_mv``,
``peak_time_ns``) flattened over waveforms. :func:`load_sample` builds one from

- a reconstruction output directory (``ccreco reco ... -o OUTDIR``) or its ``reco.root``: every
  numeric branch/field of the per-waveform TTree or RNTuple (the one with most entries); jagged
  ones are flattened;
- a waveform ntuple (any schema ``ccreco.io`` reads): the truth-free features of
  :mod:`ccreco.analysis.features` (DERIV peaks, candidates, baseline RMS, charge).

:func:`compare_samples` histograms each variable present in both samples with common binning
(unit bins for integer variables), normalizes, and computes the two-sample chi2 of the
histograms (unweighted-unweighted test as in ROOT's ``TH1::Chi2Test``:
``chi2 = sum_i (sqrt(N_B/N_A) a_i - sqrt(N_A/N_B) b_i)^2 / (a_i + b_i)``, ``ndf`` = non-empty
bins - 1) and the unbinned two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``; for
integer variables the KS p-value is conservative). No truth is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccreco._extras import require
from ccreco._outputs import safe_name
from ccreco.errors import ConfigError, InputFileError

#: Estimator-qualified names of what :func:`load_sample` reads, so that the same quantity from
#: different estimators never pairs: waveform files give DERIV features, reco.root the LSTM peaks
#: and the step-2 (ML) counts, ``ml_*`` whichever step-2 model ran, CNN or per-peak (its
#: ``deriv_*`` branches keep their names and pair with waveform files).
FEATURE_NAMES: dict[str, str] = {
    "n_peaks": "deriv_n_peaks",
    "n_clusters": "deriv_n_clusters",
    "peak_amplitude_mv": "deriv_peak_amplitude_mv",
    "peak_time_ns": "deriv_peak_time_ns",
    "first_peak_ns": "deriv_first_peak_ns",
}
RECO_NAMES: dict[str, str] = {
    "n_peaks": "lstm_n_peaks",
    "n_clusters": "ml_n_clusters",
    "n_clusters_int": "ml_n_clusters_int",
    "dndx": "ml_dndx",
    "peak_amplitude_mv": "lstm_peak_amplitude_mv",
    "peak_time_ns": "lstm_peak_time_ns",
    # the step-1 model's own candidate selection (its stored rule and pre-selection), not the
    # waveform feature's default d2 candidates: they do not pair
    "n_candidates": "lstm_n_candidates",
    # the same pre-signal RMS as the waveform feature (identical values on one file): they pair
    "baseline_rms": "baseline_rms_mv",
}

#: Former names of reco.root's step-2 variables (they were called ``cnn_*`` when the CNN was the
#: only step-2 model), still accepted wherever a variable is named: :func:`compare_samples` maps
#: them to the current names, and ``ccreco compare --variables`` prints a one-line notice.
RENAMED_VARIABLES: dict[str, str] = {
    "cnn_n_clusters": "ml_n_clusters",
    "cnn_n_clusters_int": "ml_n_clusters_int",
    "cnn_dndx": "ml_dndx",
}

#: Variables compared by default when present in both samples, in this order.
DEFAULT_VARIABLES: tuple[str, ...] = (
    "lstm_n_peaks",
    "deriv_n_peaks",
    "ml_n_clusters",
    "deriv_n_clusters",
    "ml_dndx",
    "lstm_peak_amplitude_mv",
    "deriv_peak_amplitude_mv",
    "lstm_peak_time_ns",
    "deriv_peak_time_ns",
    "deriv_first_peak_ns",
    "n_peaks",
    "n_clusters",
    "dndx",
    "peak_amplitude_mv",
    "peak_time_ns",
    "baseline_rms_mv",
    "lstm_n_candidates",
    "n_candidates",
    "charge_mv_ns",
    "first_peak_ns",
)

#: Axis labels of known variables.
LABELS: dict[str, str] = {
    "n_peaks": "Detected peaks per waveform",
    "n_clusters": "Clusters per waveform ($N_{cl}$)",
    "dndx": "dN/dx [clusters/cm]",
    "peak_amplitude_mv": "Peak amplitude [mV]",
    "peak_time_ns": "Peak time [ns]",
    "baseline_rms_mv": "Baseline noise RMS [mV]",
    "n_candidates": "Peak candidates per waveform",
    "charge_mv_ns": "Collected charge [mV ns]",
    "first_peak_ns": "First peak time [ns]",
}
_ESTIMATOR = {"deriv": "DERIV", "lstm": "LSTM", "ml": "ML"}
LABELS.update({q: f"{LABELS[k]} ({_ESTIMATOR[q.split('_', 1)[0]]})"
               for names in (FEATURE_NAMES, RECO_NAMES) for k, q in names.items() if k in LABELS})

Sample = Mapping[str, np.ndarray]


@dataclass
class VariableComparison:
    """Comparison of one variable.

    Attributes
    ----------
    name : str
        Variable name.
    edges : numpy.ndarray
        Common bin edges.
    counts_a, counts_b : numpy.ndarray
        Raw counts per bin (under/overflow folded into the first/last bin).
    n_a, n_b : int
        Entries.
    mean_a, mean_b, std_a, std_b : float
        Moments of the unbinned values.
    chi2 : float
        Two-sample histogram chi2.
    ndf : int
        Non-empty bins minus one.
    p_chi2 : float
        chi2 probability.
    ks : float
        Kolmogorov-Smirnov distance (maximum ECDF difference).
    p_ks : float
        KS p-value.
    """

    name: str
    edges: np.ndarray
    counts_a: np.ndarray
    counts_b: np.ndarray
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    chi2: float
    ndf: int
    p_chi2: float
    ks: float
    p_ks: float

    @property
    def chi2_ndf(self) -> float:
        """chi2 / ndf (NaN when ndf = 0)."""
        return self.chi2 / self.ndf if self.ndf > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """JSON-serializable numbers (no histograms)."""
        return {
            "n_a": self.n_a, "n_b": self.n_b, "mean_a": self.mean_a, "mean_b": self.mean_b,
            "std_a": self.std_a, "std_b": self.std_b, "chi2": self.chi2, "ndf": self.ndf,
            "chi2_ndf": self.chi2_ndf, "p_chi2": self.p_chi2, "ks": self.ks, "p_ks": self.p_ks,
        }


@dataclass
class Comparison:
    """Result of :func:`compare_samples`.

    Attributes
    ----------
    labels : tuple of str
        Names of sample A and B.
    variables : dict of str to VariableComparison
        One entry per compared variable.
    skipped : dict of str to str
        Variables not compared and why.
    """

    labels: tuple[str, str]
    variables: dict[str, VariableComparison]
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable summary."""
        return {"labels": list(self.labels), "variables": {k: v.summary() for k, v in self.variables.items()},
                "skipped": self.skipped}

    def table(self) -> str:
        """Markdown summary table."""
        a, b = self.labels
        lines = [f"| variable | N {a} | N {b} | mean {a} | mean {b} | chi2/ndf | p(chi2) | KS D | p(KS) |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, v in self.variables.items():
            lines.append(f"| {name} | {v.n_a} | {v.n_b} | {v.mean_a:.4g} | {v.mean_b:.4g} | "
                         f"{v.chi2:.1f}/{v.ndf} = {v.chi2_ndf:.2f} | {v.p_chi2:.2g} | {v.ks:.4f} | {v.p_ks:.2g} |")
        for name, why in self.skipped.items():
            lines.append(f"| {name} | | | | | skipped: {why} | | | |")
        return "\n".join(lines) + "\n"


def _is_integer(x: np.ndarray) -> bool:
    return x.size > 0 and bool(np.all(np.equal(np.mod(x, 1), 0)))


def common_edges(a: np.ndarray, b: np.ndarray, bins: int = 50) -> np.ndarray:
    """Common bin edges: unit bins for integer data (up to ``4 * bins`` of them), else ``bins``
    equal bins over the 0.5-99.5% quantiles of the pooled values.

    Integer data with a wider range (e.g. peak times in whole samples) get about ``bins`` bins of
    a whole number of units, edges on half-integers, so every bin holds the same number of
    possible values (equal-width bins of a non-integer width would draw a comb).

    Parameters
    ----------
    a, b : numpy.ndarray
        Finite values of both samples.
    bins : int
        Number of bins for continuous variables.

    Returns
    -------
    numpy.ndarray
        Increasing edges.
    """
    both = np.concatenate([a, b])
    if both.size == 0:
        return np.array([0.0, 1.0])
    if _is_integer(both):
        lo, hi = np.quantile(both, [0.001, 0.999])
        lo, hi = np.floor(lo), np.ceil(hi)
        if hi - lo + 1 <= 4 * bins:
            return np.arange(lo - 0.5, hi + 1.0, 1.0)
        lo, hi = np.floor(np.quantile(both, 0.005)), np.ceil(np.quantile(both, 0.995))
        width = np.ceil((hi - lo + 1) / bins)
        n = int(np.ceil((hi - lo + 1) / width))
        edges: np.ndarray = lo - 0.5 + width * np.arange(n + 1)
        return edges
    lo, hi = np.quantile(both, [0.005, 0.995])
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def chi2_two_samples(counts_a: np.ndarray, counts_b: np.ndarray) -> tuple[float, int]:
    """Chi2 of two unweighted histograms with different totals (ROOT ``Chi2Test`` "UU").

    Parameters
    ----------
    counts_a, counts_b : numpy.ndarray
        Bin counts.

    Returns
    -------
    chi2 : float
        ``sum (sqrt(N_B/N_A) a - sqrt(N_A/N_B) b)^2 / (a + b)`` over bins with entries.
    ndf : int
        Bins with entries minus one.
    """
    a = np.asarray(counts_a, dtype=np.float64)
    b = np.asarray(counts_b, dtype=np.float64)
    na, nb = a.sum(), b.sum()
    ok = (a + b) > 0
    if na == 0 or nb == 0 or ok.sum() < 2:
        return float("nan"), 0
    r = np.sqrt(nb / na) * a[ok] - np.sqrt(na / nb) * b[ok]
    return float(np.sum(r * r / (a[ok] + b[ok]))), int(ok.sum() - 1)


def compare_variable(name: str, a: np.ndarray, b: np.ndarray, bins: int | np.ndarray = 50) -> VariableComparison:
    """Histogram, chi2 and KS comparison of one variable.

    Parameters
    ----------
    name : str
        Variable name.
    a, b : numpy.ndarray
        Values (non-finite ones are dropped).
    bins : int or numpy.ndarray
        Number of bins (see :func:`common_edges`) or explicit edges.

    Returns
    -------
    VariableComparison
        The histograms and test statistics.
    """
    require("scipy", "ccreco compare")
    from scipy import stats

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        raise ConfigError(f"variable {name!r} has no finite values in one sample")
    edges = np.asarray(bins, dtype=np.float64) if np.ndim(bins) else common_edges(a, b, int(bins))
    ca = np.histogram(np.clip(a, edges[0], edges[-1]), edges)[0]
    cb = np.histogram(np.clip(b, edges[0], edges[-1]), edges)[0]
    chi2, ndf = chi2_two_samples(ca, cb)
    p = float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else float("nan")
    ks = stats.ks_2samp(a, b)
    return VariableComparison(
        name, edges, ca, cb, int(a.size), int(b.size), float(a.mean()), float(b.mean()),
        float(a.std()), float(b.std()), chi2, ndf, p, float(ks.statistic), float(ks.pvalue),
    )


def compare_samples(
    a: Sample,
    b: Sample,
    variables: Sequence[str] | None = None,
    labels: tuple[str, str] = ("A", "B"),
    bins: int | Mapping[str, int | np.ndarray] = 50,
) -> Comparison:
    """Compare every variable present in both samples.

    Parameters
    ----------
    a, b : mapping of str to numpy.ndarray
        The samples (see module docstring).
    variables : sequence of str, optional
        Variables to compare; default: :data:`DEFAULT_VARIABLES` present in both, then every
        other common variable in alphabetical order. Former names (:data:`RENAMED_VARIABLES`,
        e.g. ``cnn_n_clusters``) are read as their current ones (``ml_n_clusters``).
    labels : (str, str)
        Names of the samples.
    bins : int or mapping
        Bins for all variables, or per variable (number or edges; default 50).

    Returns
    -------
    Comparison
        Per-variable results (and the variables skipped, with the reason).
    """
    common = [k for k in a if k in b]
    if variables is None:
        names = [v for v in DEFAULT_VARIABLES if v in common] + sorted(set(common) - set(DEFAULT_VARIABLES))
    else:
        names = list(dict.fromkeys(RENAMED_VARIABLES.get(v, v) for v in variables))
    out: dict[str, VariableComparison] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name not in a or name not in b:
            skipped[name] = f"missing in {labels[0] if name not in a else labels[1]}"
            continue
        nb = bins.get(name, 50) if isinstance(bins, Mapping) else bins
        try:
            out[name] = compare_variable(name, a[name], b[name], nb)
        except ConfigError as exc:
            skipped[name] = str(exc)
    if not out:
        raise ConfigError(f"no common variable to compare (A: {sorted(a)}, B: {sorted(b)})")
    return Comparison(labels, out, skipped)


# ---------------------------------------------------------------------------------------------
# loading


#: Per-waveform identifiers, never compared as distributions (``file_index``: reco.root's input file).
IDENTIFIERS: tuple[str, ...] = ("run", "event", "channel", "file_index")


def _is_tree(classname: str) -> bool:
    return classname.startswith("TTree") or classname == "ROOT::RNTuple"


def _tree_sample(path: Path, max_entries: int | None) -> dict[str, np.ndarray]:
    import awkward as ak
    import uproot

    out: dict[str, np.ndarray] = {}
    with uproot.open(path) as f:
        trees = [k for k, c in f.classnames().items() if _is_tree(c)]
        if not trees:
            raise InputFileError(f"no TTree or RNTuple in {path}", file=str(path))
        # the per-waveform tree: the one with the most entries (reco.root may hold a small
        # per-run tree beside it)
        name = max(trees, key=lambda k: f[k].num_entries)
        tree = f[name]
        counters = set()
        for branch in getattr(tree, "branches", ()):  # TTree counters (an RNTuple has none)
            count = getattr(branch, "count_branch", None)
            if count is not None:
                counters.add(count.name)
        from ccreco.reco.output import PEAK_COUNTER

        # reco.root's peak counter is the per-waveform peak count itself: a variable, not a copy
        skip = (counters - {PEAK_COUNTER}) | set(IDENTIFIERS)
        arrays = tree.arrays(entry_stop=max_entries, library="ak")
        for field_name in arrays.fields:
            if field_name in skip:
                continue
            arr = arrays[field_name]
            try:
                flat = ak.to_numpy(ak.flatten(arr, axis=None))
            except Exception:  # noqa: BLE001 - records/strings: not a comparable variable
                continue
            if flat.dtype.kind in "biuf":
                out[field_name] = flat.astype(np.float64)
    return out


def sample_from_features(features: Any) -> dict[str, np.ndarray]:
    """A sample (variable -> values) from :class:`~ccreco.analysis.features.Features`.

    Parameters
    ----------
    features : Features
        Truth-free waveform features.

    Returns
    -------
    dict of str to numpy.ndarray
        Per-waveform and per-peak variables.
    """
    return {k: np.asarray(v, dtype=np.float64) for k, v in features.columns().items()}


def load_sample(
    path: str | os.PathLike[str],
    *,
    schema: str = "native",
    max_waveforms: int | None = None,
) -> dict[str, np.ndarray]:
    """Load a sample from a reconstruction output or a waveform ntuple.

    Parameters
    ----------
    path : str or os.PathLike
        ``OUTDIR`` of ``ccreco reco`` (its ``reco.root`` is read), a ``reco.root``, or a waveform
        ROOT file (features computed with :func:`ccreco.analysis.features.waveform_features`).
    schema : str
        ``ccreco.io`` schema for waveform files.
    max_waveforms : int, optional
        Read at most this many waveforms / entries.

    Returns
    -------
    dict of str to numpy.ndarray
        Variables (per waveform, and per peak flattened), estimator-qualified: a waveform
        file's DERIV quantities are ``deriv_n_peaks``, ``deriv_n_clusters``, ... (:data:`FEATURE_NAMES`),
        a reco.root's ``lstm_n_peaks``, ``ml_n_clusters``, ``ml_dndx``, ... (:data:`RECO_NAMES`),
        so different estimators never pair.

    Raises
    ------
    InputFileError
        Path missing or a directory without ``reco.root``.
    """
    p = Path(path)
    if p.is_dir():
        if not (p / "reco.root").exists():
            raise InputFileError(f"{p} has no reco.root (expected a `ccreco reco` output directory)", file=str(p))
        return _qualify(_tree_sample(p / "reco.root", max_waveforms), RECO_NAMES)
    if not p.exists():
        raise InputFileError(f"no such file or directory: {p}", file=str(p))
    import uproot

    with uproot.open(p) as f:
        is_waveforms = any(_is_tree(c) and "waveform" in f[k].keys()
                           for k, c in f.classnames().items())
        is_reco = any(k.split(";")[0] == "reco" and _is_tree(c) for k, c in f.classnames().items())
    if not is_waveforms and schema == "native":
        return _qualify(_tree_sample(p, max_waveforms), RECO_NAMES if is_reco else {})
    from ccreco.analysis.features import features_from_chunks
    from ccreco.io import iterate

    features = features_from_chunks(iterate(p, schema=schema), max_waveforms=max_waveforms)
    return _qualify(sample_from_features(features), FEATURE_NAMES)


def _qualify(sample: dict[str, np.ndarray], names: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Rename variables to their estimator-qualified names (``n_clusters`` -> ``ml_n_clusters``)."""
    return {names.get(k, k): v for k, v in sample.items()}


# ---------------------------------------------------------------------------------------------
# plots


def ratio_limits(r: np.ndarray, er: np.ndarray, pad: float = 0.1) -> tuple[float, float]:
    """y range of a ratio panel fitted to the points and their errors (always including 1).

    Parameters
    ----------
    r, er : numpy.ndarray
        Ratios and their errors (NaN where undefined).
    pad : float
        Margin as a fraction of the range.

    Returns
    -------
    tuple of float
        ``(lo, hi)``, ``lo >= 0``.
    """
    ok = np.isfinite(r) & np.isfinite(er)
    precise = ok & (er < 0.5)  # points known to better than +-0.5 set the range (others may leave it)
    if precise.any():
        ok = precise
    if not ok.any():
        return 0.5, 1.5
    lo = min(1.0, float(np.min(r[ok] - er[ok])))
    hi = max(1.0, float(np.max(r[ok] + er[ok])))
    span = max(hi - lo, 0.1)
    return max(0.0, lo - pad * span), hi + pad * span


def overlay_figure(
    values: Mapping[str, np.ndarray],
    edges: np.ndarray,
    xlabel: str,
    title: str = "",
    reference: str | None = None,
    data: bool | None = None,
    logy: bool | None = None,
) -> Any:
    """Normalized histograms of several samples, with a ratio panel to the reference sample.

    The legend (with ``title``, e.g. the chi2/ndf and KS distance) sits above the data (the y
    range is raised for it, after the y scale is chosen), the ratio panel's range is fitted to
    the ratios and their errors.

    Parameters
    ----------
    values : mapping of str to numpy.ndarray
        Label -> values (first entry is the reference unless ``reference`` is given).
    edges : numpy.ndarray
        Bin edges.
    xlabel : str
        x-axis label.
    title : str
        Legend title (the test statistics).
    reference : str, optional
        Label of the sample in the ratio denominators.
    data : bool, optional
        Label the plot "Data" (True) or "Simulation" (False); None for no such label.
    logy : bool, optional
        Log y axis (True), linear (False), or log when the spectra span decades (None).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not shown; save it with ``fig.savefig``).
    """
    import hist

    from ccreco import plotting

    with plotting.style():
        fig, (ax, rax) = plotting.figure((8, 7), 2, 1, sharex=True,
                                         gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05})
        ref = reference or next(iter(values))
        hists: dict[str, Any] = {}
        for label, x in values.items():
            x = np.asarray(x, dtype=np.float64)
            x = np.clip(x[np.isfinite(x)], edges[0], edges[-1])
            h = hist.Hist(hist.axis.Variable(edges, name="x", underflow=False, overflow=False),
                          storage=hist.storage.Weight())
            h.fill(x)
            hists[label] = h
        widths = np.diff(edges)
        dens: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for label, h in hists.items():
            n = max(h.values().sum(), 1.0)
            dens[label] = (h.values() / n / widths, np.sqrt(h.variances()) / n / widths)
        import mplhep as hep

        for i, label in enumerate(hists):
            y, e = dens[label]
            if label == ref:
                plotting.errorbar_hist(ax, y, edges, e**2, label=label, zorder=3)
            else:
                hep.histplot(y, edges, yerr=e, ax=ax, histtype="step", label=label, color=f"C{i}", linewidth=2)
        ax.set_ylabel("Normalized")
        ax.set_ylim(0, None)
        heights = np.concatenate([d[0] for d in dens.values()])
        if logy is None:
            plotting.auto_log(ax, heights)
        elif logy and np.any(heights > 0):
            plotting.auto_log(ax, heights, ratio=0.0)  # forced: any positive spread
        # the legend's headroom is computed on the final scale (log space on a log axis)
        plotting.legend(ax, title=title or None)
        if data is not None:
            plotting.label(ax, data=data)
        ry, rerr = dens[ref]
        centres = (edges[:-1] + edges[1:]) / 2
        ratios, errors = [], []
        for i, label in enumerate(hists):
            if label == ref:
                continue
            y, e = dens[label]
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(ry > 0, y / ry, np.nan)
                er = np.where(ry > 0, r * np.hypot(np.divide(e, y, out=np.zeros_like(e), where=y > 0),
                                                    np.divide(rerr, ry, out=np.zeros_like(rerr), where=ry > 0)),
                              np.nan)
            rax.errorbar(centres, r, yerr=er, xerr=widths / 2, fmt="o", ms=3, color=f"C{i}")
            ratios.append(r)
            errors.append(er)
        rax.axhline(1.0, color="k", lw=1)
        if ratios:
            rax.set_ylim(*ratio_limits(np.concatenate(ratios), np.concatenate(errors)))
        if len(ref) <= 10:
            rax.set_ylabel(f"x / {ref}", fontsize="small")
        else:  # a long sample name does not fit beside the ratio panel: say it inside the panel
            rax.set_ylabel("ratio", fontsize="small")
            rax.text(0.01, 0.95, f"x / {ref}", transform=rax.transAxes, ha="left", va="top", fontsize="x-small")
        rax.set_xlabel(xlabel)
        rax.set_xlim(edges[0], edges[-1])
    return fig


def ks_figure(name: str, a: np.ndarray, b: np.ndarray, labels: tuple[str, str], ks: float, p_ks: float,
              data: bool | None = None) -> Any:
    """Empirical CDFs of both samples with the Kolmogorov-Smirnov distance marked.

    Parameters
    ----------
    name : str
        Variable name.
    a, b : numpy.ndarray
        Values.
    labels : (str, str)
        Sample names.
    ks, p_ks : float
        KS distance and p-value (for the legend).
    data : bool, optional
        "Data" / "Simulation" label; None for none.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from ccreco import plotting

    with plotting.style():
        fig, ax = plotting.figure((8, 6))
        a = np.sort(a[np.isfinite(a)])
        b = np.sort(b[np.isfinite(b)])
        grid = np.union1d(a, b)
        fa = np.searchsorted(a, grid, side="right") / max(a.size, 1)
        fb = np.searchsorted(b, grid, side="right") / max(b.size, 1)
        ax.step(grid, fa, where="post", color="k", label=labels[0])
        ax.step(grid, fb, where="post", color="C1", label=labels[1])
        if grid.size:
            i = int(np.argmax(np.abs(fa - fb)))
            ax.vlines(grid[i], min(fa[i], fb[i]), max(fa[i], fb[i]), color="C3", lw=3,
                      label=f"KS D = {ks:.4f}, p = {p_ks:.2g}")
        ax.set_xlabel(LABELS.get(name, name))
        ax.set_ylabel("Cumulative fraction")
        lo, hi = np.quantile(grid, [0.002, 0.998]) if grid.size else (0, 1)
        ax.set_xlim(lo, hi if hi > lo else lo + 1)
        ax.set_ylim(0, 1.02)
        plotting.legend(ax, loc="upper left")
        if data is not None:
            plotting.label(ax, data=data)
    return fig


def _has_truth(sample: Sample) -> bool:
    """Whether a sample carries MC-truth variables (``*_true``): then it is a simulation."""
    return any(str(k).endswith("_true") for k in sample)


#: What a sample may be declared as (``ccreco compare --label-a/--label-b``); "auto" decides by truth.
SAMPLE_KINDS = ("auto", "data", "simulation")


def sample_kind(sample: Sample, kind: str = "auto") -> str | None:
    """Whether a sample is data or simulation, as declared or (``"auto"``) as its variables say.

    Parameters
    ----------
    sample : mapping
        The sample's variables.
    kind : {"auto", "data", "simulation"}
        Declared kind; ``"auto"`` says "simulation" when the sample carries MC-truth variables
        and nothing otherwise (a sample of waveform features does not say whether it was
        simulated).

    Returns
    -------
    str or None
        ``"data"``, ``"simulation"`` or None (unknown).

    Raises
    ------
    ConfigError
        For another ``kind``.
    """
    if kind not in SAMPLE_KINDS:
        raise ConfigError(f"sample kind must be one of {', '.join(SAMPLE_KINDS)}, got {kind!r}")
    if kind != "auto":
        return kind
    return "simulation" if _has_truth(sample) else None


def data_mark(kind_a: str | None, kind_b: str | None) -> bool | None:
    """The plots' mark from the two samples' kinds: "Data" when either is data.

    Parameters
    ----------
    kind_a, kind_b : str or None
        From :func:`sample_kind`.

    Returns
    -------
    bool or None
        True ("Data") when a sample is data, False ("Simulation") when both are simulation,
        None (no mark) otherwise.
    """
    if "data" in (kind_a, kind_b):
        return True
    if kind_a == kind_b == "simulation":
        return False
    return None


def plot_comparison(
    result: Comparison, a: Sample, b: Sample, outdir: str | os.PathLike[str], data: bool | None = None,
    kinds: tuple[str, str] = ("auto", "auto"),
) -> list[Path]:
    """Write the overlay + ratio and KS figures of every variable, and the chi2/KS summary figure.

    Parameters
    ----------
    result : Comparison
        From :func:`compare_samples`.
    a, b : mapping
        The samples that were compared.
    outdir : str or os.PathLike
        Directory (created).
    data : bool, optional
        Label the plots "Data" (True) or "Simulation" (False); default: from ``kinds``.
    kinds : (str, str)
        What A and B are (see :func:`sample_kind`): "Data" when either is data, "Simulation"
        when both are simulation, else no such label. The default ``("auto", "auto")`` marks
        "Simulation" when both samples carry MC-truth variables.

    Returns
    -------
    list of pathlib.Path
        Files written: ``<var>.png``, ``<var>_ks.png``, ``summary_chi2_ks.png``.
    """
    from ccreco import plotting

    if data is None:
        data = data_mark(sample_kind(a, kinds[0]), sample_kind(b, kinds[1]))
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    la, lb = result.labels
    written: list[Path] = []
    for name, v in result.variables.items():
        # drawn and saved in the style: mathtext is laid out at save time, and outside the style
        # its custom font set looked for a 'cursive' family that is not installed
        with plotting.style():
            fig = overlay_figure({la: a[name], lb: b[name]}, v.edges, LABELS.get(name, name),
                                 title=f"$\\chi^2$/ndf = {v.chi2:.1f}/{v.ndf}, KS D = {v.ks:.3f}", data=data)
            path = out / f"{safe_name(name)}.png"  # names come from the input's branches
            fig.savefig(path, dpi=90, bbox_inches="tight")
            written.append(path)
            fig = ks_figure(name, np.asarray(a[name], float), np.asarray(b[name], float), result.labels, v.ks,
                            v.p_ks, data=data)
            path = out / f"{safe_name(name)}_ks.png"
            fig.savefig(path, dpi=90, bbox_inches="tight")
            written.append(path)
    names = list(result.variables)
    with plotting.style():
        fig, (ax1, ax2) = plotting.figure((11, max(4.0, 1.0 + 0.45 * len(names))), 1, 2, sharey=True)
        y = np.arange(len(names))
        chi2 = np.array([result.variables[n].chi2_ndf for n in names], dtype=np.float64)
        bars = ax1.barh(y, chi2, color="C0")
        ax1.axvline(1.0, color="k", ls="--")
        ax1.set_yticks(y, names, fontsize="x-small")
        ax1.set_xlabel("$\\chi^2$/ndf")
        ax1.set_xscale("log")
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

        # each bar's value beside it (a short log range shows few tick labels); room for the text
        ax1.bar_label(bars, fmt="%.3g", padding=3, fontsize="xx-small")
        finite = chi2[np.isfinite(chi2) & (chi2 > 0)]
        lo, hi = (min(0.5, finite.min() / 2), max(2.0, finite.max()) * 4) if finite.size else (0.5, 8.0)
        ax1.set_xlim(lo, hi)
        # plain numbers; 1-2-5 ticks over a short range (else one power of ten would be labelled)
        subs = (1.0, 2.0, 5.0) if np.log10(hi / lo) < 2.5 else (1.0,)
        ax1.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax1.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax1.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log range collide
        ks = [result.variables[n].ks for n in names]
        bars = ax2.barh(y, ks, color="C1")
        ax2.bar_label(bars, fmt="%.3f", padding=3, fontsize="xx-small")
        ax2.set_xlim(0, max(max(ks, default=0.0), 1e-3) * 1.3)
        ax2.tick_params(axis="y", labelleft=False)
        ax2.set_xlabel("KS distance D")
        if data is not None:
            plotting.label(ax1, data=data, rlabel="")
        fig.suptitle(f"{la} vs {lb}", fontsize="medium")
        path = out / "summary_chi2_ks.png"
        fig.savefig(path, dpi=90, bbox_inches="tight")
    written.append(path)
    return written


def write_comparison(result: Comparison, outdir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``summary.md`` and ``summary.json``.

    Parameters
    ----------
    result : Comparison
        From :func:`compare_samples`.
    outdir : str or os.PathLike
        Directory (created).

    Returns
    -------
    dict of str to Path
        ``md`` and ``json``.
    """
    from ccreco.analysis.report import write_report

    return write_report(outdir, "summary", title=f"{result.labels[0]} vs {result.labels[1]}", table=result.table(),
                        data=result.to_dict())


__all__ = [
    "DEFAULT_VARIABLES",
    "LABELS",
    "RENAMED_VARIABLES",
    "Comparison",
    "VariableComparison",
    "chi2_two_samples",
    "common_edges",
    "compare_samples",
    "compare_variable",
    "data_mark",
    "ratio_limits",
    "ks_figure",
    "load_sample",
    "overlay_figure",
    "plot_comparison",
    "sample_from_features",
    "sample_kind",
    "SAMPLE_KINDS",
    "write_comparison",
]
