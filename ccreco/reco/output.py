"""Writing a reconstruction's outputs: per-block part files, ``reco.root``, ``hists.root``, plots.

Every file is written to a temporary name and renamed when complete. A run writes all of its
outputs into a hidden staging directory next to ``OUTDIR`` and renames it to ``OUTDIR`` only at
the end (:func:`publish`), so an interrupted or failed run never leaves a directory that looks
complete.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
import uproot

from ccreco.errors import ConfigError
from ccreco.io.writer import default_compression
from ccreco.reco.core import RecoResult

#: Tree name of the per-waveform output (``reco.root``) and of each part file.
RECO_TREE = "reco"
#: Counter branch of the jagged ``peak_*`` branches: the per-waveform peak count itself (so the
#: tree has no second, duplicate counter).
PEAK_COUNTER = "n_peaks"
#: Branch with the input file of every waveform: its index in ``summary.json``'s ``inputs``
#: (event numbers repeat across files).
FILE_INDEX = "file_index"
#: Title of the ``reco`` TTree.
TREE_TITLE = "ccreco cluster counting, one entry per waveform"
#: Branch titles (``TTree::Print``, ``TBrowser``): what each branch holds, with its unit.
BRANCH_TITLES: dict[str, str] = {
    "run": "run number",
    "event": "event number (repeats across input files: see file_index)",
    "channel": "readout channel",
    FILE_INDEX: "index of the input file in summary.json inputs",
    "baseline_rms": "baseline noise RMS [mV]",
    "n_candidates": "candidate windows of the waveform (step 1 scores those its pre-selection passes) [count]",
    "n_peaks": "peaks at or above the step-1 threshold [count]",
    "n_clusters": "step-2 (ML) cluster count [clusters]",
    "n_clusters_int": "step-2 (ML) cluster count, rounded [clusters]",
    "track_length_cm": "track length in the cell [cm]",
    "dndx": "cluster density N_cl / track length [cm^-1]",
    "deriv_n_peaks": "DERIV peak count [count]",
    "deriv_n_clusters": "DERIV + clusterization cluster count [clusters]",
    "n_clusters_true": "MC truth cluster count [clusters]",
    "n_electrons_true": "MC truth ionization electrons [count]",
    "peak_time_ns": "detected peak time from the window start [ns]",
    "peak_amplitude_mv": "detected peak height above the baseline [mV]",
}
#: Subdirectory of the staging directory holding one part file per processed block.
PARTS_DIR = "parts"


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_part(result: RecoResult, path: str | os.PathLike[str], file_index: np.ndarray | None = None) -> str:
    """Write one block's per-waveform result to its own ROOT file, atomically.

    A retried block (a dask worker that died) rewrites the same file, so nothing is doubled.

    Parameters
    ----------
    result : RecoResult
        The block's reconstruction.
    path : path-like
        Destination ``.root`` file.
    file_index : numpy.ndarray, optional
        The input file of every waveform (a block made of several small files); written as the
        ``file_index`` branch, which :func:`merge_parts` then uses instead of the part's own index.

    Returns
    -------
    str
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    arrays = result.to_arrays()
    if file_index is not None:
        if len(file_index) != len(result):
            raise ValueError(f"file_index has {len(file_index)} entries for {len(result)} waveforms")
        arrays = {FILE_INDEX: np.asarray(file_index, dtype=np.int32)} | arrays
    with uproot.recreate(tmp, compression=default_compression()) as f:
        _extend(f, None, arrays)
    os.replace(tmp, path)
    return str(path)


def _extend(f: Any, tree: Any, arrays: dict[str, Any]) -> Any:
    """Append ``arrays`` to the ``reco`` TTree of ``f`` (created from the first basket).

    The jagged ``peak`` record's counter is ``n_peaks``, so an ``n_peaks`` array beside it is
    dropped (it holds the same numbers).
    """
    from ccreco.io.writer import branch_type

    if "peak" in arrays:
        arrays = {k: v for k, v in arrays.items() if k != PEAK_COUNTER}
    if tree is None:
        tree = f.mktree(RECO_TREE, {k: branch_type(v) for k, v in arrays.items()}, title=TREE_TITLE,
                        counter_name=lambda name: PEAK_COUNTER if name == "peak" else f"n{name}",
                        field_name=lambda outer, inner: f"{outer}_{inner}")
        _title_branches(tree)
    tree.extend(arrays)
    return tree


