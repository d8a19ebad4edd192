"""ONNX Runtime inference of ccreco models (imports onnxruntime only, never torch).

:class:`PeakModel` (step 1) and :class:`ClusterModel` (step 2) open the file once to validate
it (kind, metadata, input shapes) and keep the metadata as plain Python values. The
``onnxruntime.InferenceSession`` is created by :class:`~ccreco.models.onnx_wrapper.onnx_wrapper`:
it is not picklable, so it is dropped when the object is pickled and recreated lazily on first
use, e.g. on each dask worker, with the execution provider chosen there (CUDA when
``onnxruntime-gpu`` offers it, else CPU). Dask sets ``OMP_NUM_THREADS=1``, which onnxruntime
ignores: the thread count is the explicit ``intra_op_num_threads``, and idle threads do not spin.

Before running, both classes compare the model's metadata with what the caller says about the
data (window length, sampling period, acquisition window) and raise
:class:`~ccreco.errors.ModelError` on any mismatch.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import onnxruntime as ort

from ccreco.errors import ModelError
from ccreco.models import metadata as md
from ccreco.models.config import Encoding
from ccreco.models.encoding import encode_flat, encode_peak_times
from ccreco.models.onnx_wrapper import onnx_wrapper, session_options

#: Default inference batch (ENVIRONMENT.md: moderate batches beat one huge batch; see
#: docs/MODELS.md for the benchmark behind the figure).
DEFAULT_BATCH: int = 256

log = logging.getLogger(__name__)


def _open_session(path: Path, **options: Any) -> ort.InferenceSession:
    """A session through :class:`~ccreco.models.onnx_wrapper.onnx_wrapper` (CPU, for metadata)."""
    return onnx_wrapper(path, providers="cpu", **options).session


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ccreco metadata of an ONNX file, decoded (empty for a foreign ONNX model).

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file.

    Returns
    -------
    dict
        Unprefixed keys to values (see :mod:`ccreco.models.metadata`).

    Raises
    ------
    ModelError
        Missing or unreadable file, or metadata that is not valid JSON.
    """
    path = Path(path)
    session = _open_session(path, optimization="disable")
    try:
        return md.decode(session.get_modelmeta().custom_metadata_map)
    except ValueError as exc:
        raise ModelError(f"unreadable ccreco metadata: {exc}", file=str(path)) from exc


class _SessionKw(TypedDict):
    """Session options an :class:`OnnxModel` passes to :func:`onnx_wrapper` (and shows in its repr)."""

    intra_op_num_threads: int
    optimization: str
    sequential: bool
    spinning: bool


