"""A run-level correction of the per-peak count: statistics of a run of waveforms -> its level.

One waveform cannot tell the cluster-size distribution or the cluster density it was drawn from;
a run of a few hundred waveforms of one set-up can. The per-peak step 2's level (mean count over
mean true count) follows both (docs/MODELS.md, "A run-level correction of the level"). This module computes
:data:`STATISTICS` of a run from the chain's output (:func:`run_statistics`), builds the training
sample from domain-randomized simulation whose blocks of waveforms each share one configuration
(:func:`run_level_sample`), and fits a ridge regression of ``log(level)`` on the standardised
statistics (:func:`fit_run_level`). The fit travels as an ONNX model of kind ``run_level``
(:func:`ccreco.models.train_runlevel.train_run_level`,
:class:`ccreco.models.inference.RunLevelModel`); ``ccreco reco --set run_level=...`` divides
each file's counts by the level it predicts.

Numpy only (no torch): the reconstruction computes the statistics with the same function.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ccreco._progress import progress
from ccreco.errors import ConfigError, ModelError, TruthInconsistencyError

#: Edges (ns) of the histogram of gaps between consecutive confident candidates (under 20 ns).
GAP_EDGES: tuple[int, ...] = (0, 2, 4, 6, 9, 12, 20)
#: Step-1 score from which a candidate counts as confident.
CONFIDENT: float = 0.5
#: The run statistics, in the order of :func:`run_statistics` (the model's input columns).
STATISTICS: tuple[str, ...] = (
    "confident_per_wf", "span_ns", "confident_per_ns",
    *(f"gaps_{a}_{b}" for a, b in zip(GAP_EDGES[:-1], GAP_EDGES[1:], strict=True)),
    "amp_q25_over_q50", "amp_q75_over_q50", "amp_q90_over_q50", "amp_q97_over_q50",
    "candidates_per_confident", "score_sum_per_confident", "count_per_confident",
    "amp_q50_over_noise", "gaps_under_20_fraction",
)
#: Fewest waveforms whose statistics a level is computed from (blocks and files below it are refused).
MIN_WAVEFORMS: int = 100


def run_statistics(features: np.ndarray, offsets: np.ndarray, counts: np.ndarray, rms: np.ndarray) -> np.ndarray:
    """The :data:`STATISTICS` of one run (block) of waveforms.

    Parameters
    ----------
    features : numpy.ndarray
        ``(m, 4)`` per-candidate time (ns), height (mV), width and step-1 score
        (:func:`ccreco.models.encoding.peak_features`).
    offsets : numpy.ndarray
        ``(n + 1,)`` waveform offsets into ``features``, from 0.
    counts : numpy.ndarray
        ``(n,)`` per-peak counts of the waveforms (before any level correction).
    rms : numpy.ndarray
        ``(n,)`` baseline noise RMS of the waveforms (mV).

    Returns
    -------
    numpy.ndarray
        float64 ``(len(STATISTICS),)``.

    Raises
    ------
    ValueError
        No waveform, or arrays of inconsistent lengths.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    if n < 1 or len(counts) != n or len(rms) != n or offsets[-1] - offsets[0] != len(features):
        raise ValueError(f"{n} waveforms, {len(counts)} counts, {len(rms)} noise values and "
                         f"{len(features)} candidates for offsets {offsets[0]}..{offsets[-1]}")
    feats = np.asarray(features, dtype=np.float64)
    off = offsets - offsets[0]
    confident = feats[:, 3] >= CONFIDENT
    wf = np.repeat(np.arange(n), np.diff(off))[confident]
    t, amp = feats[confident, 0], feats[confident, 1]
    n_conf = np.bincount(wf, minlength=n)
    has = n_conf > 0
    first = np.searchsorted(wf, np.arange(n), side="left")
    last = np.searchsorted(wf, np.arange(n), side="right") - 1
    spans = (t[last[has]] - t[first[has]]) if len(t) else np.zeros(0)
    same = wf[1:] == wf[:-1]  # consecutive confident candidates of one waveform
    gaps = np.diff(t)[same]
    g20 = gaps[gaps < GAP_EDGES[-1]]
    hist = np.histogram(g20, GAP_EDGES)[0] / max(len(g20), 1)
    q = np.quantile(amp if len(amp) else np.ones(1), [0.25, 0.5, 0.75, 0.9, 0.97])
    conf = float(np.mean(n_conf))
    span = float(np.mean(spans)) if len(spans) else 1.0
    per_conf = max(conf, 1e-3)
    return np.array([conf, span, conf / max(span, 1.0), *hist.tolist(),
                     q[0] / q[1], q[2] / q[1], q[3] / q[1], q[4] / q[1],
                     len(feats) / n / per_conf, float(feats[:, 3].sum()) / n / per_conf,
                     float(np.mean(counts)) / per_conf, q[1] / max(float(np.mean(rms)), 1e-6),
                     len(g20) / max(len(gaps), 1)], dtype=np.float64)