def _title_branches(tree: Any) -> None:
    """Give the branches of a new uproot tree the titles of :data:`BRANCH_TITLES`.

    The leaves keep uproot's names and titles (ROOT reads the types and the counter from them);
    only the TBranch title, which ROOT shows (``TTree::Print``) and does not parse on reading,
    changes.
    """
    cascading = getattr(tree, "_cascading", None)
    changed = False
    for datum in getattr(cascading, "_branch_data", []):
        if isinstance(datum, dict) and datum.get("fName") in BRANCH_TITLES and "fTitle" in datum:
            datum["fTitle"] = BRANCH_TITLES[datum["fName"]]
            changed = True
    if changed and cascading is not None and hasattr(cascading, "_needs_relocation_before_extend"):
        # uproot wrote the tree's metadata at creation; this makes the first extend() rewrite it
        # whole (with the titles) instead of patching it. Without this uproot internal (another
        # uproot version) the branches keep uproot's titles: cosmetic only.
        cascading._needs_relocation_before_extend = True


def _empty_arrays() -> dict[str, Any]:
    """The branches of :meth:`RecoResult.to_arrays` with zero entries (no optional ones)."""
    z = np.zeros(0, dtype=np.float32)
    i = np.zeros(0, dtype=np.int64)
    empty = RecoResult(run=i, event=i, channel=np.zeros(0, dtype=np.int32), baseline_rms=z, n_candidates=i,
                       score=z, n_peaks=i, peak_time_ns=z, peak_amplitude_mv=z, peak_offsets=np.zeros(1, np.int64),
                       n_clusters=z, n_clusters_int=i, track_length_cm=z, dndx=z, length_source="config")
    return empty.to_arrays()


def merge_parts(parts: Iterable[str | os.PathLike[str] | tuple[int, str | os.PathLike[str]]],
                dest: str | os.PathLike[str], provenance: Mapping[str, Any] | None = None,
                per_file: dict[int, dict[str, Any]] | None = None) -> int:
    """Concatenate part files, in the order given, into one ``reco`` TTree (streaming).

    Only one part is in memory at a time, so memory does not grow with the run.

    Parameters
    ----------
    parts : iterable of path-like or (int, path-like)
        Part files from :func:`write_part`; with ``(file_index, path)`` pairs every entry also
        gets the ``file_index`` branch (the input file it came from), unless the part holds its
        own ``file_index`` branch (a block of several files), which is kept.
    dest : path-like
        ``reco.root`` to write (atomically).
    provenance : mapping, optional
        Written beside the tree as the JSON TObjString ``provenance``.
    per_file : dict, optional
        Filled, per file index, with ``{"entries": n, "sums": {branch: {"n", "sum", "sum2"}}}``
        of the per-waveform scalar branches (for ``summary.json``'s per-file section).

    Returns
    -------
    int
        Entries written.
    """
    dest = Path(dest)
    tmp = _tmp(dest)
    n = 0
    tree_out = None
    with uproot.recreate(tmp, compression=default_compression()) as out:
        for item in parts:
            index, part = item if isinstance(item, tuple) else (None, item)
            with uproot.open(part) as f:
                tree = f[RECO_TREE]
                arrays = tree.arrays(filter_name=lambda b: b != PEAK_COUNTER, how=dict)
                entries = int(tree.num_entries)
            peak = {k[len("peak_"):]: arrays.pop(k) for k in list(arrays) if k.startswith("peak_")}
            rows = np.asarray(arrays.pop(FILE_INDEX), dtype=np.int32) if FILE_INDEX in arrays else None
            flat: dict[str, Any] = dict(arrays)
            if index is not None:
                rows = np.full(entries, index, dtype=np.int32) if rows is None else rows
                flat = {FILE_INDEX: rows} | flat
                if per_file is not None:
                    files = np.unique(rows)
                    for i in files:  # one input file per part, or several small files in one block
                        sel = rows == i if len(files) > 1 else slice(None)
                        _add_file_sums(per_file.setdefault(int(i), {"entries": 0, "sums": {}}),
                                       {k: v[sel] for k, v in flat.items()}, {k: v[sel] for k, v in peak.items()},
                                       len(rows[sel]))
            if peak:
                flat["peak"] = ak.zip(peak)
            tree_out = _extend(out, tree_out, flat)
            n += entries
        if tree_out is None:  # nothing reconstructed (every block skipped): an empty tree, not no tree
            empty = _empty_arrays()
            _extend(out, None, ({FILE_INDEX: np.zeros(0, dtype=np.int32)} | empty) if per_file is not None else empty)
        if provenance is not None:
            out[PROVENANCE_KEY] = provenance_json(provenance)
    os.replace(tmp, dest)
    return n


