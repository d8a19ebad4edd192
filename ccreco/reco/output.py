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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
import uproot

from ccreco._extras import require
from ccreco.errors import ConfigError
from ccreco.io.writer import default_compression
from ccreco.reco.core import RecoResult

#: Tree name of the per-waveform output (``reco.root``) and of each part file.
RECO_TREE = "reco"
#: Counter branch uproot writes for the jagged ``peak_*`` branches.
PEAK_COUNTER = "npeak"
#: Subdirectory of the staging directory holding one part file per processed block.
PARTS_DIR = "parts"


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_part(result: RecoResult, path: str | os.PathLike[str]) -> str:
    """Write one block's per-waveform result to its own ROOT file, atomically.

    A retried block (a dask worker that died) rewrites the same file, so nothing is doubled.

    Parameters
    ----------
    result : RecoResult
        The block's reconstruction.
    path : path-like
        Destination ``.root`` file.

    Returns
    -------
    str
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    with uproot.recreate(tmp, compression=default_compression()) as f:
        _extend(f, None, result.to_arrays())
    os.replace(tmp, path)
    return str(path)


def _extend(f: Any, tree: Any, arrays: dict[str, Any]) -> Any:
    """Append ``arrays`` to the ``reco`` TTree of ``f`` (created from the first basket)."""
    from ccreco.io.writer import branch_type

    if tree is None:
        tree = f.mktree(RECO_TREE, {k: branch_type(v) for k, v in arrays.items()},
                        counter_name=lambda name: f"n{name}", field_name=lambda outer, inner: f"{outer}_{inner}")
    tree.extend(arrays)
    return tree


def _empty_arrays() -> dict[str, Any]:
    """The branches of :meth:`RecoResult.to_arrays` with zero entries (no optional ones)."""
    z = np.zeros(0, dtype=np.float32)
    i = np.zeros(0, dtype=np.int64)
    empty = RecoResult(run=i, event=i, channel=np.zeros(0, dtype=np.int32), baseline_rms=z, n_candidates=i,
                       score=z, n_peaks=i, peak_time_ns=z, peak_amplitude_mv=z, peak_offsets=np.zeros(1, np.int64),
                       n_clusters=z, n_clusters_int=i, track_length_cm=z, dndx=z, length_source="config")
    return empty.to_arrays()


def merge_parts(parts: Iterable[str | os.PathLike[str]], dest: str | os.PathLike[str]) -> int:
    """Concatenate part files, in the order given, into one ``reco`` TTree (streaming).

    Only one part is in memory at a time, so memory does not grow with the run.

    Parameters
    ----------
    parts : iterable of path-like
        Part files from :func:`write_part`.
    dest : path-like
        ``reco.root`` to write (atomically).

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
        for part in parts:
            with uproot.open(part) as f:
                tree = f[RECO_TREE]
                arrays = tree.arrays(filter_name=lambda b: b != PEAK_COUNTER, how=dict)
            peak = {k[len("peak_"):]: arrays.pop(k) for k in list(arrays) if k.startswith("peak_")}
            flat: dict[str, Any] = dict(arrays)
            if peak:
                flat["peak"] = ak.zip(peak)
            tree_out = _extend(out, tree_out, flat)
            n += int(tree.num_entries)
        if tree_out is None:  # nothing reconstructed (every block skipped): an empty tree, not no tree
            _extend(out, None, _empty_arrays())
    os.replace(tmp, dest)
    return n




def write_hists(hists: Mapping[str, hist.Hist[Any]], dest: str | os.PathLike[str]) -> None:
    """Write every histogram as a ROOT TH1D/TH2D (uproot's conversion of ``hist.Hist``).

    Parameters
    ----------
    hists : mapping of str to hist.Hist
        Name -> histogram.
    dest : path-like
        ``hists.root`` to write (atomically).
    """
    dest = Path(dest)
    tmp = _tmp(dest)
    with uproot.recreate(tmp) as f:
        for name, h in sorted(hists.items()):
            f[name] = h
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


def draw(hists: Mapping[str, hist.Hist[Any]], plot_dir: str | os.PathLike[str], label: str = "") -> list[str]:
    """Draw every histogram with mplhep to PNG and PDF.

    ``n_clusters`` is overlaid with the truth and DERIV counts when present; the 2-D
    ``n_clusters_vs_true`` gets the diagonal.

    Parameters
    ----------
    hists : mapping of str to hist.Hist
        From the run.
    plot_dir : path-like
        Directory to write into (created).
    label : str
        Text for the plot's legend title (e.g. the input's name).

    Returns
    -------
    list of str
        Files written.
    """
    require("mplhep", "plots")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import mplhep as hep

    from ccreco.reco.hists import RECO_VS_TRUE, TEX

    plot_dir = Path(plot_dir)
    plot_dir.mkdir(parents=True, exist_ok=True)
    hep.style.use("ROOT")
    written: list[str] = []
    for name, h in sorted(hists.items()):
        if name in ("n_clusters_true", "deriv_n_clusters"):
            continue
        fig, ax = plt.subplots(figsize=(9, 6.5) if name == RECO_VS_TRUE else (8, 6))
        if name == RECO_VS_TRUE:
            hep.hist2dplot(h, ax=ax, cmin=1)
            lo, hi = h.axes[0].edges[0], h.axes[0].edges[-1]
            ax.plot([lo, hi], [lo, hi], "r--", lw=1)
            xlab, ylab = TEX[name].split(";")
            ax.set_xlabel(xlab)
            ax.set_ylabel(ylab)
            _zoom(ax, h.values().sum(axis=1), h.axes[0].edges, "x")
            _zoom(ax, h.values().sum(axis=0), h.axes[1].edges, "y")
        else:
            hep.histplot(h, ax=ax, label="CNN" if name == "n_clusters" else None, histtype="step", yerr=True)
            if name == "n_clusters":
                for other, lab in (("n_clusters_true", "MC truth"), ("deriv_n_clusters", "DERIV + clusterization")):
                    if other in hists:
                        hep.histplot(hists[other], ax=ax, label=lab, histtype="step", yerr=False)
                ax.legend(title=label or None)
            ax.set_xlabel(TEX.get(name, h.axes[0].label))
            ax.set_ylabel("waveforms" if name in _PER_WAVEFORM else "entries")
            _zoom(ax, h.values(), h.axes[0].edges, "x")
        if label and name != "n_clusters":
            ax.set_title(label, fontsize=14)
        fig.tight_layout()
        for ext in ("png", "pdf"):
            path = plot_dir / f"{name}.{ext}"
            fig.savefig(path, dpi=100 if ext == "png" else None)
            written.append(str(path))
        plt.close(fig)
    return written


#: Histograms with one entry per waveform (the others count peaks or candidates).
_PER_WAVEFORM = frozenset({"n_peaks", "n_clusters", "dndx", "n_candidates", "baseline_rms", "residual"})


def _zoom(ax: Any, counts: np.ndarray, edges: np.ndarray, axis: str) -> None:
    """Limit an axis to the filled bins (with a margin of 5% of the range)."""
    filled = np.flatnonzero(np.asarray(counts) > 0)
    if filled.size == 0:
        return
    lo, hi = edges[filled[0]], edges[filled[-1] + 1]
    pad = 0.05 * (hi - lo)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo - pad, hi + pad)


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


__all__ = ["PARTS_DIR", "RECO_TREE", "check_outdir_name", "draw", "merge_parts", "publish", "staging_dir",
           "write_hists", "write_json", "write_part"]