class OnnxModel:
    """Common part of :class:`PeakModel` and :class:`ClusterModel`.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file written by :func:`ccreco.models.export.export_onnx`.
    intra_op_num_threads : int
        onnxruntime intra-op threads.
    batch_size : int
        Examples per ``session.run`` call.
    optimization : str
        Graph optimization level (see :func:`session_options`).
    sequential : bool
        Sequential execution mode.
    spinning : bool
        Allow idle onnxruntime threads to spin (off: no CPU burnt between calls on shared cores).
    providers : "auto", "cpu", "cuda" or sequence of str
        Execution providers (:func:`~ccreco.models.onnx_wrapper.select_providers`), resolved
        where the session is created.

    Raises
    ------
    ModelError
        Missing, unreadable or non-ccreco file, a model of the other kind, or input shapes that
        disagree with the metadata; the message names the file.
    """

    #: The metadata ``kind`` this class serves.
    kind: str = ""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        intra_op_num_threads: int = 1,
        batch_size: int = DEFAULT_BATCH,
        optimization: str = "all",
        sequential: bool = True,
        spinning: bool = False,
        providers: str | Sequence[str] = "auto",
    ) -> None:
        self.path = Path(path)
        if batch_size < 1:
            raise ModelError(f"batch_size must be >= 1; got {batch_size}", file=str(self.path))
        self.batch_size = int(batch_size)
        self._options = _SessionKw(
            intra_op_num_threads=int(intra_op_num_threads),
            optimization=optimization,
            sequential=sequential,
            spinning=spinning,
        )
        self.wrapper = onnx_wrapper(self.path, providers=providers, batch_size=self.batch_size, **self._options)
        session = self.session  # validates the file now, in the process that names it
        try:
            self.metadata: dict[str, Any] = md.decode(session.get_modelmeta().custom_metadata_map)
        except ValueError as exc:
            raise ModelError(f"unreadable ccreco metadata: {exc}", file=str(self.path)) from exc
        missing = md.missing_keys(self.metadata)
        if missing == ["kind"] and "kind" not in self.metadata:
            raise ModelError("not a ccreco model (no ccreco.kind in its ONNX metadata)", file=str(self.path))
        if self.metadata.get("kind") != self.kind:
            raise ModelError(
                f"a {self.metadata.get('kind')!r} model where a {self.kind!r} model is needed",
                file=str(self.path),
            )
        if missing:
            raise ModelError(f"ccreco metadata lacks {missing}", file=str(self.path))
        invalid = md.invalid_values(self.metadata)  # each value validated like the matching --set
        if invalid:
            raise ModelError(f"invalid ccreco metadata: {'; '.join(invalid)}", file=str(self.path))
        self.input_names = [i.name for i in session.get_inputs()]
        self.input_shapes = [list(i.shape) for i in session.get_inputs()]
        if self.input_names != list(self.metadata["inputs"]):
            raise ModelError(
                f"graph inputs {self.input_names} but metadata says {self.metadata['inputs']}",
                file=str(self.path),
            )
        self._check_shapes()

    @property
    def session(self) -> ort.InferenceSession:
        """The onnxruntime session, created on first access (also after unpickling: the
        :class:`~ccreco.models.onnx_wrapper.onnx_wrapper` holding it drops it when pickled)."""
        return self.wrapper.session

    @property
    def _session(self) -> ort.InferenceSession | None:
        """The session if this process has created it yet, else None."""
        return self.wrapper._session

    @property
    def sampling_ns(self) -> float:
        """Sampling period the model was trained at (ns)."""
        return float(self.metadata["sampling_ns"])

    @property
    def metrics(self) -> dict[str, Any]:
        """Validation metrics measured at training time."""
        return dict(self.metadata["metrics"])

    def _expect_shape(self, index: int, expected: list[int]) -> None:
        shape = self.input_shapes[index]
        fixed = [d if isinstance(d, int) else None for d in shape[1:]]
        if len(shape) != len(expected) + 1 or fixed != expected:
            raise ModelError(
                f"input {self.input_names[index]!r} has shape {shape}; the metadata implies "
                f"[batch, {', '.join(map(str, expected))}]",
                file=str(self.path),
            )

    def _check_shapes(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check_sampling(self, sampling_ns: float) -> None:
        if not math.isclose(float(sampling_ns), self.sampling_ns, rel_tol=1e-6):
            raise ModelError(
                f"model trained at sampling period {self.sampling_ns} ns, data sampled every "
                f"{sampling_ns} ns",
                file=str(self.path),
            )

    def _run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        out = self.wrapper.numpy_call(**inputs)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, batch_size={self.batch_size}, {self._options})"

    def step1_differences(self, candidates: Any, peak_model_path: str | os.PathLike[str] | None = None) -> list[str]:
        """How the step-1 inputs given to this step-2 model differ from those it was trained on.

        A step-2 model's training sample recorded the step-1 model file and candidate selection
        (``peak_model`` metadata; a CNN's under ``train_sample``). Another selection (a region of
        interest or first-stage pre-selection the training did not have, or lacked where it had
        one; another rule or threshold) or another step-1 model changes its inputs, which the
        per-waveform training-range check does not see.

        Parameters
        ----------
        candidates : CandidateConfig
            The candidate selection in use.
        peak_model_path : path-like, optional
            The step-1 model in use (compared by file name).

        Returns
        -------
        list of str
            One sentence per difference; empty when the inputs are as trained or the model
            records no step-1 provenance.
        """
        import dataclasses

        trained = self.metadata.get("peak_model") or (self.metadata.get("train_sample") or {}).get("peak_model") or {}
        want = trained.get("candidates") or {}
        notes: list[str] = []
        if peak_model_path is not None and trained.get("file") and \
                os.path.basename(str(peak_model_path)) != os.path.basename(str(trained["file"])):
            notes.append(f"step-1 model {os.path.basename(str(peak_model_path))} (trained with {trained['file']})")
        if dataclasses.is_dataclass(candidates) and not isinstance(candidates, type):
            have = dataclasses.asdict(candidates)
        else:
            have = dict(candidates)

        def same(a: Any, b: Any) -> bool:
            if a is None or b is None:
                return a is None and b is None
            if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
                if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)) or len(a) != len(b):
                    return False
                return all(same(x, y) for x, y in zip(a, b, strict=True))
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                return math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=1e-9)
            return bool(a == b)

        if want:  # selections in use that the training sample did not have at all
            if have.get("roi_threshold") is not None and want.get("roi_threshold") is None:
                notes.append("region of interest on (trained without it)")
            if have.get("preselect_weights") is not None and want.get("preselect_weights") is None:
                notes.append("first-stage pre-selection on (trained without it)")
        for key in sorted(want):
            if key not in have or same(have[key], want[key]):
                continue
            if key == "preselect_weights":
                notes.append("first-stage pre-selection off (trained with it)" if have[key] is None
                             else "first-stage pre-selection weights differ from training")
            elif key == "roi_threshold" and have[key] is None:
                notes.append("region of interest off (trained with it)")
            elif key == "preselect_threshold" and have.get("preselect_weights") is None:
                continue  # reported with the weights
            else:
                notes.append(f"candidate {key} = {have[key]!r} (trained with {want[key]!r})")
        return notes