def _add_file_sums(entry: dict[str, Any], flat: Mapping[str, Any], peak: Mapping[str, Any], entries: int) -> None:
    """Add one part's count, sum and sum of squares per scalar branch to a per-file entry."""
    entry["entries"] += entries
    columns = {k: np.asarray(v, dtype=np.float64) for k, v in flat.items()
               if k not in (FILE_INDEX, "run", "event", "channel") and np.asarray(v).ndim == 1}
    if peak:
        columns["n_peaks"] = np.asarray(ak.num(next(iter(peak.values()))), dtype=np.float64)
    if "n_clusters_true" in columns:
        columns["residual"] = columns["n_clusters"] - columns["n_clusters_true"]
    for k, v in columns.items():
        v = v[np.isfinite(v)]
        s = entry["sums"].setdefault(k, {"n": 0, "sum": 0.0, "sum2": 0.0})
        s["n"] += int(v.size)
        s["sum"] += float(v.sum())
        s["sum2"] += float((v * v).sum())


def _set_member(obj: Any, key: str, value: Any) -> bool:
    """Set a streamer member (``fTitle`` ...) on an uproot writable model or one of its bases."""
    members = getattr(obj, "_members", {})
    if key in members:
        members[key] = value
        return True
    return any(_set_member(base, key, value) for base in getattr(obj, "_bases", []))


def _writable(name: str, h: hist.Hist[Any], step2_note: str = "") -> Any:
    """``h`` as the ROOT object uproot writes, with the title and y-axis title of :mod:`~ccreco.reco.hists`."""
    from ccreco.reco.hists import STEP2_HISTS, TITLES, YLABELS

    obj = uproot.to_writable(h)
    title = TITLES.get(name) or h.axes[0].label
    if step2_note and name in STEP2_HISTS:
        title = f"{title} ({step2_note})"
    _set_member(obj, "fTitle", title)
    ylabel = YLABELS.get(name, "entries")
    if h.ndim == 1 and ylabel:
        _set_member(obj.member("fYaxis"), "fTitle", ylabel)
    return obj


#: Key of the provenance JSON (a TObjString) in ``hists.root`` and ``reco.root``.
PROVENANCE_KEY = "provenance"


def provenance_json(provenance: Mapping[str, Any] | None) -> str:
    """The provenance written into the ROOT files: compact JSON (NaN as null).

    Parameters
    ----------
    provenance : mapping or None
        ccreco version, models (file, sha256, metadata), configuration.

    Returns
    -------
    str
        JSON text.
    """
    return json.dumps(_clean(dict(provenance or {})), sort_keys=True, separators=(",", ":"))


def write_hists(hists: Mapping[str, hist.Hist[Any]], dest: str | os.PathLike[str],
                provenance: Mapping[str, Any] | None = None, step2_note: str = "") -> None:
    """Write every histogram as a ROOT TH1D/TH2D/TProfile with titles, plus the provenance.

    Titles and y-axis titles come from :data:`ccreco.reco.hists.TITLES` and ``YLABELS`` (x axes
    from the histogram's axis label, units in brackets). A ``hist.storage.Mean`` histogram (the
    profile of N_reco vs N_true) becomes a TProfile.

    Parameters
    ----------
    hists : mapping of str to hist.Hist
        Name -> histogram.
    dest : path-like
        ``hists.root`` to write (atomically).
    provenance : mapping, optional
        Written as the JSON TObjString ``provenance`` (see :func:`provenance_json`).
    step2_note : str, optional
        Appended in brackets to the titles of the step-2 count's histograms
        (:data:`ccreco.reco.hists.STEP2_HISTS`), e.g. the level the count was divided by.
    """
    dest = Path(dest)
    tmp = _tmp(dest)
    with uproot.recreate(tmp) as f:
        for name, h in sorted(hists.items()):
            f[name] = _writable(name, h, step2_note)
        if provenance is not None:
            f[PROVENANCE_KEY] = provenance_json(provenance)
    os.replace(tmp, dest)


