"""The two-step reconstruction of one block of waveforms: a pure function of arrays + models.

Per waveform: peak candidates (:mod:`ccreco.kernels`), the step-1 ONNX classifier's score of
every candidate window, the detected peaks (times and amplitudes above the baseline), the
step-2 ONNX model's cluster count (a CNN on the peak times, or the per-peak model that is the
shipped default), the track length and dN/dx, and optionally the classical
DERIV + time-proximity clusterization alongside. Everything a notebook, the coffea processor
and the CLI need; nothing here knows about files or executors.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import awkward as ak
import numpy as np

from ccreco._outputs import file_sha256
from ccreco.errors import ConfigError, ModelError
from ccreco.io.chunk import WaveformChunk

if TYPE_CHECKING:
    from ccreco.models.inference import ClusterModel, PeakClusterModel, RunLevelModel

#: Where the track length of a waveform came from.
LENGTH_SOURCES: tuple[str, ...] = ("truth", "config")


@dataclass(frozen=True)
class RecoConfig:
    """What the reconstruction runs with.

    Attributes
    ----------
    peak_model : str or None
        Step-1 ONNX file or the name of a shipped model (:func:`ccreco.models.shipped.model_file`);
        ``None`` takes the shipped default (:data:`ccreco.models.shipped.DEFAULT_PEAK_MODEL`).
    cluster_model : str or None
        Step-2 ONNX file or shipped name, a CNN (kind ``clusters``) or a per-peak model (kind
        ``peak_clusters``); ``None`` takes the shipped default (:data:`ccreco.models.shipped.DEFAULT_CLUSTER_MODEL`,
        the per-peak model).
    threshold : float or None
        Step-1 working point; ``None`` uses the threshold stored in the model.
    deriv : bool
        Also run the classical DERIV peak finder + clusterization (``deriv_*`` outputs).
    deriv_preset : str
        :data:`ccreco.kernels.DERIV_PRESETS` name for that baseline.
    cell_length_cm : float
        Transverse chord of the cell crossed by the track (the square cell's side), used for
        the track length when the data carry no truth ``track_length_cm``.
    angle_deg : float
        Track angle to the plane perpendicular to the wire, for the same purpose: the track
        length is ``cell_length_cm / cos(angle_deg)`` (as the simulator defines it).
    threads : int
        onnxruntime intra-op threads per model.
    batch_size : int
        Windows per step-1 onnxruntime call (128: in the middle of the fastest range, 64-256, on
        real candidate windows in benchmarks/bench_models.py; 1024 ran at about 0.77x of it).
    cnn_batch_size : int
        Waveforms per step-2 onnxruntime call (64: the fastest there).
    roi : bool
        Use the region-of-interest pre-selection stored in the step-1 model's candidate
        selection (``False``: the bare rule, e.g. the default model's behaviour before it
        stored one; docs/MODELS.md).
    preselect : bool
        Use the first-stage pre-selection stored in the step-1 model's candidate selection
        (``preselect_weights``; ``False``: the selection without it).
    step2_level : float
        The step-2 count's level measured on a simulation tuned to the data (mean count over
        mean true count, ``ccreco evaluate clusters tuned_sim.root --method perpeak``); the
        count and dN/dx are divided by it (docs/DATA_VS_SIM.md, "An absolute dN/dx"). 1: as the
        model counts. Within [0.5, 2].
    run_level : str or None
        A run-level correction (ONNX file or shipped name, e.g. ``run_level_perpeak_random_wide``;
        :mod:`ccreco.models.runlevel`): the level of each input file is predicted from the
        statistics of its first ``run_level_waveforms`` waveforms and its count and dN/dx are
        divided by it; a file whose statistics lie outside the correction's training range is
        left uncorrected (and named). ``None``: off. Not with ``step2_level``.
    run_level_waveforms : int
        Waveforms of each file the run statistics are computed from (files with fewer are pooled).
    """

    peak_model: str | None = None
    cluster_model: str | None = None
    threshold: float | None = None
    deriv: bool = True
    deriv_preset: str = "tb2023"
    cell_length_cm: float = 0.8
    angle_deg: float = 0.0
    threads: int = 1
    batch_size: int = 128
    cnn_batch_size: int = 64
    roi: bool = True
    preselect: bool = True
    step2_level: float = 1.0
    run_level: str | None = None
    run_level_waveforms: int = 2000

    def __post_init__(self) -> None:
        from ccreco.config import coerce_fields

        coerce_fields(self)  # the same conversion for keyword arguments and ``--set`` strings
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1] or None, got {self.threshold!r}")
        if not (math.isfinite(self.cell_length_cm) and self.cell_length_cm > 0):
            raise ConfigError(f"cell_length_cm must be > 0, got {self.cell_length_cm!r}")
        if not 0.0 <= self.angle_deg < 89.0:
            raise ConfigError(f"angle_deg must be in [0, 89) degrees, got {self.angle_deg!r}")
        if not 0.5 <= self.step2_level <= 2.0:  # a level is a ratio near 1; 0 or 10 is a typo
            raise ConfigError(f"step2_level must be in [0.5, 2] (mean count over mean true count on a tuned "
                              f"simulation), got {self.step2_level!r}")
        if self.run_level is not None and self.run_level.lower() in ("", "none", "off", "false"):
            object.__setattr__(self, "run_level", None)
        if self.run_level is not None and self.step2_level != 1.0:
            raise ConfigError("give either step2_level (measured on a tuned simulation) or run_level (predicted "
                              "from each file's statistics), not both")
        from ccreco.models.runlevel import MIN_WAVEFORMS

        if self.run_level_waveforms < MIN_WAVEFORMS:
            raise ConfigError(f"run_level_waveforms must be >= {MIN_WAVEFORMS}, got {self.run_level_waveforms}")
        if min(self.threads, self.batch_size, self.cnn_batch_size) < 1:
            raise ConfigError("threads, batch_size and cnn_batch_size must be >= 1, got "
                              f"{self.threads}, {self.batch_size}, {self.cnn_batch_size}")
        from ccreco.kernels import DERIV_PRESETS

        if self.deriv_preset not in DERIV_PRESETS:
            raise ConfigError(f"deriv_preset must be one of {', '.join(DERIV_PRESETS)}; got {self.deriv_preset!r}")

    @property
    def config_track_length_cm(self) -> float:
        """Track length used without truth: ``cell_length_cm / cos(angle_deg)``."""
        from ccreco.geometry import path_length_cm

        return float(path_length_cm(np.asarray(self.cell_length_cm), self.angle_deg))

    @classmethod
    def from_strings(cls, values: dict[str, str], base: RecoConfig | None = None) -> RecoConfig:
        """Build from ``--set key=value`` strings.

        Parameters
        ----------
        values : dict of str to str
            Field names to values as text, converted by the field types (:mod:`ccreco.config`,
            the same rules as keyword arguments; ``none`` for ``None``).
        base : RecoConfig, optional
            Starting point (default ``RecoConfig()``).

        Returns
        -------
        RecoConfig
            The validated config.
        """
        from ccreco.config import replace_fields

        return replace_fields(cls() if base is None else base, values, what="reconstruction option")


@dataclass
class RecoResult:
    """Per-waveform reconstruction of one block (flat jagged arrays + offsets).

    Attributes
    ----------
    run, event : numpy.ndarray
        int64 ``(n,)``.
    channel : numpy.ndarray
        int32 ``(n,)``.
    baseline_rms : numpy.ndarray
        float32 ``(n,)``, noise RMS in mV of the pre-signal region.
    n_candidates : numpy.ndarray
        int64 ``(n,)``, candidate windows (step 1 scores those its pre-selection passes).
    score : numpy.ndarray
        float32 ``(sum n_candidates,)``, step-1 probability of every candidate.
    n_peaks : numpy.ndarray
        int64 ``(n,)``, candidates at or above the threshold.
    peak_time_ns, peak_amplitude_mv : numpy.ndarray
        float32, flat over the detected peaks: time from the window start and height above
        the baseline at the peak sample.
    peak_offsets : numpy.ndarray
        int64 ``(n + 1,)``: waveform ``w`` owns peaks ``peak_offsets[w]:peak_offsets[w + 1]``.
    n_clusters : numpy.ndarray
        float32 ``(n,)``, the step-2 (ML) model's cluster count, whichever model ran.
    n_clusters_int : numpy.ndarray
        int64 ``(n,)``, the step-2 count rounded (negative outputs clipped to 0).
    track_length_cm : numpy.ndarray
        float32 ``(n,)``.
    dndx : numpy.ndarray
        float32 ``(n,)``, ``n_clusters / track_length_cm`` in clusters/cm.
    length_source : str
        ``"truth"`` or ``"config"``.
    deriv_n_peaks, deriv_n_clusters : numpy.ndarray or None
        int64 ``(n,)``, the classical chain (when enabled).
    n_clusters_true, n_electrons_true : numpy.ndarray or None
        int64 ``(n,)`` MC truth (when the data have it).
    score_label : numpy.ndarray or None
        int8 ``(sum n_candidates,)``: 1 when the candidate is matched to a true peak, 0 when not
        (:func:`ccreco.kernels.candidate_labels`); only with peak-level truth. For the plots
        (the score split by truth); not written to ``reco.root``.
    scored : numpy.ndarray or None
        bool ``(sum n_candidates,)``: the windows the step-1 model scored (a first-stage
        pre-selection leaves the others at score 0); ``None``: all of them.
    outside_training : dict of str to numpy.ndarray
        Per summary of the step-1 candidates (``n_candidates``, ``wf_span_ns``, ...), boolean
        ``(n,)``: the waveform lies outside the range of the per-peak model's training
        waveforms (:meth:`ccreco.models.inference.PeakClusterModel.outside_training_range`);
        empty for a CNN or a model without ``input_ranges``. Counted in ``summary.json``.
    step2_level : float or numpy.ndarray
        What ``n_clusters`` and ``dndx`` were divided by: the config's ``step2_level``, the level
        of the block's file (batch runs with ``run_level``), or, when the reconstructor was
        called on a chunk without one and has a run-level correction, the chunk's own level (1
        where it could not be corrected).
    """

    run: np.ndarray
    event: np.ndarray
    channel: np.ndarray
    baseline_rms: np.ndarray
    n_candidates: np.ndarray
    score: np.ndarray
    n_peaks: np.ndarray
    peak_time_ns: np.ndarray
    peak_amplitude_mv: np.ndarray
    peak_offsets: np.ndarray
    n_clusters: np.ndarray
    n_clusters_int: np.ndarray
    track_length_cm: np.ndarray
    dndx: np.ndarray
    length_source: str
    deriv_n_peaks: np.ndarray | None = None
    deriv_n_clusters: np.ndarray | None = None
    n_clusters_true: np.ndarray | None = None
    n_electrons_true: np.ndarray | None = None
    score_label: np.ndarray | None = None
    scored: np.ndarray | None = None
    outside_training: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    step2_level: float | np.ndarray = 1.0

    def __len__(self) -> int:
        return int(self.run.size)

    @property
    def has_truth(self) -> bool:
        """Whether truth counts are present."""
        return self.n_clusters_true is not None

    def peak_times(self) -> ak.Array:
        """Detected peak times as one list per waveform."""
        return ak.unflatten(self.peak_time_ns, np.diff(self.peak_offsets))

    def to_arrays(self) -> dict[str, Any]:
        """Branches of the per-waveform ``reco`` TTree (one entry per waveform).

        Returns
        -------
        dict of str to array
            Scalars per waveform plus the jagged ``peak_time_ns`` and ``peak_amplitude_mv``
            (``reco.root`` uses ``n_peaks`` as their counter).
        """
        out: dict[str, Any] = {
            "run": self.run, "event": self.event, "channel": self.channel,
            "baseline_rms": self.baseline_rms, "n_candidates": self.n_candidates,
            "n_peaks": self.n_peaks, "n_clusters": self.n_clusters,
            "n_clusters_int": self.n_clusters_int, "track_length_cm": self.track_length_cm,
            "dndx": self.dndx,
        }
        for name in ("deriv_n_peaks", "deriv_n_clusters", "n_clusters_true", "n_electrons_true"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        counts = np.diff(self.peak_offsets)
        out["peak"] = ak.zip({
            "time_ns": ak.unflatten(self.peak_time_ns, counts),
            "amplitude_mv": ak.unflatten(self.peak_amplitude_mv, counts),
        })
        return out


def truth_outputs(fields: Sequence[str] | None) -> tuple[str, ...]:
    """The per-waveform truth branches a reconstruction writes for data with these truth fields.

    Parameters
    ----------
    fields : sequence of str or None
        Truth fields of a chunk (``None``: no truth).

    Returns
    -------
    tuple of str
        Among ``n_clusters_true`` (from ``n_clusters`` or ``cluster_time_ns``) and
        ``n_electrons_true`` (from ``electron_time_ns``).
    """
    have = set(fields or ())
    out = []
    if {"n_clusters", "cluster_time_ns"} & have:
        out.append("n_clusters_true")
    if "electron_time_ns" in have:
        out.append("n_electrons_true")
    return tuple(out)


class Reconstructor:
    """The configured two-step chain; call it on a :class:`~ccreco.io.WaveformChunk`.

    The ONNX sessions are created lazily, so the object pickles cheaply to dask workers and
    each worker opens its own sessions once.

    Parameters
    ----------
    config : RecoConfig, optional
        Models, working point, geometry (default ``RecoConfig()``: the shipped models).

    Raises
    ------
    ModelError
        A missing, corrupt or wrong-kind model file.

    Examples
    --------
    >>> from ccreco.io import read
    >>> reco = Reconstructor()  # doctest: +SKIP
    >>> result = reco(read("run.root"))  # doctest: +SKIP
    >>> result.n_clusters.mean()  # doctest: +SKIP
    """

    def __init__(self, config: RecoConfig | None = None) -> None:
        from ccreco.kernels import deriv_preset
        from ccreco.models.dataset import candidate_config
        from ccreco.models.inference import PeakModel, load_model
        from ccreco.models.shipped import DEFAULT_CLUSTER_MODEL, DEFAULT_PEAK_MODEL, model_file

        self.config = RecoConfig() if config is None else config
        c = self.config
        peak_path = model_file(c.peak_model, DEFAULT_PEAK_MODEL)
        cnn_path = model_file(c.cluster_model, DEFAULT_CLUSTER_MODEL)
        self.peak_model = PeakModel(peak_path, intra_op_num_threads=c.threads, batch_size=c.batch_size)
        # step 2: a CNN on peak times, or a per-peak model (kind "peak_clusters", PeakClusterModel.count)
        self.cluster_model = cast("ClusterModel | PeakClusterModel", load_model(
            cnn_path, kinds=("clusters", "peak_clusters"), intra_op_num_threads=c.threads,
            batch_size=c.cnn_batch_size))  # kinds= opens nothing else
        self.candidates = candidate_config(self.peak_model.window_left, self.peak_model.window_right,
                                           self.peak_model.candidates, roi=c.roi,
                                           preselect=c.preselect)
        self.threshold = self.peak_model.threshold if c.threshold is None else float(c.threshold)
        #: how the step-1 inputs of step 2 (per-peak model or CNN) differ from its training (empty: as trained)
        self.step2_input_differences: list[str] = self.cluster_model.step1_differences(self.candidates,
                                                                                       self.peak_model.path)
        # the preset's clusterization constant goes with its peaks (as in ``ccreco evaluate``)
        self.deriv_config, self.deriv_cluster_config = deriv_preset(c.deriv_preset)
        self.run_level_model: RunLevelModel | None = None
        if c.run_level is not None:
            from ccreco.models.inference import RunLevelModel

            self.run_level_model = RunLevelModel(model_file(c.run_level))
            self.run_level_model.require_chain(self.peak_model.path, self.cluster_model, self.candidates)

    def run_statistics(self, chunk: WaveformChunk) -> np.ndarray:
        """The run statistics of a chunk's waveforms (:func:`ccreco.models.runlevel.run_statistics`).

        Parameters
        ----------
        chunk : WaveformChunk
            Waveforms of one set-up (at least ``MIN_WAVEFORMS`` for a correction).

        Returns
        -------
        numpy.ndarray
            ``(len(STATISTICS),)``.
        """
        from ccreco.models.dataset import scored_windows
        from ccreco.models.inference import PeakClusterModel
        from ccreco.models.runlevel import chain_statistics
        from ccreco.reco.stages import score_windows

        if not isinstance(self.cluster_model, PeakClusterModel):
            raise ModelError("run statistics need a per-peak step 2", file=str(self.cluster_model.path))
        dt = float(chunk.sampling_ns)
        cw, scored = scored_windows(chunk, self.candidates)
        scores = score_windows(self.peak_model, cw.windows, dt, scored)
        counts, _ = self.cluster_model.count_and_check(cw, scores, sampling_ns=dt)
        return chain_statistics(cw, scores, counts)

    def check(self, sampling_ns: float, n_samples: int, where: str | None = None) -> None:
        """Refuse data whose sampling or acquisition window the models were not made for.

        Parameters
        ----------
        sampling_ns : float
            Sampling period of the data.
        n_samples : int
            Samples per waveform.
        where : str, optional
            The data file, for the message.

        Raises
        ------
        ModelError
            Naming the model file, its value and the data's.
        """
        for model in (self.peak_model, self.cluster_model):
            if not math.isclose(model.sampling_ns, float(sampling_ns), rel_tol=1e-6):
                raise ModelError(
                    f"model made for {model.sampling_ns} ns sampling; the data{f' ({where})' if where else ''} "
                    f"are sampled every {sampling_ns} ns", file=str(model.path))
        window = float(n_samples) * float(sampling_ns)
        enc = getattr(self.cluster_model, "encoding", None)  # None: per-peak model, no time encoding
        if enc is not None and not math.isclose(enc.window_ns, window, rel_tol=1e-6):
            raise ModelError(
                f"CNN encodes a {enc.window_ns} ns acquisition window; the data{f' ({where})' if where else ''} "
                f"cover {window} ns ({n_samples} samples x {sampling_ns} ns)", file=str(self.cluster_model.path))
        if n_samples < self.peak_model.window_length + 2:
            raise ModelError(f"waveforms of {n_samples} samples are shorter than one window",
                             file=str(self.peak_model.path))

    def provenance(self) -> dict[str, Any]:
        """Model files, hashes and metadata, and the configuration (for ``summary.json``).

        Returns
        -------
        dict
            JSON-serializable provenance.
        """
        models = {}
        roles: list[tuple[str, Any]] = [("peaks", self.peak_model), ("clusters", self.cluster_model)]
        if self.run_level_model is not None:
            roles.append(("run_level", self.run_level_model))
        for role, model in roles:
            meta = {k: v for k, v in model.metadata.items() if k not in ("history",)}
            models[role] = {"file": str(model.path), "sha256": file_sha256(model.path), "metadata": meta}
        return {"config": dataclasses.asdict(self.config), "threshold": self.threshold,
                "candidates": dataclasses.asdict(self.candidates), "models": models,
                "step2_input_differences": list(self.step2_input_differences)}

    def _extra_inputs(self, chunk: WaveformChunk) -> dict[str, np.ndarray] | None:
        from ccreco.reco.stages import resolve_extra_inputs

        extra = getattr(self.cluster_model, "extra_inputs", None)
        if not extra:
            return None
        return resolve_extra_inputs(
            extra, len(chunk), truth=chunk.truth,
            fallback={"track_length_cm": self.config.config_track_length_cm, "angle_deg": self.config.angle_deg},
            hint=f"the model is {self.cluster_model.path}")

    def track_length(self, chunk: WaveformChunk) -> tuple[np.ndarray, str]:
        """Track length per waveform: truth ``track_length_cm`` when present, else the config's.

        Parameters
        ----------
        chunk : WaveformChunk
            The waveforms (and truth).

        Returns
        -------
        length : numpy.ndarray
            float32 ``(n,)`` in cm.
        source : {"truth", "config"}
            Where it came from.
        """
        if chunk.truth is not None and "track_length_cm" in chunk.truth.fields:
            return np.asarray(chunk.truth["track_length_cm"], dtype=np.float32), "truth"
        return np.full(len(chunk), self.config.config_track_length_cm, dtype=np.float32), "config"

    def __call__(self, chunk: WaveformChunk, level: float | np.ndarray | None = None) -> RecoResult:
        """Reconstruct every waveform of ``chunk``.

        Parameters
        ----------
        chunk : WaveformChunk
            Validated waveforms (from :mod:`ccreco.io`).
        level : float or numpy.ndarray, optional
            The step-2 level to divide the count by (one value or one per waveform: the run-level
            correction of each waveform's file). Default: the config's ``step2_level``; with a
            run-level correction (``run_level``), the level of this chunk taken as one run (1,
            with a warning, for a chunk of too few waveforms or outside the training range).

        Returns
        -------
        RecoResult
            Per-waveform outputs.
        """
        from ccreco.models.dataset import scored_windows
        from ccreco.reco.stages import count_clusters, deriv_clusters, round_counts, score_windows, select_peaks

        n = len(chunk)
        dt = float(chunk.sampling_ns)
        # with a first-stage pre-selection, the windows it rejects stay candidates with score 0
        cw, scored = scored_windows(chunk, self.candidates)
        scores = score_windows(self.peak_model, cw.windows, dt, scored)
        peaks = select_peaks(scores >= self.threshold, cw.sample_index, cw.waveform_index, n)
        peak_offsets = peaks.offsets
        n_peaks = np.diff(peak_offsets).astype(np.int64)
        peak_time = peaks.times_ns(dt).astype(np.float32)
        wf_index = np.repeat(np.arange(n), n_peaks)
        amplitude = (chunk.waveforms[wf_index, peaks.index] - cw.baseline[wf_index]).astype(np.float32)

        length, source = self.track_length(chunk)
        from ccreco.models.inference import PeakClusterModel

        outside: dict[str, np.ndarray] = {}
        if isinstance(self.cluster_model, PeakClusterModel):  # per-peak: all candidates and their scores
            counts, outside = self.cluster_model.count_and_check(
                cw, scores, sampling_ns=dt, extra=self._extra_inputs(chunk) if n else None)
            n_cl = np.asarray(counts, dtype=np.float32)
        else:
            n_cl = count_clusters(self.cluster_model, peaks.times_ns(dt), peak_offsets, sampling_ns=dt,
                                  window_ns=chunk.n_samples * dt, extra=self._extra_inputs(chunk) if n else None)
        if level is None and self.run_level_model is not None and n:  # the chunk is the run (notebooks)
            level = self.run_level_model.chunk_level(chunk, cw, scores, n_cl)
        level = self.config.step2_level if level is None else level
        if np.any(np.asarray(level) != 1.0):  # measured on a tuned simulation, or the file's run-level correction
            n_cl = (n_cl / np.asarray(level, dtype=np.float32)).astype(np.float32)
        n_int = round_counts(n_cl)
        with np.errstate(divide="ignore", invalid="ignore"):
            dndx = np.where(length > 0, n_cl / length, np.nan).astype(np.float32)

        meta = chunk.meta
        result = RecoResult(
            run=np.asarray(meta["run"], dtype=np.int64),
            event=np.asarray(meta["event"], dtype=np.int64),
            channel=np.asarray(meta["channel"], dtype=np.int32),
            baseline_rms=np.asarray(cw.rms, dtype=np.float32),
            n_candidates=np.asarray(cw.counts, dtype=np.int64),
            score=np.asarray(scores, dtype=np.float32),
            n_peaks=n_peaks,
            peak_time_ns=peak_time,
            peak_amplitude_mv=amplitude,
            peak_offsets=peak_offsets,
            n_clusters=n_cl,
            n_clusters_int=n_int,
            track_length_cm=length,
            dndx=dndx,
            length_source=source,
            outside_training=outside,
            scored=None if bool(np.all(scored)) else np.asarray(scored, dtype=bool),
            step2_level=level,
        )
        if self.config.deriv:
            d = deriv_clusters(chunk.waveforms, self.deriv_config, self.deriv_cluster_config, sampling_ns=dt)
            result.deriv_n_peaks = d.n_peaks
            result.deriv_n_clusters = d.n_clusters
        if chunk.truth is not None:
            fields = chunk.truth.fields
            outputs = truth_outputs(fields)
            if "n_clusters_true" in outputs and "n_clusters" in fields:
                result.n_clusters_true = np.asarray(chunk.truth["n_clusters"], dtype=np.int64)
            elif "n_clusters_true" in outputs:
                result.n_clusters_true = np.asarray(ak.num(chunk.truth["cluster_time_ns"]), dtype=np.int64)
            if "n_electrons_true" in outputs:
                result.n_electrons_true = np.asarray(ak.num(chunk.truth["electron_time_ns"]), dtype=np.int64)
            if "electron_peak_ns" in fields or {"cand_time_ns", "cand_label"} <= set(fields):
                from ccreco.kernels.labels import candidate_labels

                result.score_label = np.asarray(candidate_labels(cw, chunk.truth), dtype=np.int8)
        return result


def reconstruct(chunk: WaveformChunk, config: RecoConfig | None = None,
                reconstructor: Reconstructor | None = None) -> RecoResult:
    """Reconstruct a chunk in one call (notebooks).

    Parameters
    ----------
    chunk : WaveformChunk
        Waveforms, e.g. from :func:`ccreco.io.read`.
    config : RecoConfig, optional
        Used when no ``reconstructor`` is given.
    reconstructor : Reconstructor, optional
        Reuse one (its models stay open).

    Returns
    -------
    RecoResult
        Per-waveform outputs.
    """
    reco = reconstructor if reconstructor is not None else Reconstructor(config)
    reco.check(chunk.sampling_ns, chunk.n_samples, chunk.source.file if chunk.source else None)
    return reco(chunk)


__all__ = ["LENGTH_SOURCES", "RecoConfig", "RecoResult", "Reconstructor", "reconstruct", "truth_outputs"]
