"""The one plot helper every ccreco figure goes through (reco, compare, pid, sim, models, tune).

* :func:`style` applies the mplhep ROOT style **inside a context** (``matplotlib.rc_context``):
  the caller's global matplotlib state is never changed (no ``hep.style.use``).
* :func:`figure` makes a :class:`matplotlib.figure.Figure` without pyplot (no global figure
  registry, no backend switch).
* :func:`label` puts the experiment-neutral "Simulation" / "Data" label (mplhep) on an axes.
* :func:`legend` and :func:`text_box` go at the top of the axes, and :func:`headroom` raises the
  y range by the space they need, so they never cover data.
* :func:`fit_range` limits an axis to where the entries are (a quantile range of the counts),
  :func:`auto_log` switches to a log y axis when the filled bins span decades.
* :func:`profile` gives the mean of y per x bin with its error (for 2-D plots),
  :func:`save` writes PNG and PDF.

Nothing here knows ccreco's data; it only imports matplotlib and mplhep (lazily).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from ccreco._extras import require

P = ParamSpec("P")
R = TypeVar("R")

#: Ratio of the largest to the smallest filled bin above which :func:`auto_log` uses a log y axis.
LOG_DECADES = 100.0
#: Fraction of the entries left out on each side by :func:`fit_range` (long sparse tails).
RANGE_QUANTILE = 0.005


@contextmanager
def style() -> Iterator[None]:
    """Apply the mplhep ROOT style for the duration of a ``with`` block only.

    Yields
    ------
    None
        Inside the block matplotlib's rcParams are the ROOT style; they are restored after.

    Examples
    --------
    >>> with style():  # doctest: +SKIP
    ...     fig, ax = figure()
    """
    require("mplhep", "plots")
    import matplotlib
    import mplhep as hep

    with matplotlib.rc_context(hep.style.ROOT):
        yield


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a plotting function inside :func:`style` (for modules that draw many figures).

    Parameters
    ----------
    func : callable
        The plotting function.

    Returns
    -------
    callable
        The same function, styled; its signature and docstring are kept.
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return func(*args, **kwargs)

    return wrapper


def figure(figsize: tuple[float, float] = (8, 6), nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A new figure and its axes, without pyplot (call it inside :func:`style`).

    Parameters
    ----------
    figsize : tuple of float
        Inches.
    nrows, ncols : int
        Subplot grid.
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``gridspec_kw``, ``sharex`` ...).

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes or numpy.ndarray of them
    """
    require("matplotlib", "plots")
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    ax = fig.subplots(nrows, ncols, **kwargs)
    return fig, ax


def label(ax: Any, data: bool = False, rlabel: str = "") -> None:
    """Experiment-neutral "Simulation" or "Data" label above the axes (mplhep).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The (top) axes.
    data : bool
        Real data ("Data") rather than simulation ("Simulation").
    rlabel : str
        Text on the right (e.g. the input's name); empty for none.
    """
    import mplhep as hep

    hep.label.exp_label(exp="", llabel="Data" if data else "Simulation", rlabel=rlabel, data=data, ax=ax,
                        fontsize=16)


def headroom(ax: Any, fraction: float) -> None:
    """Raise the top of the y axis so the data use only the lower ``1 - fraction`` of the height.

    Works on linear and log axes (in log space); call it after the data are drawn and the
    y limits set.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes.
    fraction : float
        Part of the height kept free at the top (for a legend or a text box), in [0, 0.9].
    """
    fraction = float(np.clip(fraction, 0.0, 0.9))
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        lo_l, hi_l = np.log10(max(lo, 1e-300)), np.log10(max(hi, 1e-300))
        ax.set_ylim(lo, 10 ** (lo_l + (hi_l - lo_l) / (1.0 - fraction)))
    else:
        ax.set_ylim(lo, lo + (hi - lo) / (1.0 - fraction))


#: Font size (points) of legends and text boxes.
LEGEND_FONTSIZE = 14
#: Fraction of the axes height per legend line at that font size (a 6-inch-high axes).
LEGEND_LINE = 0.065