class PeakModel(OnnxModel):
    """Step-1 classifier of candidate windows: P(signal) per window.

    See :class:`OnnxModel` for the parameters.

    Examples
    --------
    >>> model = PeakModel("lstm.onnx", intra_op_num_threads=1)  # doctest: +SKIP
    >>> p = model.predict(windows, sampling_ns=chunk.sampling_ns)  # doctest: +SKIP
    """

    kind = "peaks"

    def _check_shapes(self) -> None:
        self._expect_shape(0, [self.window_length, 1])

    @property
    def window_left(self) -> int:
        """Samples before the candidate in each window."""
        return int(self.metadata["window_left"])

    @property
    def window_right(self) -> int:
        """Samples after the candidate in each window."""
        return int(self.metadata["window_right"])

    @property
    def window_length(self) -> int:
        """Samples per window (``window_left + window_right + 1``)."""
        return self.window_left + self.window_right + 1

    @property
    def threshold(self) -> float:
        """Decision threshold stored at training time."""
        return float(self.metadata["threshold"])

    @property
    def candidates(self) -> dict[str, Any] | None:
        """``CandidateConfig`` fields the training windows were made with (None if unknown)."""
        cand = self.metadata.get("candidates")
        return dict(cand) if cand is not None else None

    def predict(self, windows: np.ndarray, *, sampling_ns: float) -> np.ndarray:
        """Signal probability of each candidate window.

        Parameters
        ----------
        windows : numpy.ndarray
            Shape ``(n, window_length)`` or ``(n, window_length, 1)``, raw samples in mV (the
            window-mean subtraction and scaling are inside the model).
        sampling_ns : float
            Sampling period of the data the windows come from.

        Returns
        -------
        numpy.ndarray
            float32 probabilities, shape ``(n,)``.

        Raises
        ------
        ModelError
            Window length or sampling period different from the model's.
        """
        self._check_sampling(sampling_ns)
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3 or x.shape[1:] != (self.window_length, 1):
            raise ModelError(
                f"windows of shape {tuple(np.shape(windows))}; the model expects "
                f"(n, {self.window_length}) or (n, {self.window_length}, 1) "
                f"(window_left={self.window_left}, window_right={self.window_right})",
                file=str(self.path),
            )
        return self._run({self.input_names[0]: np.ascontiguousarray(x)})

    def predict_scored(self, windows: np.ndarray, scored: np.ndarray | None, *, sampling_ns: float) -> np.ndarray:
        """:meth:`predict` on the windows a first-stage pre-selection passed; 0 for the others.

        Parameters
        ----------
        windows : numpy.ndarray
            As for :meth:`predict`.
        scored : numpy.ndarray or None
            bool ``(n,)`` (:func:`ccreco.models.dataset.scored_windows`); ``None``: all.
        sampling_ns : float
            Sampling period of the data.

        Returns
        -------
        numpy.ndarray
            float32 ``(n,)``.
        """
        if scored is None or bool(np.all(scored)):
            return self.predict(windows, sampling_ns=sampling_ns) if len(windows) else np.zeros(0, np.float32)
        mask = np.asarray(scored, dtype=bool)
        if mask.shape != (len(windows),):
            raise ValueError(f"scored mask of shape {mask.shape} for {len(windows)} windows")
        out = np.zeros(len(windows), dtype=np.float32)
        if mask.any():
            out[mask] = self.predict(np.asarray(windows)[mask], sampling_ns=sampling_ns)
        return out

    def classify(self, windows: np.ndarray, *, sampling_ns: float, threshold: float | None = None) -> np.ndarray:
        """Boolean signal decision per window (probability >= threshold).

        Parameters
        ----------
        windows : numpy.ndarray
            As for :meth:`predict`.
        sampling_ns : float
            Sampling period of the data.
        threshold : float, optional
            Overrides the model's stored threshold.

        Returns
        -------
        numpy.ndarray
            bool, shape ``(n,)``.
        """
        cut = self.threshold if threshold is None else float(threshold)
        return self.predict(windows, sampling_ns=sampling_ns) >= cut