def chain_statistics(cw: Any, scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`run_statistics` of the chain's output for a block of waveforms.

    Parameters
    ----------
    cw : CandidateWindows
        The step-1 candidates of the waveforms (selected as the step-1 model's metadata says).
    scores : numpy.ndarray
        Their step-1 scores.
    counts : numpy.ndarray
        The per-peak model's raw count of each waveform.

    Returns
    -------
    numpy.ndarray
        ``(len(STATISTICS),)``.
    """
    from ccreco.models.encoding import peak_features

    feats = peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left)
    return run_statistics(feats, cw.offsets, counts, cw.rms)


def require_plain_perpeak(cluster_model: Any, file: str | None = None) -> None:
    """Refuse a step 2 a run-level correction cannot belong to (a CNN, or geometry inputs).

    Parameters
    ----------
    cluster_model : ClusterModel or PeakClusterModel
        The step-2 model.
    file : str, optional
        The file the error names (the correction's, or the step-2 model's).

    Raises
    ------
    ModelError
        Not a per-peak model, or one that needs per-waveform geometry inputs.
    """
    if getattr(cluster_model, "kind", None) != "peak_clusters" or cluster_model.extra_inputs:
        name = getattr(getattr(cluster_model, "path", None), "name", cluster_model)
        raise ModelError(f"a run-level correction needs a per-peak step 2 without geometry inputs; {name} is not one",
                         file=file)


@dataclass
class RunLevelSample:
    """Run statistics and level targets of blocks of simulated waveforms.

    Attributes
    ----------
    statistics : numpy.ndarray
        ``(blocks, len(STATISTICS))``.
    true_sum, count_sum : numpy.ndarray
        ``(blocks,)`` sum of the true and of the counted clusters of each block.
    sampling_ns : float
        Sampling period of the files.
    info : dict
        Files, block size, counts and the step-1 candidate selection (stored in the model metadata).
    """

    statistics: np.ndarray
    true_sum: np.ndarray
    count_sum: np.ndarray
    sampling_ns: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> np.ndarray:
        """Each block's level: counted over true clusters."""
        return np.asarray(self.count_sum / np.maximum(self.true_sum, 1e-9), dtype=np.float64)


def run_level_sample(files: Any, peak_model: Any, cluster_model: Any, *, block: int = 128,
                     schema: str = "native", max_waveforms: int | None = None) -> RunLevelSample:
    """Run statistics of consecutive blocks of ``block`` waveforms and their true level.

    The chain is the reconstruction's: candidates selected as the step-1 model's metadata says,
    scored by it, counted by the per-peak model (raw counts, as ``ccreco reco``). Files are read
    in chunks of a multiple of ``block`` so that blocks follow the configuration blocks of a
    randomized sample (``ccreco simulate --randomize --set block=128``); a last block under
    half the size is dropped.

    Parameters
    ----------
    files : path or iterable of paths
        ROOT files with the truth ``n_clusters``.
    peak_model : PeakModel
        The step-1 model.
    cluster_model : PeakClusterModel
        The per-peak step 2 the level belongs to (no geometry inputs).
    block : int
        Waveforms per block (the simulated runs' size).
    schema : str
        Ntuple schema.
    max_waveforms : int, optional
        Stop after this many waveforms.

    Returns
    -------
    RunLevelSample

    Raises
    ------
    ConfigError
        ``block`` under :data:`MIN_WAVEFORMS`, or fewer than 2 blocks.
    ModelError
        A step 2 that is not a per-peak model or needs geometry inputs.
    """
    from ccreco.io import iterate
    from ccreco.models.dataset import _head, candidate_config, scored_windows
    from ccreco.models.encoding import peak_features

    if block < MIN_WAVEFORMS:
        raise ConfigError(f"block must be >= {MIN_WAVEFORMS} waveforms (one simulated run), got {block}")
    require_plain_perpeak(cluster_model, str(getattr(cluster_model, "path", "")))
    cfg = candidate_config(peak_model.window_left, peak_model.window_right, peak_model.metadata.get("candidates"))
    stats, true_sum, count_sum, files_seen = [], [], [], []
    sampling: float | None = None
    n_seen = 0
    with progress(total=max_waveforms, desc="run-level sample", unit="wf") as bar:
        # chunks of a multiple of the block: blocks never straddle two chunks
        for chunk in iterate(files, schema=schema, step_size=block * max(1, 10_000 // block)):
            src = None if chunk.source is None else chunk.source.file
            truth = chunk.truth
            if truth is None or "n_clusters" not in truth.fields:
                raise TruthInconsistencyError("a run-level sample needs the truth n_clusters (simulated files)",
                                              file=src)
            if max_waveforms is not None and n_seen + len(chunk) > max_waveforms:
                chunk = _head(chunk, max_waveforms - n_seen)
            sampling = chunk.sampling_ns if sampling is None else sampling
            if src is not None and src not in files_seen:
                files_seen.append(src)
            cw, scored = scored_windows(chunk, cfg)
            scores = peak_model.predict_scored(cw.windows, scored, sampling_ns=chunk.sampling_ns)
            counts, _ = cluster_model.count_and_check(cw, scores, sampling_ns=chunk.sampling_ns)
            feats = peak_features(cw.windows, cw.time_ns, scores, cw.config.window_left)
            true = np.asarray(truth["n_clusters"], dtype=np.float64)[:len(chunk)]
            off = cw.offsets
            for a in range(0, len(chunk), block):
                b = min(a + block, len(chunk))
                if b - a < block // 2:
                    continue
                stats.append(run_statistics(feats[off[a]:off[b]], off[a:b + 1], counts[a:b], cw.rms[a:b]))
                true_sum.append(true[a:b].sum())
                count_sum.append(float(np.sum(counts[a:b], dtype=np.float64)))
            n_seen += len(chunk)
            bar.update(len(chunk))
            if max_waveforms is not None and n_seen >= max_waveforms:
                break
    if len(stats) < 2:
        raise ConfigError(f"a run-level sample needs at least 2 blocks of {block} waveforms; got {len(stats)}")
    info = {"files": files_seen, "waveforms": n_seen, "blocks": len(stats), "block": block,
            "candidates": dataclasses.asdict(cfg)}
    return RunLevelSample(np.array(stats), np.array(true_sum), np.array(count_sum), float(sampling or 0.0), info)


@dataclass(frozen=True)
class RunLevelFit:
    """A ridge regression of ``log(level)`` on standardised run statistics.

    Attributes
    ----------
    mean, scale : numpy.ndarray
        Standardisation of each statistic (training blocks).
    coef : numpy.ndarray
        Coefficient of each standardised statistic.
    intercept : float
        Mean ``log(level)`` of the training blocks.
    low, high : numpy.ndarray
        Smallest and largest value of each statistic over the training blocks: the range check.
    ridge : float
        Ridge strength.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    low: np.ndarray
    high: np.ndarray
    ridge: float

    def level(self, statistics: np.ndarray) -> np.ndarray:
        """Predicted level (count over true) of each row of ``statistics``."""
        z = np.clip((np.atleast_2d(statistics) - self.mean) / self.scale, -10.0, 10.0)  # as the ONNX graph
        return np.asarray(np.exp(z @ self.coef + self.intercept))


def fit_run_level(sample: RunLevelSample, ridge: float = 10.0) -> RunLevelFit:
    """Fit :class:`RunLevelFit` on a :class:`RunLevelSample`.

    Parameters
    ----------
    sample : RunLevelSample
        Training blocks.
    ridge : float
        Ridge strength on the standardised statistics (10: the validation optimum among 0.1,
        1, 10 and 30 in benchmarks/run_level_calibration.py).

    Returns
    -------
    RunLevelFit
    """
    if not ridge >= 0:
        raise ConfigError(f"ridge must be >= 0, got {ridge!r}")
    x = np.asarray(sample.statistics, dtype=np.float64)
    target = np.log(sample.level)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    coef = np.linalg.solve(z.T @ z + ridge * np.eye(z.shape[1]), z.T @ (target - target.mean()))
    return RunLevelFit(mean=mean, scale=scale, coef=coef, intercept=float(target.mean()),
                       low=x.min(0), high=x.max(0), ridge=float(ridge))


__all__ = ["CONFIDENT", "GAP_EDGES", "MIN_WAVEFORMS", "STATISTICS", "RunLevelFit", "RunLevelSample", "chain_statistics",
           "fit_run_level", "require_plain_perpeak", "run_level_sample", "run_statistics"]