def write_json(data: Any, dest: str | os.PathLike[str]) -> None:
    """Write JSON atomically (NaN written as null).

    Parameters
    ----------
    data : object
        JSON-serializable data (numpy scalars allowed).
    dest : path-like
        File to write.
    """
    dest = Path(dest)
    tmp = _tmp(dest)
    tmp.write_text(json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, dest)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def staging_dir(outdir: str | os.PathLike[str], overwrite: bool) -> Path:
    """Create the hidden staging directory for ``outdir`` (refusing to clobber by default).

    Parameters
    ----------
    outdir : path-like
        Final output directory.
    overwrite : bool
        Allow replacing an existing ``outdir`` at the end of the run.

    Staging directories of the same ``outdir`` left by runs whose process no longer exists
    (killed) are removed first.

    Returns
    -------
    pathlib.Path
        The empty staging directory (``.<name>.partial-<pid>`` beside ``outdir``).

    Raises
    ------
    ConfigError
        ``outdir`` exists and ``overwrite`` is False.
    """
    out = Path(outdir).resolve()
    if out.exists() and not overwrite:
        raise ConfigError(f"output directory {out} exists; pass --overwrite (overwrite=True) to replace it")
    for stale in out.parent.glob(f".{out.name}.partial-*"):  # left by a killed run on this machine
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    stage = out.with_name(f".{out.name}.partial-{os.getpid()}")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    return stage


def publish(stage: Path, outdir: str | os.PathLike[str]) -> Path:
    """Move the finished staging directory to ``outdir`` (replacing an old one).

    Parameters
    ----------
    stage : pathlib.Path
        From :func:`staging_dir`, with every output written.
    outdir : path-like
        Final directory.

    Returns
    -------
    pathlib.Path
        ``outdir``.
    """
    from ccreco._outputs import replace_dir

    # of an old OUTDIR only the files its summary.json lists are removed (never foreign files)
    return replace_dir(stage, Path(outdir).resolve())


#: Histograms drawn inside another one's plot, not on their own.
_OVERLAID = frozenset({"n_clusters_true", "deriv_n_clusters", "lstm_score_signal", "lstm_score_noise"})


def draw(hists: Mapping[str, hist.Hist[Any]], plot_dir: str | os.PathLike[str], label: str = "",
         data: bool | None = None, model: str = "") -> list[str]:
    """Draw every histogram with mplhep to PNG and PDF (style in a context: global state untouched).

    ``n_clusters`` overlays the step-2 (ML) count, the MC-truth and DERIV counts (one legend
    entry each; the ML entry names the step-2 model when ``model`` is given);
    ``lstm_score`` is split into candidates matched / not matched to a true peak when the run
    had peak-level truth (log y); ``n_clusters_vs_true`` shows the profile (mean ML count per
    true count, with its error) and the diagonal. Every plot carries the "Simulation" or "Data"
    label, ranges are fitted to the entries, and spectra spanning decades get a log y axis.

    Parameters
    ----------
    hists : mapping of str to hist.Hist
        From the run.
    plot_dir : path-like
        Directory to write into (created).
    label : str
        Text at the top right (e.g. the input's name).
    data : bool, optional
        Label "Data" rather than "Simulation"; default: data when there is no MC truth.
    model : str
        Name of the step-2 model that made the count (e.g. ``perpeak_random_wide``), shown in
        the ``n_clusters`` legend; empty: just "ML".

    Returns
    -------
    list of str
        Files written.
    """
    from ccreco import plotting
    from ccreco.reco.hists import RECO_VS_TRUE, RECO_VS_TRUE_PROFILE

    if data is None:
        data = "n_clusters_true" not in hists
    written: list[str] = []
    with plotting.style():
        for name, h in sorted(hists.items()):
            if name in _OVERLAID or name == RECO_VS_TRUE_PROFILE:
                continue
            if name == RECO_VS_TRUE:
                fig, ax = plotting.figure((9, 7))
                _draw_vs_true(ax, h, hists.get(RECO_VS_TRUE_PROFILE))
            elif name == "n_clusters":
                fig, ax = plotting.figure()
                _draw_counts(ax, hists, model)
            elif name == "lstm_score":
                fig, ax = plotting.figure()
                _draw_score(ax, hists)
            else:
                fig, ax = plotting.figure()
                _draw_1d(ax, name, h)
            plotting.label(ax, data=data, rlabel=label)
            fig.tight_layout()
            written += plotting.save(fig, plot_dir, name)
    return written