class ClusterModel(OnnxModel):
    """Step-2 CNN: number of primary clusters per waveform from detected peak times.

    See :class:`OnnxModel` for the parameters. The encoding (kind, bins, window) is read from
    the model's metadata.
    """

    kind = "clusters"

    def _check_shapes(self) -> None:
        self._expect_shape(0, [self.encoding.bins, 1])
        if self.extra_inputs:
            if len(self.input_names) != 2:
                raise ModelError(f"metadata names extra inputs {self.extra_inputs} but the graph has none",
                                 file=str(self.path))
            self._expect_shape(1, [len(self.extra_inputs)])

    @property
    def encoding(self) -> Encoding:
        """The input encoding stored in the model."""
        enc = self.metadata["encoding"]
        return Encoding(kind=enc["kind"], bins=int(enc["bins"]), window_ns=float(enc["window_ns"]),
                        t0_ns=float(enc.get("t0_ns", 0.0)))

    @property
    def extra_inputs(self) -> list[str]:
        """Names of the extra scalar inputs (empty for the plain CNN)."""
        return list(self.metadata["extra_inputs"])

    def _extra_array(self, extra: Mapping[str, Any] | np.ndarray | None, n: int) -> np.ndarray | None:
        names = self.extra_inputs
        if not names:
            if extra is not None:
                raise ModelError("this model takes no extra inputs", file=str(self.path))
            return None
        if extra is None:
            raise ModelError(f"this model needs extra inputs {names}", file=str(self.path))
        if isinstance(extra, Mapping):
            absent = [k for k in names if k not in extra]
            if absent:
                raise ModelError(f"extra inputs {absent} missing (model needs {names})", file=str(self.path))
            arr = np.stack([np.asarray(extra[k], dtype=np.float32).reshape(-1) for k in names], axis=1)
        else:
            arr = np.asarray(extra, dtype=np.float32).reshape(n, -1)
        if arr.shape != (n, len(names)):
            raise ModelError(f"extra inputs of shape {arr.shape}, expected ({n}, {len(names)})", file=str(self.path))
        return np.ascontiguousarray(arr)

    def predict_encoded(self, encoded: np.ndarray, extra: Mapping[str, Any] | np.ndarray | None = None) -> np.ndarray:
        """Predicted cluster counts for already encoded inputs.

        Parameters
        ----------
        encoded : numpy.ndarray
            Shape ``(n, bins)`` or ``(n, bins, 1)`` from
            :func:`~ccreco.models.encoding.encode_peak_times` with this model's encoding.
        extra : mapping or numpy.ndarray, optional
            Extra scalar inputs (by name, or an ``(n, n_extra)`` array in metadata order).

        Returns
        -------
        numpy.ndarray
            float32 predicted number of clusters, shape ``(n,)``.
        """
        x = np.asarray(encoded, dtype=np.float32)
        if x.ndim == 2:
            x = x[:, :, None]
        bins = self.encoding.bins
        if x.ndim != 3 or x.shape[1:] != (bins, 1):
            raise ModelError(f"encoded input of shape {tuple(np.shape(encoded))}; the model expects (n, {bins}, 1)",
                             file=str(self.path))
        feed = {self.input_names[0]: np.ascontiguousarray(x)}
        ex = self._extra_array(extra, x.shape[0])
        if ex is not None:
            feed[self.input_names[1]] = ex
        return self._run(feed)

    def predict(
        self,
        peak_times: Any,
        *,
        sampling_ns: float,
        window_ns: float,
        extra: Mapping[str, Any] | np.ndarray | None = None,
        offsets: np.ndarray | None = None,
        calibrate: bool = False,
    ) -> np.ndarray:
        """Predicted number of primary clusters per waveform.

        Parameters
        ----------
        peak_times : numpy.ndarray, awkward.Array or sequence of array-like
            Detected peak times (ns from the waveform start): flat over waveforms when
            ``offsets`` is given (the reconstruction chain's form), else one list per waveform.
        sampling_ns : float
            Sampling period of the data.
        window_ns : float
            Acquisition window of the data (``n_samples * sampling_ns``).
        extra : mapping or numpy.ndarray, optional
            Extra scalar inputs when the model has them.
        offsets : numpy.ndarray, optional
            int64 ``(n_waveforms + 1,)``: waveform ``w`` owns ``peak_times[offsets[w]:offsets[w + 1]]``.
        calibrate : bool
            Invert the calibration line stored at training time (``calibration`` metadata:
            ``N = (output - intercept) / slope``), when the model has one (opt-in: the line is
            that of the training mix).

        Returns
        -------
        numpy.ndarray
            float32, shape ``(n_waveforms,)``.

        Raises
        ------
        ModelError
            Sampling period or acquisition window different from the model's.
        """
        self._check_sampling(sampling_ns)
        enc = self.encoding
        if not math.isclose(float(window_ns), enc.window_ns, rel_tol=1e-6):
            raise ModelError(
                f"model encodes a {enc.window_ns} ns window, data cover {window_ns} ns", file=str(self.path)
            )
        if offsets is None:
            n = self.predict_encoded(encode_peak_times(peak_times, enc), extra)
        else:
            off = np.asarray(offsets, dtype=np.int64).reshape(-1)
            flat = np.asarray(peak_times, dtype=np.float64).reshape(-1)
            if off.size < 1 or off[0] != 0 or off[-1] != flat.size or np.any(np.diff(off) < 0):
                raise ValueError(f"offsets must rise from 0 to len(peak_times)={flat.size}")
            n = self.predict_encoded(encode_flat(flat, np.diff(off), enc), extra)
        cal = self.metadata.get("calibration")
        if calibrate and cal is not None:
            n = ((n - float(cal["intercept"])) / float(cal["slope"])).astype(np.float32)
        return n