def legend(ax: Any, **kwargs: Any) -> Any:
    """A legend at the top of the axes, with the y range raised so it covers no data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes with labelled artists (the data already drawn and the y range set).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.legend` (``title``, ``loc``, ``ncols`` ...).

    Returns
    -------
    matplotlib.legend.Legend or None
        None when nothing is labelled.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    kwargs.setdefault("loc", "upper right")
    kwargs.setdefault("fontsize", LEGEND_FONTSIZE)
    kwargs.setdefault("title_fontsize", LEGEND_FONTSIZE)
    kwargs.setdefault("frameon", False)
    ncols = int(kwargs.get("ncols", 1))
    lines = -(-len(labels) // ncols) + (1 if kwargs.get("title") else 0)
    headroom(ax, LEGEND_LINE * lines + 0.05)
    return ax.legend(**kwargs)


def text_box(ax: Any, text: str, loc: str = "upper left") -> Any:
    """Text in a box at the top of the axes (``AnchoredText``), with y headroom so it covers no data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where.
    text : str
        Possibly several lines.
    loc : str
        Matplotlib location name.

    Returns
    -------
    matplotlib.offsetbox.AnchoredText
    """
    from matplotlib.offsetbox import AnchoredText

    box = AnchoredText(text, loc=loc, prop={"fontsize": LEGEND_FONTSIZE}, frameon=True)
    box.patch.set_alpha(0.8)
    headroom(ax, LEGEND_LINE * (text.count("\n") + 1) + 0.05)
    ax.add_artist(box)
    return box


def quantile_range(counts: np.ndarray, edges: np.ndarray, q: float = RANGE_QUANTILE) -> tuple[float, float] | None:
    """The edges enclosing all but a fraction ``q`` of the entries on each side.

    Parameters
    ----------
    counts : numpy.ndarray
        Bin contents ``(n,)``.
    edges : numpy.ndarray
        Bin edges ``(n + 1,)``.
    q : float
        Fraction cut on each side.

    Returns
    -------
    tuple of float or None
        ``(lo, hi)``; None when empty.
    """
    c = np.clip(np.nan_to_num(np.asarray(counts, dtype=np.float64)), 0.0, None)
    total = c.sum()
    if total <= 0:
        return None
    cum = np.cumsum(c) / total
    first = int(np.searchsorted(cum, q, side="right"))
    last = int(np.searchsorted(cum, 1.0 - q, side="left"))
    last = min(max(last, first), c.size - 1)
    return float(edges[first]), float(edges[last + 1])


def fit_range(ax: Any, counts: np.ndarray, edges: np.ndarray, axis: str = "x", q: float = RANGE_QUANTILE,
              pad: float = 0.05) -> None:
    """Limit an axis to the bins holding the entries (see :func:`quantile_range`), plus a margin.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to limit.
    counts, edges : numpy.ndarray
        Bin contents and edges along that axis.
    axis : {"x", "y"}
        Which axis.
    q : float
        Fraction of entries allowed outside on each side.
    pad : float
        Margin as a fraction of the range.
    """
    r = quantile_range(counts, edges, q)
    if r is None:
        return
    lo, hi = r
    margin = pad * (hi - lo)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo - margin, hi + margin)


def spans_decades(counts: np.ndarray, ratio: float = LOG_DECADES) -> bool:
    """Whether the filled bins span more than ``ratio`` (largest / smallest non-zero).

    Parameters
    ----------
    counts : numpy.ndarray
        Bin contents.
    ratio : float
        Threshold.

    Returns
    -------
    bool
    """
    c = np.asarray(counts, dtype=np.float64)
    c = c[np.isfinite(c) & (c > 0)]
    return bool(c.size and c.max() / c.min() > ratio)


def auto_log(ax: Any, counts: np.ndarray, ratio: float = LOG_DECADES) -> bool:
    """Use a log y axis when the counts span decades (see :func:`spans_decades`).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes.
    counts : numpy.ndarray
        Bin contents drawn on it.
    ratio : float
        Threshold.

    Returns
    -------
    bool
        Whether the axis is now logarithmic.
    """
    if spans_decades(counts, ratio):
        c = np.asarray(counts, dtype=np.float64)
        ax.set_yscale("log")
        ax.set_ylim(0.5 * c[c > 0].min(), None)
        return True
    return False


def profile(counts: np.ndarray, y_centers: np.ndarray, sumw2: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of y per x bin of a 2-D histogram, with its standard error (ROOT's TProfile, "s"/sqrt(n)).

    Parameters
    ----------
    counts : numpy.ndarray
        ``(nx, ny)`` bin contents (sum of weights).
    y_centers : numpy.ndarray
        ``(ny,)`` bin centres of y.
    sumw2 : numpy.ndarray, optional
        ``(nx, ny)`` sums of squared weights (for the effective entries); default ``counts``.

    Returns
    -------
    n, mean, error : numpy.ndarray
        ``(nx,)`` entries, mean and error of the mean (NaN where a column is empty).
    """
    w = np.asarray(counts, dtype=np.float64)
    n = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * y_centers).sum(axis=1) / n
        var = np.clip((w * y_centers**2).sum(axis=1) / n - mean**2, 0.0, None)
        w2 = n if sumw2 is None else np.asarray(sumw2, dtype=np.float64).sum(axis=1)
        n_eff = n**2 / w2
        err = np.sqrt(var / n_eff)
    empty = n <= 0
    mean[empty] = np.nan
    err[empty] = np.nan
    return n, mean, err


def errorbar_hist(ax: Any, values: np.ndarray, edges: np.ndarray, variances: np.ndarray | None = None,
                  **kwargs: Any) -> Any:
    """Points with error bars (sqrt of the variances) at the non-empty bins only.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes.
    values, edges : numpy.ndarray
        Bin contents and edges.
    variances : numpy.ndarray, optional
        Sum of squared weights per bin (default: the contents, Poisson).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.errorbar` (``label``, ``color`` ...).

    Returns
    -------
    matplotlib.container.ErrorbarContainer
    """
    v = np.asarray(values, dtype=np.float64)
    var = v if variances is None else np.asarray(variances, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    ok = v > 0
    centers = 0.5 * (e[1:] + e[:-1])
    kwargs.setdefault("fmt", "o")
    kwargs.setdefault("color", "k")
    kwargs.setdefault("markersize", 4)
    return ax.errorbar(centers[ok], v[ok], yerr=np.sqrt(np.clip(var[ok], 0, None)),
                       xerr=0.5 * np.diff(e)[ok], **kwargs)


def save(fig: Any, directory: str | os.PathLike[str], stem: str, exts: Sequence[str] = ("png", "pdf"),
         dpi: int = 100) -> list[str]:
    """Write ``fig`` as ``directory/stem.<ext>`` for each extension (directory created).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    directory : path-like
        Output directory.
    stem : str
        File name without extension.
    exts : sequence of str
        Formats.
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    list of str
        Files written.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in exts:
        path = d / f"{stem}.{ext}"
        fig.savefig(path, dpi=dpi if ext == "png" else None)
        out.append(str(path))
    return out


__all__ = ["LEGEND_FONTSIZE", "LEGEND_LINE", "LOG_DECADES", "RANGE_QUANTILE", "auto_log", "errorbar_hist", "figure",
           "fit_range", "headroom", "label", "legend", "profile", "quantile_range", "save", "spans_decades", "style",
           "styled", "text_box"]