def draw_run_levels(records: Sequence[Mapping[str, Any]], plot_dir: str | os.PathLike[str],
                    data: bool = False) -> list[str]:
    """The run-level correction of every input file: its predicted level, and which were applied.

    Parameters
    ----------
    records : sequence of mapping
        ``summary.json`` ``run_level.files`` records, in input order (``file``, ``level``,
        ``applied``, ``reason``).
    plot_dir : path-like
        Directory to write into (created).
    data : bool
        Label "Data" rather than "Simulation".

    Returns
    -------
    list of str
        Files written (``run_level.png`` and ``.pdf``).
    """
    from ccreco import plotting

    index = np.arange(len(records))
    level = np.array([np.nan if r.get("level") is None else float(r["level"]) for r in records])
    applied = np.array([bool(r["applied"]) for r in records])
    with plotting.style():
        fig, ax = plotting.figure((max(10.0, min(18.0, 0.5 * len(records))), 7))
        ax.axhline(1.0, color="grey", ls=":")
        ax.plot(index[applied], level[applied], "o", ms=9, color="C0", label=f"applied ({applied.sum()} files)")
        if (~applied).any():  # outside the training range (or too few waveforms: drawn at 1)
            ax.plot(index[~applied], np.where(np.isnan(level[~applied]), 1.0, level[~applied]), "o", ms=9,
                    mfc="none", color="C3", label=f"not applied ({(~applied).sum()}; summary.json)")
        if len(records) <= 12:
            ax.set_xticks(index, [Path(str(r["file"])).name for r in records], rotation=30, ha="right",
                          fontsize="small")
        else:
            ax.set_xlabel("input file (order of summary.json inputs)")
        ax.set_ylabel("predicted run level")
        ax.set_xlim(-0.5, len(records) - 0.5)
        plotting.legend(ax, loc="upper left")
        plotting.label(ax, data=data)
        fig.tight_layout()
        return plotting.save(fig, plot_dir, "run_level")


def _tex(name: str, h: hist.Hist[Any]) -> str:
    from ccreco.reco.hists import TEX

    return TEX.get(name, str(h.axes[0].label))


def _ylabel(name: str) -> str:
    from ccreco.reco.hists import YLABELS

    return YLABELS.get(name, "entries")


def _draw_1d(ax: Any, name: str, h: hist.Hist[Any]) -> None:
    from ccreco import plotting

    values = h.values()
    ax.set_xlabel(_tex(name, h))
    ax.set_ylabel(_ylabel(name))
    if _empty(ax, h):
        return
    mean, rms = _binned_moments(h)
    plotting.errorbar_hist(ax, values, h.axes[0].edges, h.variances(),
                           label=f"mean {mean:.3g}, RMS {rms:.3g}" if np.isfinite(mean) else None)
    plotting.fit_range(ax, values, h.axes[0].edges)
    lo, hi = ax.get_xlim()
    centers = h.axes[0].centers
    ax.set_ylim(0, None)
    plotting.auto_log(ax, values[(centers >= lo) & (centers <= hi)])
    plotting.legend(ax)


def _empty(ax: Any, h: hist.Hist[Any]) -> bool:
    """Mark an axes "no entries" (full histogram range) when ``h`` is empty; whether it is."""
    if h.values().sum() > 0:
        return False
    ax.set_xlim(h.axes[0].edges[0], h.axes[0].edges[-1])
    ax.set_ylim(0, 1)
    ax.text(0.5, 0.5, "no entries", transform=ax.transAxes, ha="center", va="center")
    return True


def _binned_moments(h: hist.Hist[Any]) -> tuple[float, float]:
    w = h.values()
    n = w.sum()
    if n <= 0:
        return float("nan"), float("nan")
    c = h.axes[0].centers
    mean = float((w * c).sum() / n)
    return mean, float(np.sqrt(max((w * c * c).sum() / n - mean * mean, 0.0)))


def _draw_counts(ax: Any, hists: Mapping[str, hist.Hist[Any]], model: str = "") -> None:
    """Step-2 (ML), truth and DERIV cluster counts on one axes: each its own legend entry."""
    import mplhep as hep

    from ccreco import plotting

    total = np.zeros_like(hists["n_clusters"].values())
    ml = f"ML ({model})" if model else "ML"
    for i, (key, lab) in enumerate((("n_clusters", ml), ("n_clusters_true", "MC truth"),
                                    ("deriv_n_clusters", "DERIV + clusterization"))):
        h = hists.get(key)
        if h is None or h.values().sum() <= 0:
            continue
        mean, rms = _binned_moments(h)
        text = f"{lab}: mean {mean:.1f}, RMS {rms:.1f}"
        if key == "n_clusters":
            plotting.errorbar_hist(ax, h.values(), h.axes[0].edges, h.variances(), label=text, zorder=3)
        else:
            hep.histplot(h, ax=ax, histtype="step", yerr=False, color=f"C{i}", linewidth=2, label=text)
        total = total + h.values()
    ax.set_xlabel(r"$N_{cl}$ per waveform")
    ax.set_ylabel("waveforms")
    if total.sum() <= 0:
        _empty(ax, hists["n_clusters"])
        return
    plotting.fit_range(ax, total, hists["n_clusters"].axes[0].edges)
    ax.set_ylim(0, None)
    plotting.legend(ax)