class PeakClusterModel(OnnxModel):
    """Step-2 per-peak model: expected primary clusters opened by each step-1 candidate.

    See :class:`OnnxModel` for the parameters. The context size comes from the metadata; the
    count of a waveform is the sum over its candidates, on request mapped through the
    calibration line stored at training time (``calibration``: ``N = (sum - intercept) / slope``).

    Examples
    --------
    >>> model = PeakClusterModel("perpeak.onnx")  # doctest: +SKIP
    >>> n = model.count(cw, scores, sampling_ns=chunk.sampling_ns)  # doctest: +SKIP
    """

    kind = "peak_clusters"

    def _check_shapes(self) -> None:
        self._expect_shape(0, [2 * self.context + 1, len(self.metadata["channels"])])

    @property
    def context(self) -> int:
        """Neighbours on each side of a candidate."""
        return int(self.metadata["context"])

    @property
    def extra_inputs(self) -> tuple[str, ...]:
        """Per-waveform inputs the model needs besides the waveform (``("angle_deg",)`` for a model
        with the ``sec_angle`` geometry channel; empty otherwise)."""
        from ccreco.models.encoding import geometry_inputs

        return geometry_inputs(self.metadata["channels"])

    @property
    def calibration(self) -> dict[str, float] | None:
        """``{"slope": ..., "intercept": ...}`` of the stored calibration line, if any."""
        cal = self.metadata.get("calibration")
        return None if cal is None else {"slope": float(cal["slope"]), "intercept": float(cal["intercept"])}

    @property
    def input_ranges(self) -> dict[str, tuple[float, float]]:
        """Per-waveform summaries and the range the training waveforms spanned (``input_ranges``
        metadata: quantiles :data:`~ccreco.models.train_clusters.INPUT_RANGE_QUANTILES`); empty
        for a model trained without them."""
        ranges = self.metadata.get("input_ranges") or {}
        return {k: (float(v[0]), float(v[1])) for k, v in ranges.items() if k != "quantiles"}

    def outside_training_range(self, cw: Any, scores: np.ndarray,
                               extra: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Which waveforms lie outside the range of the training waveforms, per summary.

        A waveform whose number of candidates, sum of step-1 scores, confident candidates, their
        span or close-gap fraction (:func:`~ccreco.models.encoding.waveform_quantities`) is
        outside what the training waveforms spanned is counted by extrapolation: its count is
        less trustworthy than the model card says.

        Parameters
        ----------
        cw : CandidateWindows
            The candidates (as for :meth:`count`).
        scores : numpy.ndarray
            Step-1 probability of each candidate.
        extra : mapping of str to numpy.ndarray, optional
            The :attr:`extra_inputs` per waveform; their range is checked too (``|angle_deg|``)
            when the model recorded it.

        Returns
        -------
        dict of str to numpy.ndarray
            Boolean ``(n_waveforms,)`` per summary in :attr:`input_ranges` (empty without them).
        """
        from ccreco.models.encoding import peak_features

        return self._outside(cw, peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left), extra)

    def _outside(self, cw: Any, feats: np.ndarray,
                 extra: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        from ccreco.models.encoding import waveform_quantities

        ranges = self.input_ranges
        if not ranges:
            return {}
        values = dict(waveform_quantities(feats, cw.offsets))
        n = len(cw.offsets) - 1
        for name in self.extra_inputs:
            if extra is not None and name in extra:
                values[name] = np.abs(np.broadcast_to(np.asarray(extra[name], dtype=np.float32), (n,)))
        return {name: (values[name] < lo) | (values[name] > hi) for name, (lo, hi) in ranges.items() if name in values}

    def count_and_check(
        self, cw: Any, scores: np.ndarray, *, sampling_ns: float, extra: Mapping[str, np.ndarray] | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`count` and :meth:`outside_training_range` from one computation of the inputs
        (what the reconstruction needs per block).

        Parameters
        ----------
        cw : CandidateWindows
            The candidates.
        scores : numpy.ndarray
            Step-1 probability of each candidate.
        sampling_ns : float
            Sampling period of the data.
        extra : mapping of str to numpy.ndarray, optional
            The :attr:`extra_inputs` per waveform (as for :meth:`count`).

        Returns
        -------
        (numpy.ndarray, dict of str to numpy.ndarray)
            The raw counts (as :meth:`count` without calibration) and the flags.
        """
        from ccreco.models.encoding import peak_features

        self._check_sampling(sampling_ns)
        feats = peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left)
        return self._sum(cw, feats, calibrate=False, extra=extra), self._outside(cw, feats, extra)

    def predict_context(self, context: np.ndarray) -> np.ndarray:
        """Expected clusters opened by each candidate, from :func:`~ccreco.models.encoding.peak_context`.

        Parameters
        ----------
        context : numpy.ndarray
            ``(m, 2 * context + 1, channels)``.

        Returns
        -------
        numpy.ndarray
            float32 ``(m,)``.
        """
        x = np.asarray(context, dtype=np.float32)
        want = (2 * self.context + 1, len(self.metadata["channels"]))
        if x.ndim != 3 or x.shape[1:] != want:
            raise ModelError(f"context input of shape {x.shape}; the model expects (m, {want[0]}, {want[1]})",
                             file=str(self.path))
        return self._run({self.input_names[0]: np.ascontiguousarray(x)})

    def count(
        self,
        cw: Any,
        scores: np.ndarray,
        *,
        sampling_ns: float,
        calibrate: bool = False,
        extra: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Number of primary clusters per waveform from the step-1 candidates and their scores.

        Parameters
        ----------
        cw : CandidateWindows
            The candidates of the waveforms (selected as the step-1 model's metadata says).
        scores : numpy.ndarray
            Step-1 probability of each candidate.
        sampling_ns : float
            Sampling period of the data.
        calibrate : bool
            Invert the stored calibration line (when the model has one). Off by default: the
            line is that of the training mix, and inverting it biased fixed-geometry samples
            by up to 9 % (docs/MODELS.md, "Step 2 side by side").
        extra : mapping of str to numpy.ndarray, optional
            The :attr:`extra_inputs` per waveform (``angle_deg``: the track angle to the normal of
            the wire in degrees, ``(n_waveforms,)`` or a scalar); required when the model has any.

        Returns
        -------
        numpy.ndarray
            float64 ``(n_waveforms,)``, real-valued.

        Raises
        ------
        ModelError
            An extra input the model needs is missing or invalid.
        """
        from ccreco.models.encoding import peak_features

        self._check_sampling(sampling_ns)
        feats = peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left)
        return self._sum(cw, feats, calibrate, extra=extra)

    def _geometry(self, n: int, extra: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
        from ccreco.models.encoding import geometry_values

        needed = self.extra_inputs
        if not needed:
            return None
        missing = [k for k in needed if extra is None or k not in extra]
        if missing:
            raise ModelError(f"the model needs {', '.join(missing)} per waveform (a truth branch, or a value: "
                             f"{', '.join(f'{k}=VALUE' for k in missing)} in evaluate, --set {missing[0]}=VALUE in "
                             "reco)", file=str(self.path))
        assert extra is not None
        try:
            return geometry_values({k: extra[k] for k in needed}, n)
        except ValueError as exc:
            raise ModelError(str(exc), file=str(self.path)) from exc

    def _sum(self, cw: Any, feats: np.ndarray, calibrate: bool,
             extra: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        from ccreco.models.encoding import peak_context

        channels = tuple(self.metadata["channels"])
        off = np.asarray(cw.offsets, dtype=np.int64)
        geometry = self._geometry(off.size - 1, extra)
        lam = (self.predict_context(peak_context(feats, cw.offsets, self.context, channels, geometry)) if len(feats)
               else np.zeros(0, np.float32))
        csum = np.concatenate([[0.0], np.cumsum(lam, dtype=np.float64)])
        n = csum[off[1:]] - csum[off[:-1]]
        cal = self.calibration
        if calibrate and cal is not None:
            n = (n - cal["intercept"]) / cal["slope"]
        # no candidate at all (flat or empty waveform): no clusters, whatever the calibration says
        return np.where(np.diff(off) > 0, n, 0.0)


class RunLevelModel(OnnxModel):
    """The run-level correction: the level (count over true) of a run from its statistics.

    See :class:`OnnxModel` for the parameters and :mod:`ccreco.models.runlevel` for the
    statistics. The model belongs to one chain (the step-1 and per-peak step-2 files it was
    fitted on, compared by sha256, and their candidate selection) and knows the range of every
    statistic over its training runs; a run outside it is not corrected by the reconstruction.

    Examples
    --------
    >>> model = RunLevelModel("run_level.onnx")  # doctest: +SKIP
    >>> level, why = model.run_level(stats, n_waveforms=2000)  # doctest: +SKIP
    """

    kind = "run_level"

    def _check_shapes(self) -> None:
        self._expect_shape(0, [len(self.statistics)])

    @property
    def statistics(self) -> tuple[str, ...]:
        """Names of the input statistics, in column order."""
        return tuple(str(s) for s in self.metadata["statistics"])

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """Smallest and largest value of each statistic over the training runs."""
        return {k: (float(v[0]), float(v[1])) for k, v in self.metadata["ranges"].items()}

    @property
    def min_waveforms(self) -> int:
        """Fewest waveforms a run's statistics may come from."""
        return int(self.metadata["min_waveforms"])

    def outside(self, statistics: np.ndarray) -> list[str]:
        """The statistics of one run that lie outside the training range ("name=value (lo..hi)").

        Parameters
        ----------
        statistics : numpy.ndarray
            ``(len(statistics),)`` from :func:`ccreco.models.runlevel.run_statistics`.

        Returns
        -------
        list of str
            Empty when the run is within what the training runs spanned.
        """
        values = np.asarray(statistics, dtype=np.float64).reshape(-1)
        ranges = self.ranges
        notes = []
        for name, value in zip(self.statistics, values, strict=True):
            lo, hi = ranges[name]
            if not lo <= value <= hi:
                notes.append(f"{name}={value:.4g} ({lo:.4g}..{hi:.4g})")
        return notes

    def level(self, statistics: np.ndarray) -> np.ndarray:
        """Predicted level of each run.

        Parameters
        ----------
        statistics : numpy.ndarray
            ``(runs, len(statistics))`` or one run's ``(len(statistics),)``.

        Returns
        -------
        numpy.ndarray
            float32 ``(runs,)``: the counts are divided by it.
        """
        x = np.atleast_2d(np.asarray(statistics, dtype=np.float32))
        return self._run({self.input_names[0]: x})

    def run_level(self, statistics: np.ndarray, n_waveforms: int) -> tuple[float, str]:
        """The level of one run, or 1 and the reason it is not corrected.

        Parameters
        ----------
        statistics : numpy.ndarray
            The run's ``(len(statistics),)`` statistics.
        n_waveforms : int
            Waveforms they come from.

        Returns
        -------
        (float, str)
            The level to divide the run's counts by and an empty reason; or 1.0 and why the run
            is left uncorrected (fewer than :attr:`min_waveforms` waveforms, or statistics
            outside the training range, named with their values).
        """
        if n_waveforms < self.min_waveforms:
            return 1.0, (f"{n_waveforms} waveforms, fewer than the {self.min_waveforms} a run-level correction "
                         "needs")
        outside = self.outside(statistics)
        if outside:
            return 1.0, "run statistics outside the correction's training range: " + ", ".join(outside)
        return float(self.level(statistics)[0]), ""

    def chunk_level(self, chunk: Any, cw: Any, scores: np.ndarray, counts: np.ndarray) -> float:
        """The level of one chunk taken as a run; 1, with a warning naming the chunk, where it is not corrected.

        Parameters
        ----------
        chunk : WaveformChunk
            The waveforms (their source names the warning).
        cw : CandidateWindows
            Their step-1 candidates.
        scores : numpy.ndarray
            The candidates' step-1 scores.
        counts : numpy.ndarray
            The per-peak model's raw count of each waveform.

        Returns
        -------
        float
            What the chunk's counts are divided by.
        """
        from ccreco.models.runlevel import chain_statistics

        level, why = self.run_level(chain_statistics(cw, scores, counts), len(chunk))
        if why:
            src = chunk.source
            where = "" if src is None else f" ({src.file}, entries {src.entry_start}-{src.entry_stop})"
            log.warning("run_level: a chunk%s is left uncorrected: %s", where, why)
        return float(level)

    def require_chain(self, peak_model: str | os.PathLike[str], cluster_model: Any, candidates: Any) -> None:
        """Refuse a chain this correction was not fitted on.

        Parameters
        ----------
        peak_model : path-like
            The step-1 file in use.
        cluster_model : ClusterModel or PeakClusterModel
            The step-2 model in use.
        candidates : CandidateConfig
            The candidate selection in use.

        Raises
        ------
        ModelError
            A step 2 that is not a per-peak model without geometry inputs, or any
            :meth:`chain_differences`; the message says how to fit a correction for the chain.
        """
        from ccreco.models.runlevel import require_plain_perpeak

        require_plain_perpeak(cluster_model, str(self.path))
        differences = self.chain_differences(peak_model, cluster_model.path, candidates)
        if differences:
            raise ModelError(f"the run-level correction was fitted on another chain: {'; '.join(differences)} "
                             "(fit one for this chain with ccreco train runlevel)", file=str(self.path))

    def chain_differences(self, peak_model: str | os.PathLike[str], cluster_model: str | os.PathLike[str],
                          candidates: Any) -> list[str]:
        """How the chain in use differs from the one the correction was fitted on.

        Parameters
        ----------
        peak_model, cluster_model : path-like
            The step-1 and step-2 files in use (compared by sha256).
        candidates : CandidateConfig
            The candidate selection in use.

        Returns
        -------
        list of str
            One sentence per difference; empty when the chain is the fitted one.
        """
        from ccreco._outputs import file_sha256

        notes = []
        for role, path in (("peak_model", peak_model), ("cluster_model", cluster_model)):
            want = self.metadata[role]
            if file_sha256(path) != want.get("sha256"):
                notes.append(f"{role} {Path(path).name} is not the {want.get('file')} it was fitted with")
        if not notes:  # same step-1 file: the selection options may still differ
            notes += self.step1_differences(candidates)
        return notes


def step1_hint(differences: Sequence[str], how: str = "--set") -> str:
    """The options that restore a step-2 model's training inputs, as a sentence ending a warning.

    Parameters
    ----------
    differences : sequence of str
        From :meth:`OnnxModel.step1_differences`.
    how : {"--set", "option"}
        ``ccreco reco --set roi=false``, or method options ``roi=false`` (``ccreco evaluate --set``,
        ``ccreco pid --option cnn:...``).

    Returns
    -------
    str
        ``""`` when no option restores them.
    """
    keys = [k for k, text in (("roi", "region of interest"), ("preselect", "pre-selection"))
            if any(text in d and "trained without" in d for d in differences)]
    if not keys:
        return ""
    if how == "--set":
        return f" ({' '.join(f'--set {k}=false' for k in keys)} gives the inputs it was trained on)"
    values = ", ".join(f"{k}=false" for k in keys)
    several = len(keys) > 1
    verb = "give" if several else "gives"
    return f" (method option{'s' if several else ''} {values} {verb} the inputs it was trained on)"


def load_model(path: str | os.PathLike[str], *, kinds: Sequence[str] | None = None,
               **kwargs: Any) -> PeakModel | ClusterModel | PeakClusterModel | RunLevelModel:
    """Open a ccreco ONNX model as the class matching its metadata ``kind``.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file.
    kinds : sequence of str, optional
        The kinds the caller can use (default: every kind), e.g. ``("clusters",
        "peak_clusters")`` for step 2. A file of another kind is opened as the first of them,
        whose check refuses it naming both kinds.
    **kwargs
        Passed to the class (threads, batch size, session options).

    Returns
    -------
    PeakModel, ClusterModel or PeakClusterModel
        The validated model.
    """
    classes: dict[str, type[PeakModel] | type[ClusterModel] | type[PeakClusterModel] | type[RunLevelModel]] = {
        "peaks": PeakModel, "clusters": ClusterModel, "peak_clusters": PeakClusterModel, "run_level": RunLevelModel}
    kind: Any = read_metadata(path).get("kind")  # a JSON value read from the file: not necessarily a str
    if kinds is not None:
        return classes[kind if kind in kinds else kinds[0]](path, **kwargs)
    cls = classes.get(kind)
    if cls is None:
        raise ModelError(f"not a ccreco model (ccreco.kind is {kind!r})", file=str(path))
    return cls(path, **kwargs)


__all__ = ["ClusterModel", "DEFAULT_BATCH", "OnnxModel", "PeakClusterModel", "PeakModel", "RunLevelModel", "load_model",
           "read_metadata", "session_options", "step1_hint"]
