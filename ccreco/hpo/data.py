"""Prepare an HPO training sample once and save it as one ``.npz`` (no pickle) in the study folder.

Every trial then loads the same arrays (or receives them from the dask scheduler), so the trials
differ only in their hyperparameters. The file records what it was made from (``request``);
a resumed study checks that it is asked for the same sample.

- peaks: candidate windows and truth labels from :func:`ccreco.models.dataset.peak_sample`
  (``windows`` float32 ``(n, L, 1)``, ``labels`` int8), with the window of the ``compact`` preset;
- clusters: the step-1 model's accepted candidate times per waveform from
  :func:`ccreco.models.dataset.cluster_sample` (flat ``times`` + ``offsets``) and the truth
  ``n_true``; the step-1 model defaults to the shipped
  :data:`ccreco.models.shipped.DEFAULT_PEAK_MODEL`;
- perpeak: every candidate of the step-1 model with its neighbours and its target (clusters it
  opens) from :func:`ccreco.models.dataset.peak_cluster_sample` (``x``, ``y``, ``offsets``,
  ``n_true``), with the largest context and every channel of the study's space.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ccreco.errors import ConfigError


def _write_npz(path: Path, arrays: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **dict(arrays))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _files(files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    items = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    return [os.path.abspath(os.fspath(f)) for f in items]


def _reuse(path: Path, request: Mapping[str, Any]) -> bool:
    if not path.exists():
        return False
    with np.load(path, allow_pickle=False) as z:
        info = json.loads(str(z["info"])) if "info" in z.files else {}
    if info.get("request") != json.loads(json.dumps(request)):
        raise ConfigError(
            f"{path} was prepared from {info.get('request')}, not {dict(request)}; "
            "use another output folder (a study must keep its training sample) or delete the file"
        )
    return True


def prepare_peaks(
    files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    schema: str = "native",
    max_waveforms: int | None = None,
) -> Path:
    """Write (or reuse) the step-1 sample: candidate windows and labels.

    Parameters
    ----------
    files : path or sequence of paths
        Simulated ntuples with MC truth.
    path : path-like
        Destination ``.npz``; an existing file made from the same request is kept.
    schema : str
        Ntuple schema preset or mapping file.
    max_waveforms : int, optional
        Read at most this many waveforms.

    Returns
    -------
    pathlib.Path
        The ``.npz`` with ``windows``, ``labels``, ``sampling_ns`` and ``info`` (JSON text).

    Raises
    ------
    ConfigError
        The existing file was made from other files or options.
    """
    from ccreco.models.config import PEAK_PRESETS
    from ccreco.models.dataset import peak_sample

    path = Path(path)
    request: dict[str, Any] = {
        "kind": "peaks", "files": _files(files), "schema": schema, "max_waveforms": max_waveforms
    }
    if _reuse(path, request):
        return path
    cfg = PEAK_PRESETS["compact"]
    s = peak_sample(request["files"], cfg, schema=schema, max_waveforms=max_waveforms)
    info = dict(s.info, request=request)
    return _write_npz(path, {
        "windows": np.asarray(s.windows, dtype=np.float32),
        "labels": np.asarray(s.labels, dtype=np.int8),
        "sampling_ns": np.float64(s.sampling_ns),
        "info": np.array(json.dumps(info, sort_keys=True)),
    })


def prepare_clusters(
    files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    peak_model: str | os.PathLike[str] | None = None,
    schema: str = "native",
    max_waveforms: int | None = None,
    extra: Sequence[str] = (),
) -> Path:
    """Write (or reuse) the step-2 sample: step-1 peak times per waveform and truth counts.

    Parameters
    ----------
    files : path or sequence of paths
        Simulated ntuples with MC truth.
    path : path-like
        Destination ``.npz``; an existing file made from the same request is kept.
    peak_model : path-like, optional
        Step-1 ONNX model; default the shipped :data:`ccreco.models.shipped.DEFAULT_PEAK_MODEL`.
    schema : str
        Ntuple schema preset or mapping file.
    max_waveforms : int, optional
        Read at most this many waveforms.
    extra : sequence of str
        Per-waveform truth scalars to store for CNNs with extra inputs (e.g.
        ``("track_length_cm",)``), as ``extra_<name>``; ``ccreco hpo clusters`` passes the names
        that the space's ``extra`` parameter can take.

    Returns
    -------
    pathlib.Path
        The ``.npz`` with ``times`` (float64, ns), ``offsets`` (int64, ``n + 1``), ``n_true``
        (float32), ``sampling_ns``, ``info`` (JSON text) and one float32 ``extra_<name>`` per
        requested extra input.

    Raises
    ------
    ConfigError
        The existing file was made from other files or options.
    """
    from ccreco.models.config import CLUSTER_PRESETS
    from ccreco.models.dataset import cluster_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, model_file

    peak_model = model_file(peak_model, DEFAULT_PEAK_MODEL)
    path = Path(path)
    request: dict[str, Any] = {
        "kind": "clusters",
        "files": _files(files),
        "schema": schema,
        "max_waveforms": max_waveforms,
        "peak_model": os.path.abspath(os.fspath(peak_model)),
    }
    names = tuple(dict.fromkeys(str(e) for e in extra))
    if names:  # only then, so that samples prepared without extras keep their request
        request["extra"] = list(names)
    if _reuse(path, request):
        return path
    model = PeakModel(peak_model)
    cfg = dataclasses.replace(CLUSTER_PRESETS["ihep"], extra=names)
    s = cluster_sample(request["files"], model, cfg, schema=schema, max_waveforms=max_waveforms)
    counts = np.array([t.size for t in s.peak_times], dtype=np.int64)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    times = np.concatenate(s.peak_times).astype(np.float64) if s.peak_times else np.zeros(0)
    info = dict(s.info, request=request)
    return _write_npz(path, {
        "times": times,
        "offsets": offsets,
        "n_true": np.asarray(s.n_true, dtype=np.float32),
        "sampling_ns": np.float64(s.sampling_ns),
        "info": np.array(json.dumps(info, sort_keys=True, default=float)),
        **{f"extra_{k}": np.asarray(v, dtype=np.float32) for k, v in (s.extra or {}).items()},
    })


def prepare_peak_clusters(
    files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    context: int,
    channels: Sequence[str],
    peak_model: str | os.PathLike[str] | None = None,
    schema: str = "native",
    max_waveforms: int | None = None,
) -> Path:
    """Write (or reuse) the per-peak step-2 sample: every step-1 candidate with its context and target.

    Parameters
    ----------
    files : path or sequence of paths
        Simulated ntuples with MC truth.
    path : path-like
        Destination ``.npz``; an existing file made from the same request is kept.
    context : int
        Neighbours on each side; a study prepares the largest context of its space and each
        trial keeps the slots it needs (:func:`ccreco.hpo.trial.perpeak_layout`).
    channels : sequence of str
        Channels of each slot (:func:`ccreco.models.encoding.context_channels`): every
        waveform-level channel that a trial of the study may use.
    peak_model : path-like, optional
        Step-1 ONNX model selecting and scoring the candidates; default the shipped
        :data:`ccreco.models.shipped.DEFAULT_PEAK_MODEL`.
    schema : str
        Ntuple schema preset or mapping file.
    max_waveforms : int, optional
        Read at most this many waveforms.

    Returns
    -------
    pathlib.Path
        The ``.npz`` of :func:`ccreco.models.dataset.peak_cluster_sample`: ``x`` (float32,
        ``(m, 2 * context + 1, len(channels))``), ``y`` (float32 ``(m,)``), ``offsets`` (int64,
        ``n + 1``), ``n_true`` (float32), ``sampling_ns``, ``window_ns`` and ``info`` (JSON text,
        with ``context`` and ``channels``).

    Raises
    ------
    ConfigError
        The existing file was made from other files or options (another context or channels
        included: a study keeps its sample).
    """
    from ccreco.models.dataset import peak_cluster_sample
    from ccreco.models.encoding import waveform_channels_of
    from ccreco.models.inference import PeakModel

    chans = tuple(str(c) for c in channels)
    try:
        waveform_channels_of(chans)
    except ValueError as exc:
        raise ConfigError(f"per-peak sample channels {list(chans)}: {exc}") from None
    if isinstance(context, bool) or int(context) != context or context < 0:
        raise ConfigError(f"per-peak sample context must be an integer >= 0; got {context!r}")
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, model_file

    peak_model = model_file(peak_model, DEFAULT_PEAK_MODEL)
    path = Path(path)
    request: dict[str, Any] = {
        "kind": "perpeak",
        "files": _files(files),
        "schema": schema,
        "max_waveforms": max_waveforms,
        "peak_model": os.path.abspath(os.fspath(peak_model)),
        "context": int(context),
        "channels": list(chans),
    }
    if _reuse(path, request):
        return path
    s = peak_cluster_sample(request["files"], PeakModel(peak_model), int(context), schema=schema,
                            max_waveforms=max_waveforms, channels=chans)
    info = dict(s["info"], request=request, context=int(context), channels=list(chans))
    return _write_npz(path, {
        "x": np.asarray(s["x"], dtype=np.float32),
        "y": np.asarray(s["y"], dtype=np.float32),
        "offsets": np.asarray(s["offsets"], dtype=np.int64),
        "n_true": np.asarray(s["n_true"], dtype=np.float32),
        "sampling_ns": np.float64(s["sampling_ns"]),
        "window_ns": np.float64(s["window_ns"]),
        "info": np.array(json.dumps(info, sort_keys=True, default=float)),
    })


__all__ = ["prepare_clusters", "prepare_peak_clusters", "prepare_peaks"]