def _draw_score(ax: Any, hists: Mapping[str, hist.Hist[Any]]) -> None:
    """The step-1 score: split by truth (matched / not matched to a true peak) when known; log y."""
    import mplhep as hep

    h = hists["lstm_score"]
    ax.set_xlabel("step-1 (LSTM) score")
    ax.set_ylabel("candidate windows")
    if _empty(ax, h):
        return
    sig, noise = hists.get("lstm_score_signal"), hists.get("lstm_score_noise")
    split = sig is not None and noise is not None and (sig.values().sum() + noise.values().sum()) > 0
    if sig is not None and noise is not None and split:
        hep.histplot(noise, ax=ax, histtype="step", linewidth=2, color="C0", yerr=True,
                     label=f"no true peak ({noise.values().sum():.0f})")
        hep.histplot(sig, ax=ax, histtype="step", linewidth=2, color="C3", yerr=True,
                     label=f"true peak ({sig.values().sum():.0f})")
    else:
        from ccreco import plotting as _p

        _p.errorbar_hist(ax, h.values(), h.axes[0].edges, h.variances(),
                         label=f"all candidates ({h.values().sum():.0f})")
    ax.set_xlabel("step-1 (LSTM) score")
    ax.set_ylabel("candidate windows")
    ax.set_xlim(0, 1)
    values = h.values()
    if (values > 0).any():
        ax.set_yscale("log")
        ax.set_ylim(0.5, values.max() * 2)
    from ccreco import plotting

    plotting.legend(ax, title="candidates matched to" if split else None)


def _draw_vs_true(ax: Any, h: hist.Hist[Any], prof: hist.Hist[Any] | None) -> None:
    """2-D ML count vs truth with the profile (mean and its error per true count) and the diagonal."""
    import mplhep as hep

    from ccreco import plotting
    from ccreco.reco.hists import RECO_VS_TRUE, TEX

    art = hep.hist2dplot(h, ax=ax, cmin=1, cbar=False)  # mplhep's colorbar goes through pyplot
    ax.figure.colorbar(art.pcolormesh, ax=ax, label="waveforms", pad=0.02)
    x = h.axes[0].centers
    prof_var = prof.variances() if prof is not None else None  # None: storage without variances
    if prof is not None and prof_var is not None and prof.values().size == x.size:
        counts = prof.counts()
        mean = np.where(counts > 0, prof.values(), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.sqrt(prof_var)
    else:
        _, mean, err = plotting.profile(h.values(), h.axes[1].centers, h.variances())
    ok = np.isfinite(mean)
    ax.errorbar(x[ok], mean[ok], yerr=np.nan_to_num(err[ok]), fmt="o", color="r", markersize=4,
                label=r"profile: mean $N_{cl}^{ML}$ per bin")
    lo, hi = h.axes[0].edges[0], h.axes[0].edges[-1]
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label=r"$N_{cl}^{ML} = N_{cl}^{true}$")
    xlab, ylab = TEX[RECO_VS_TRUE].split(";")
    ax.set_xlabel(xlab)
    ax.set_ylabel(ylab)
    plotting.fit_range(ax, h.values().sum(axis=1), h.axes[0].edges, "x")
    plotting.fit_range(ax, h.values().sum(axis=0), h.axes[1].edges, "y")
    plotting.legend(ax, loc="upper left")


def check_outdir_name(outdir: str | os.PathLike[str]) -> None:
    """Refuse an output directory that is a file.

    Parameters
    ----------
    outdir : path-like
        The requested output directory.

    Raises
    ------
    ConfigError
        ``outdir`` exists and is not a directory.
    """
    p = Path(outdir)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"output path {p} exists and is not a directory")


__all__ = ["PARTS_DIR", "PROVENANCE_KEY", "RECO_TREE", "check_outdir_name", "draw", "draw_run_levels", "merge_parts",
           "provenance_json",
           "publish", "staging_dir", "write_hists", "write_json", "write_part"]
