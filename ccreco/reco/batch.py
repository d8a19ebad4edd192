"""Batch reconstruction of ROOT files with coffea's runner (iterative, futures or dask executors).

The coffea processor (:mod:`ccreco.reco.processor`, public as ``ccreco.processors``) is a thin shell around
:func:`process_events`; everything else — validation, the per-block work, the accumulator
layout, the outputs — lives here so that dask workers import it from ``ccreco`` and the tests
exercise it directly.

Accumulator (what every block returns; coffea adds them up with ``+``): a typed
:class:`~ccreco.reco.accumulator.RecoAccumulator` (histograms, exact moments, counters, skip
records, part files, timing). ``run_reco`` is three steps around it: :func:`plan_run`
(validate options and inputs, load the models; nothing written), :func:`execute` (coffea's
runner over the planned files -> one accumulator) and :func:`publish_run` (``reco.root``,
``hists.root``, plots, ``summary.json``, atomic move to ``OUTDIR``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import platform
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccreco import __version__
from ccreco._extras import require
from ccreco._outputs import Output, OutputLock, check_outputs, check_replaceable, clean_stale, duplicate_inputs
from ccreco.constants import N_SAMPLES, SAMPLING_NS
from ccreco.errors import CcrecoError, ConfigError
from ccreco.io.schema import Mapping as SchemaMapping
from ccreco.reco.accumulator import Moments, RecoAccumulator
from ccreco.reco.core import RecoConfig, Reconstructor, RecoResult, truth_outputs
from ccreco.reco.hists import book, fill, moments
from ccreco.reco.output import (
    PARTS_DIR,
    check_outdir_name,
    draw,
    draw_run_levels,
    merge_parts,
    publish,
    staging_dir,
    write_hists,
    write_json,
    write_part,
)

log = logging.getLogger(__name__)

#: Executors ``run_reco`` drives through :class:`coffea.processor.Runner`.
EXECUTORS: tuple[str, ...] = ("iterative", "futures", "dask")
#: Per-waveform variables whose exact count/mean/RMS go into ``summary.json``.
SUMMARY_VARIABLES: tuple[str, ...] = ("n_candidates", "n_peaks", "n_clusters", "dndx", "track_length_cm",
                                      "baseline_rms", "deriv_n_peaks", "deriv_n_clusters", "n_clusters_true",
                                      "n_electrons_true", "residual")

#: Seconds to wait for an existing dask scheduler before giving up with a clear error.
SCHEDULER_TIMEOUT_S: float = 10.0

#: One Reconstructor per process and configuration: ONNX sessions open once per worker.
_RECONSTRUCTORS: dict[RecoConfig, Reconstructor] = {}


def get_reconstructor(config: RecoConfig) -> Reconstructor:
    """This process's :class:`Reconstructor` for ``config`` (created on first use).

    Parameters
    ----------
    config : RecoConfig
        Hashable configuration.

    Returns
    -------
    Reconstructor
        Cached per process, so each dask worker opens its ONNX sessions once.
    """
    reco = _RECONSTRUCTORS.get(config)
    if reco is None:
        reco = _RECONSTRUCTORS[config] = Reconstructor(config)
    return reco


def _sums(result: RecoResult) -> dict[str, Moments]:
    out: dict[str, Moments] = {}
    for name in SUMMARY_VARIABLES:
        if name == "residual":
            values = None if result.n_clusters_true is None else result.n_clusters - result.n_clusters_true
        else:
            values = getattr(result, name)
        if values is not None:
            out[name] = Moments.of(values)
    return out


def empty_output() -> RecoAccumulator:
    """An accumulator with nothing in it (the identity of the sum).

    Returns
    -------
    RecoAccumulator
        No histograms, zero counters.
    """
    return RecoAccumulator()


def skip_record(error: CcrecoError, file: str, tree: str | None, start: int | None, stop: int | None) -> dict[str, Any]:
    """A JSON-ready record of a skipped file or block.

    Parameters
    ----------
    error : CcrecoError
        Why.
    file, tree : str
        Where.
    start, stop : int or None
        Entry range (``None`` for a whole file).

    Returns
    -------
    dict
        ``file``, ``tree``, ``entry_start``, ``entry_stop``, ``error`` (class name), ``reason``.
    """
    return {"file": file, "tree": tree, "entry_start": start, "entry_stop": stop,
            "error": type(error).__name__, "reason": str(error)}


def process_block(chunk: Any, reconstructor: Reconstructor, parts_dir: str | os.PathLike[str] | None,
                  file_index: int = 0, row_file_index: np.ndarray | None = None,
                  level: float | np.ndarray | None = None) -> RecoAccumulator:
    """Reconstruct one validated chunk and return its accumulator.

    Parameters
    ----------
    chunk : WaveformChunk
        The block.
    reconstructor : Reconstructor
        Models and configuration.
    parts_dir : path-like or None
        Where to write the block's per-waveform part file (``None``: write none).
    file_index : int
        Position of the block's file in the run (orders the parts in ``reco.root``); of its first
        file for a block of several small files.
    row_file_index : numpy.ndarray, optional
        The file position of every waveform, for a block of several files (written into the part).
    level : float or numpy.ndarray, optional
        The level the step-2 count is divided by (per waveform for several files; the file's
        run-level correction); default the config's ``step2_level``.

    Returns
    -------
    RecoAccumulator
        One block's accumulator.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    result = reconstructor(chunk, level=level)
    out = empty_output()
    out.hists = fill(book(result.has_truth), result)
    out.sums = _sums(result)
    n = len(result)
    out.counters.update(chunks=1, waveforms_read=n, waveforms_reconstructed=n)
    out.counters[f"{result.length_source}_length"] = n
    if result.outside_training:  # waveforms the step-2 model's training did not span (summary.json)
        any_out = np.zeros(n, dtype=bool)
        for name, flags in result.outside_training.items():
            out.counters[f"step2_outside_training_{name}"] = int(np.count_nonzero(flags))
            any_out |= flags
        out.counters["step2_outside_training"] = int(np.count_nonzero(any_out))
    if parts_dir is not None:
        start = chunk.source.entry_start if chunk.source else 0
        stop = chunk.source.entry_stop if chunk.source else n
        path = Path(parts_dir) / f"{file_index:05d}_{start:012d}_{stop:012d}.root"
        out.parts = [(int(file_index), int(start), write_part(result, path, file_index=row_file_index))]
    out.reco_s = time.perf_counter() - t0
    out.reco_cpu_s = time.process_time() - c0
    return out


def unreadable_block(exc: BaseException, file: str, tree: str, start: int, stop: int) -> CcrecoError:
    """The :class:`~ccreco.errors.InputFileError` for a block whose bytes could not be read or decoded.

    Parameters
    ----------
    exc : BaseException
        What uproot/awkward raised (bad compression header, truncated file, ...).
    file, tree : str
        Where.
    start, stop : int
        The block's entries.

    Returns
    -------
    CcrecoError
        Naming the file, tree, first entry and the cause.
    """
    from ccreco.errors import InputFileError

    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return InputFileError(f"cannot read entries [{start}, {stop}) (corrupt or truncated file?): "
                          f"{type(exc).__name__}: {cause}", file=file, tree=tree, entry=start)


@dataclass(frozen=True)
class BlockTask:
    """Everything a worker needs to turn coffea's events into an accumulator (picklable).

    Attributes
    ----------
    config : RecoConfig
        Reconstruction configuration (models by path).
    mapping : ccreco.io.schema.Mapping
        The files' schema.
    parts_dir : str
        Staging directory for part files (a filesystem the workers share).
    on_error : {"raise", "skip"}
        What a bad block does.
    file_index : dict of str to int
        File path -> position in the run.
    sampling_ns : float
        Sampling period every block must have.
    n_samples : int
        Samples per waveform every block must have.
    """

    config: RecoConfig
    mapping: SchemaMapping
    parts_dir: str
    on_error: str
    file_index: dict[str, int] = field(hash=False)
    sampling_ns: float = SAMPLING_NS
    n_samples: int = N_SAMPLES
    #: file -> recorded block checksums (``ccreco.io.integrity``; empty for files ccreco did not write)
    checksums: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict, hash=False)
    #: file -> the level its counts are divided by (the run-level correction; absent: the config's step2_level)
    levels: dict[str, float] = field(default_factory=dict, hash=False)


#: Set once this process has frozen its long-lived objects out of the cyclic collector.
_GC_FROZEN: list[bool] = []
#: Waveforms processed in this process since its last full collection (see process_events).
_SINCE_GC: list[int] = [0]
#: A block starts with a full collection once this many waveforms were processed since the
#: last one: every block at the default block size, every few blocks of small files.
GC_EVERY_WAVEFORMS: int = 5000


def release_frozen() -> None:
    """Give the objects :func:`process_events` froze back to the cyclic collector, and collect.

    Called when a run's blocks are done in this process (the iterative executor), so that what
    the first block left frozen is freed before the outputs are merged; dask workers keep theirs
    frozen for the next run.
    """
    import gc

    if _GC_FROZEN:
        gc.unfreeze()
        gc.collect()
        _GC_FROZEN.clear()
    _SINCE_GC[0] = 0


def _collect_garbage(n_waveforms: int) -> None:
    """Before a block of ``n_waveforms``: freeze the long-lived objects (first block of the
    process) or collect once :data:`GC_EVERY_WAVEFORMS` have passed (see :func:`process_events`)."""
    import gc

    if not _GC_FROZEN:
        gc.collect()
        gc.freeze()
        _GC_FROZEN.append(True)
        _SINCE_GC[0] = 0
    elif _SINCE_GC[0] >= GC_EVERY_WAVEFORMS:
        gc.collect()
        _SINCE_GC[0] = 0
    _SINCE_GC[0] += int(n_waveforms)


def process_events(events: Any, task: BlockTask) -> RecoAccumulator:
    """The coffea processor's body: columns of one block -> validated chunk -> accumulator.

    Parameters
    ----------
    events : awkward.Array
        coffea events with ``BaseSchema`` (one field per branch) and ``metadata`` holding
        ``filename``, ``treename``, ``entrystart``, ``entrystop``.
    task : BlockTask
        Configuration.

    Returns
    -------
    RecoAccumulator
        The block's accumulator; with ``on_error="skip"`` a bad block returns an empty
        accumulator that lists it in ``skipped``.

    Raises
    ------
    CcrecoError
        A bad block with ``on_error="raise"`` (file, tree, branch and entry named).
    """
    from ccreco.io.reader import chunk_from_arrays, plan_columns

    # The previous blocks' coffea/uproot objects sit in reference cycles holding their basket
    # arrays; their size never triggers Python's cyclic collector (numpy buffers do not count),
    # so without this the peak RSS grew with the run (855 MB at 100k waveforms, 2.5 GB at 1M;
    # 581 MB and flat with it). A full collection walks every object of the process (about
    # 120 ms with coffea, numba and the models loaded), so the first block moves what exists
    # then (modules, models) out of the collector's view (gc.freeze) and later collections
    # only walk what the blocks created. Even so a collection costs ~10-30 ms (what the first
    # block compiled and cached is not frozen; freezing it at the second block also froze that
    # block's leftovers, +45 MB of peak), so it happens once GC_EVERY_WAVEFORMS have been
    # processed since the last one, not before every block: runs over many small files have one
    # block per file. The garbage held stays below about one default block.
    meta = events.metadata
    file, tree = str(meta["filename"]), str(meta["treename"])
    start, stop = int(meta["entrystart"]), int(meta["entrystop"])
    _collect_garbage(stop - start)
    plan, problems = plan_columns(list(events.fields), stop - start, file, task.mapping)
    chunk = None
    if not problems:
        try:  # coffea reads lazily: a corrupt or truncated basket raises here
            arrays = {b: events[b] for b in plan.branches}
            chunk, problems = chunk_from_arrays(arrays, plan, task.mapping, start, stop, n_samples=task.n_samples,
                                                expected_sampling_ns=task.sampling_ns)
        except CcrecoError:
            raise
        except Exception as exc:  # noqa: BLE001 - turned into a named error (or a skip record)
            problems = [unreadable_block(exc, file, tree, start, stop)]
    if problems or chunk is None:
        return _bad_block(problems[0], task, file, tree, start, stop)
    out = process_block(chunk, get_reconstructor(task.config), task.parts_dir, task.file_index.get(file, 0),
                        level=task.levels.get(file, task.config.step2_level))
    checks = block_checks(chunk, file, start, task.checksums.get(file, ()))
    out.data_checks = checks["data_checks"]
    out.integrity = checks.get("integrity", {})
    return out


def _bad_block(error: CcrecoError, task: BlockTask, file: str, tree: str | None, start: int, stop: int
               ) -> RecoAccumulator:
    """Raise ``error`` (``on_error="raise"``) or return the accumulator that lists the skipped block."""
    if task.on_error == "raise":
        raise error
    log.warning("skipping entries [%d, %d) of %s: %s", start, stop, file, error)
    out = empty_output()
    out.counters.update(chunks_skipped=1, waveforms_skipped=stop - start)
    out.skipped = [skip_record(error, file, tree, start, stop)]
    return out


@dataclass(frozen=True)
class FileGroup:
    """Several small input files reconstructed as one block (:func:`group_small_files`).

    coffea's runner gives every file at least one block, and a block has fixed costs (the
    reconstruction's per-call overheads, one part file to write and merge, histograms to
    fill and add); a run over many small files paid them once per file.

    Attributes
    ----------
    files : tuple of str
        Consecutive input files of the run, in order.
    entries : tuple of int
        Entries of each.
    """

    files: tuple[str, ...]
    entries: tuple[int, ...]

    @property
    def n_entries(self) -> int:
        """Entries of the whole group."""
        return int(sum(self.entries))


#: A file with fewer entries than this fraction of the block size is a "small" file, read
#: together with its small neighbours into one block (:func:`group_small_files`).
SMALL_FILE_FRACTION: float = 0.5


def group_small_files(files: Sequence[str], entries: dict[str, dict[str, Any]], chunk_size: int
                      ) -> tuple[list[str], list[FileGroup]]:
    """Split a run's files into those for coffea's runner and groups of consecutive small files.

    A file with fewer than ``SMALL_FILE_FRACTION x chunk_size`` entries is small; runs of
    consecutive small files are packed, in order, into groups of at most ``chunk_size``
    entries. A group that would hold a single file goes to the runner instead.

    Parameters
    ----------
    files : sequence of str
        The run's (validated) files, in order.
    entries : dict
        File -> ``{"numentries": n, ...}`` (:func:`validate_inputs`).
    chunk_size : int
        Entries per block.

    Returns
    -------
    runner_files : list of str
        Files read by coffea's runner (one or more blocks each).
    groups : list of FileGroup
        Groups of at least two small files, one block each.

    Examples
    --------
    >>> n = {"a": {"numentries": 10}, "b": {"numentries": 10}, "c": {"numentries": 9000}, "d": {"numentries": 5}}
    >>> runner, groups = group_small_files(["a", "b", "c", "d"], n, 5000)
    >>> runner, [g.files for g in groups]
    (['c', 'd'], [('a', 'b')])
    """
    limit = SMALL_FILE_FRACTION * int(chunk_size)
    runner: list[str] = []
    groups: list[FileGroup] = []
    current: list[tuple[str, int]] = []

    def close() -> None:
        if len(current) == 1:
            runner.append(current[0][0])
        elif current:
            groups.append(FileGroup(tuple(f for f, _ in current), tuple(n for _, n in current)))
        current.clear()

    for path in files:
        n = int(entries[path]["numentries"])
        if n >= limit:
            close()
            runner.append(path)
            continue
        if current and sum(m for _, m in current) + n > chunk_size:
            close()
        current.append((path, n))
    close()
    return runner, groups


def process_group(group: FileGroup, task: BlockTask) -> RecoAccumulator:
    """Read the files of a :class:`FileGroup` (the same checks as :func:`process_events`) and
    reconstruct them as one block.

    Every file is read and validated on its own (errors name the file, tree, branch and entry;
    with ``on_error="skip"`` a bad file is listed and the others go on), and its data checks
    and recorded checksums are verified per file; the good files are then concatenated and
    reconstructed together, and their part file carries each waveform's ``file_index``. Files
    whose truth fields differ from their predecessor's start a new block.

    Parameters
    ----------
    group : FileGroup
        The files.
    task : BlockTask
        Configuration.

    Returns
    -------
    RecoAccumulator
        The group's accumulator (one block per run of files with the same truth fields).

    Raises
    ------
    CcrecoError
        A bad file with ``on_error="raise"``.
    """
    from ccreco.io.chunk import concatenate_chunks
    from ccreco.io.reader import open_tree, plan_tree, read_chunk

    _collect_garbage(group.n_entries)
    out = empty_output()
    pending: list[tuple[int, Any]] = []
    pending_levels: list[float] = []

    def flush() -> None:
        nonlocal out
        if not pending:
            return
        rows = np.concatenate([np.full(len(c), i, dtype=np.int32) for i, c in pending])
        level = np.concatenate([np.full(len(c), v, dtype=np.float32)  # each file's level, per waveform
                                for (_, c), v in zip(pending, pending_levels, strict=True)])
        out = out + process_block(concatenate_chunks([c for _, c in pending]), get_reconstructor(task.config),
                                  task.parts_dir, pending[0][0], row_file_index=rows, level=level)
        pending.clear()
        pending_levels.clear()

    for path, n in zip(group.files, group.entries, strict=True):
        tree = chunk = None
        try:
            tree = open_tree(path, task.mapping)
            plan, problems = plan_tree(tree, path, task.mapping)
            if not problems:
                chunk, problems = read_chunk(plan, task.mapping, 0, n, n_samples=task.n_samples,
                                             expected_sampling_ns=task.sampling_ns)
        except CcrecoError as exc:
            problems = [exc]
        finally:  # a group may hold thousands of files: do not keep their handles open
            if tree is not None:
                tree.file.close()
        if problems or chunk is None:
            out = out + _bad_block(problems[0], task, path, task.mapping.tree, 0, n)
            continue
        fields = None if chunk.truth is None else chunk.truth.fields
        if pending and fields != (None if pending[-1][1].truth is None else pending[-1][1].truth.fields):
            flush()
        pending.append((task.file_index.get(path, 0), chunk))
        pending_levels.append(task.levels.get(path, task.config.step2_level))
        checks = block_checks(chunk, path, 0, task.checksums.get(path, ()))
        out = out + RecoAccumulator(counters={}, data_checks=checks["data_checks"],
                                    integrity=checks.get("integrity", {}))
    flush()
    return out


def block_checks(chunk: Any, file: str, start: int, blocks: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    """The data-sanity counts and checksum partial sums of one block, keyed by file (they add up).

    Parameters
    ----------
    chunk : WaveformChunk
        The block as read.
    file : str
        Its file.
    start : int
        Its first entry.
    blocks : sequence of (int, int, int)
        The file's recorded block checksums (may be empty).

    Returns
    -------
    dict
        ``data_checks`` (file -> counts) and ``integrity`` (file -> ``sums``/``rows`` per block).
    """
    from ccreco.io.integrity import partial_sums
    from ccreco.io.validate import sanity_counts

    out: dict[str, Any] = {"data_checks": {file: sanity_counts(chunk.waveforms, chunk.sampling_ns)}}
    if blocks:
        sums, rows = partial_sums(chunk.waveforms, start, blocks)
        out["integrity"] = {file: {"sums": sums, "rows": rows}}
    return out


def check_blocks(acc: RecoAccumulator, checksums: dict[str, list[tuple[int, int, int]]], on_error: str
                 ) -> dict[str, Any]:
    """Verify the accumulated checksums and warn once per file about its data-sanity findings.

    Parameters
    ----------
    acc : RecoAccumulator
        The run's accumulator.
    checksums : dict
        File -> recorded blocks.
    on_error : {"raise", "skip"}
        A corrupt block raises, or is listed in the result.

    Returns
    -------
    dict
        ``data_checks`` (file -> counts, problems, warnings) and ``integrity`` (blocks recorded,
        verified, failed).

    Raises
    ------
    InputFileError
        A block whose checksum differs (raise mode).
    """
    from ccreco.errors import InputFileError
    from ccreco.io.integrity import mismatches
    from ccreco.io.validate import sanity_messages

    checks: dict[str, Any] = {}
    for file, counts in sorted(acc.data_checks.items()):
        problems, warnings = sanity_messages(dict(counts))
        for text in problems + warnings:
            log.warning("%s: %s", file, text)
        checks[file] = {"counts": dict(counts), "problems": problems, "warnings": warnings}
    failed: list[dict[str, Any]] = []
    integrity: dict[str, Any] = {"recorded": 0, "verified": 0, "failed": failed}
    for file, blocks in sorted(checksums.items()):
        part = acc.integrity.get(file, {})
        n_ok, bad = mismatches(part.get("sums", {}), part.get("rows", {}), blocks)
        integrity["recorded"] += len(blocks)
        integrity["verified"] += n_ok
        for b0, b1 in bad:
            error = InputFileError(f"checksum mismatch in entries [{b0}, {b1}): the waveform bytes differ from what "
                                   "ccreco wrote (corrupt copy or storage error)", file=file, entry=b0)
            if on_error == "raise":
                raise error
            log.warning("%s", error)
            failed.append({"file": file, "entry_start": b0, "entry_stop": b1, "reason": str(error)})
    return {"data_checks": checks, "integrity": integrity, "step2_training_range": training_range_check(acc.counters)}


#: Fraction of waveforms outside the step-2 model's training range above which reco warns.
OUTSIDE_TRAINING_WARN: float = 0.05


def training_range_check(counters: dict[str, int]) -> dict[str, Any] | None:
    """How many waveforms lie outside the per-peak model's training range, with a warning when many do.

    Parameters
    ----------
    counters : dict
        The run's counters (``step2_outside_training`` and ``step2_outside_training_<summary>``
        from :func:`process_block`).

    Returns
    -------
    dict or None
        ``outside``, ``fraction``, ``by_summary`` and ``warning`` (text or ``None``); ``None``
        when the step-2 model records no training range.
    """
    if "step2_outside_training" not in counters:
        return None
    n = int(counters.get("waveforms_reconstructed", 0))
    k = int(counters["step2_outside_training"])
    prefix = "step2_outside_training_"
    by = {key[len(prefix):]: int(v) for key, v in sorted(counters.items()) if key.startswith(prefix)}
    fraction = k / n if n else 0.0
    warning = None
    if fraction > OUTSIDE_TRAINING_WARN:
        ranked = sorted(by.items(), key=lambda kv: -kv[1])[:3]
        worst = ", ".join(f"{name} {100 * v / n:.1f} %" for name, v in ranked if v)
        warning = (f"{k} of {n} waveforms ({100 * fraction:.1f} %) lie outside the range the step-2 model was trained "
                   f"on ({worst}); its count is an extrapolation there: check the data (noise, gain, polarity, "
                   "sampling) or train on a simulation that spans them (docs/MODELS.md)")
        log.warning("%s", warning)
    return {"outside": k, "fraction": fraction, "by_summary": by, "warning": warning}


@dataclass
class RunSummary:
    """What :func:`run_reco` did (also written as ``summary.json``).

    Attributes
    ----------
    outdir : pathlib.Path
        The published output directory.
    data : dict
        The summary content.
    """

    outdir: Path
    data: dict[str, Any]

    @property
    def counters(self) -> dict[str, int]:
        """Waveform and chunk counts."""
        return dict(self.data["counters"])

    @property
    def stats(self) -> dict[str, dict[str, float]]:
        """Count, mean and RMS of each per-waveform variable."""
        return dict(self.data["stats"])


def _unwrap(exc: BaseException) -> BaseException:
    """The CcrecoError inside coffea's or dask's wrapping, else ``exc``."""
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, CcrecoError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return exc


def validate_inputs(files: Sequence[str], mapping: SchemaMapping, reconstructor: Reconstructor,
                    on_error: str, entries: dict[str, dict[str, Any]] | None = None,
                    ) -> tuple[list[str], list[dict[str, Any]], float, int]:
    """Open every file, check its tree, branches, first entry and the models' fit — before any work.

    Parameters
    ----------
    files : sequence of str
        Input files.
    mapping : Mapping
        Schema.
    reconstructor : Reconstructor
        Models to check against the data.
    on_error : {"raise", "skip"}
        Bad files raise or are skipped (listed).
    entries : dict, optional
        Filled with file -> ``{"numentries": n, "uuid": file UUID}`` of every good file (the
        metadata coffea's runner would otherwise fetch by opening every file again).

    Returns
    -------
    good : list of str
        Files to process.
    skipped : list of dict
        Skip records of the bad files.
    sampling_ns : float
        Sampling period of the data.
    n_samples : int
        Waveform length.

    Raises
    ------
    CcrecoError
        A bad file (raise mode), no readable file at all, a model/data mismatch
        (:class:`~ccreco.errors.ModelError`, always), or files that differ in the MC truth they
        give (:func:`~ccreco.reco.core.truth_outputs`; ``reco.root`` has one set of branches).
    """
    from ccreco.io.reader import open_tree, plan_tree, read_chunk

    good: list[str] = []
    skipped: list[dict[str, Any]] = []
    sampling: float | None = None
    n_samples: int | None = None
    first_truth: tuple[str, ...] = ()
    for path in _counted(files, "Checking inputs", "file"):
        try:
            tree = open_tree(path, mapping)
            plan, problems = plan_tree(tree, path, mapping)
            if not problems:
                chunk, problems = read_chunk(plan, mapping, 0, 1, n_samples=n_samples,
                                             expected_sampling_ns=sampling)
            if problems:
                raise problems[0]
        except CcrecoError as exc:
            if on_error == "raise":
                raise
            log.warning("skipping file %s: %s", path, exc)
            skipped.append(skip_record(exc, path, getattr(exc, "tree", None), None, None))
            continue
        assert chunk is not None
        reconstructor.check(chunk.sampling_ns, chunk.n_samples, path)
        sampling, n_samples = chunk.sampling_ns, chunk.n_samples
        truth = truth_outputs(None if chunk.truth is None else chunk.truth.fields)
        if good and truth != first_truth:
            # reco.root holds one set of branches per run: refuse before any work, not at the merge
            raise ConfigError(f"inputs differ in MC truth: {good[0]} gives {', '.join(first_truth) or 'none'}, "
                              f"{path} gives {', '.join(truth) or 'none'} (of n_clusters_true, n_electrons_true); "
                              "reconstruct files with and without truth in separate runs")
        first_truth = truth
        good.append(path)
        if entries is not None:
            entries[path] = {"numentries": int(plan.num_entries), "uuid": getattr(tree.file, "fUUID", None)}
    if not good:
        raise ConfigError(f"no readable input among {len(files)} file(s): "
                          + "; ".join(f"{s['file']}: {s['reason']}" for s in skipped[:3]))
    assert sampling is not None and n_samples is not None
    return good, skipped, sampling, n_samples


def _run_level_record(reconstructor: Reconstructor, chunk: Any, files: Sequence[str]) -> dict[str, Any]:
    """The run-level correction of one file (or of pooled small files) from its waveforms."""
    model = reconstructor.run_level_model
    assert model is not None
    stats = reconstructor.run_statistics(chunk)
    _, why = model.run_level(stats, len(chunk))
    record = {"waveforms": len(chunk), "level": float(model.level(stats)[0]), "applied": not why,  # predicted
              "outside_training": model.outside(stats),
              "pooled_with": [str(f) for f in files] if len(files) > 1 else [],
              "statistics": {k: float(v) for k, v in zip(model.statistics, stats, strict=True)}}
    if why:
        record["reason"] = why
    return record


def file_run_levels(files: Sequence[str], mapping: SchemaMapping, reconstructor: Reconstructor,
                    entries: dict[str, dict[str, Any]], on_error: str = "raise") -> dict[str, dict[str, Any]]:
    """The run-level correction of every input file, from the statistics of its first waveforms.

    Each file is taken as one set-up: the statistics (:mod:`ccreco.models.runlevel`) of its
    first ``run_level_waveforms`` waveforms give the level its counts are divided by. Files
    with fewer waveforms than the correction's ``min_waveforms`` are pooled into one set-up; if
    even the pool is smaller, they stay uncorrected. A file whose statistics lie outside the
    range of the correction's training runs is not corrected (a linear fit extrapolates): the
    record says which statistics, and a warning names the file.

    Parameters
    ----------
    files : sequence of str
        Validated input files.
    mapping : Mapping
        Schema.
    reconstructor : Reconstructor
        With its ``run_level_model``.
    entries : dict
        File -> ``{"numentries": n, ...}`` (:func:`validate_inputs`).
    on_error : {"raise", "skip"}
        A file whose first waveforms cannot be read raises, or stays uncorrected (listed).

    Returns
    -------
    dict of str to dict
        File -> ``waveforms``, ``level`` (the predicted one, also where it is not applied),
        ``applied``, ``outside_training``, ``pooled_with``, ``statistics`` and, when not applied,
        ``reason``.
    """
    from ccreco.io.chunk import concatenate_chunks
    from ccreco.io.reader import open_tree, plan_tree, read_chunk

    model = reconstructor.run_level_model
    assert model is not None
    wanted = reconstructor.config.run_level_waveforms
    out: dict[str, dict[str, Any]] = {}
    small: list[tuple[str, Any]] = []
    for path in _counted(files, "Run statistics", "file"):
        n = min(wanted, int(entries[path]["numentries"]))
        tree = None
        try:
            tree = open_tree(path, mapping)
            plan, problems = plan_tree(tree, path, mapping)
            chunk = None
            if not problems:
                chunk, problems = read_chunk(plan, mapping, 0, n)
            if problems or chunk is None:
                raise problems[0]
        except CcrecoError as exc:
            if on_error == "raise":
                raise
            out[path] = {"waveforms": 0, "level": None, "applied": False, "outside_training": [],
                         "pooled_with": [], "reason": f"first {n} waveforms unreadable: {exc}"}
            continue
        finally:
            if tree is not None:
                tree.file.close()
        if n < model.min_waveforms:
            small.append((path, chunk))
        else:
            out[path] = _run_level_record(reconstructor, chunk, [path])
    if small:
        pooled = [p for p, _ in small]
        total = sum(len(c) for _, c in small)
        if total >= model.min_waveforms:
            record = _run_level_record(reconstructor, concatenate_chunks([c for _, c in small]), pooled)
            out.update({p: dict(record, waveforms=len(c)) for p, c in small})
        else:
            out.update({p: {"waveforms": len(c), "level": None, "applied": False, "outside_training": [],
                            "pooled_with": pooled, "reason": f"{total} waveforms in all, fewer than the "
                            f"{model.min_waveforms} a run-level correction needs (small files pooled)"}
                        for p, c in small})
    refused = {p: r for p, r in out.items() if not r["applied"]}
    for path, record in list(refused.items())[:5]:
        log.warning("%s is not corrected by the run-level correction %s: %s", path, model.path.name,
                    record["reason"])
    if len(refused) > 5:
        log.warning("%d more file(s) are not corrected by the run-level correction (summary.json run_level)",
                    len(refused) - 5)
    return out


#: Runs of at least this many input files show a progress bar while their inputs are checked
#: (about 10 ms per small file; thousands of files take a while).
CHECK_BAR_MIN_FILES: int = 10


def _counted(items: Sequence[str], desc: str, unit: str) -> Iterator[str]:
    """The items, with a progress bar from :data:`CHECK_BAR_MIN_FILES` items on."""
    from ccreco._progress import progress

    quiet = {"disable": True} if len(items) < CHECK_BAR_MIN_FILES else {}
    with progress(total=len(items), desc=desc, unit=unit, **quiet) as bar:
        for item in items:
            yield item
            bar.update(1)


@contextlib.contextmanager
def _coffea_bars(show: bool) -> Iterator[None]:
    """Silence coffea's rich progress bars when ``show`` is False.

    coffea 2026.9 passes its executors' ``status`` flag to rich's ``add_task``, which ignores
    it, so the bars print even with ``status=False``; a disabled ``Progress`` does not.
    """
    require("coffea", "batch reconstruction (ccreco reco, run_reco)")
    import coffea.processor.executor as executor_module

    if show:
        yield
        return
    original = executor_module.rich_bar

    def silent() -> Any:
        from rich.progress import Progress

        return Progress(disable=True)

    executor_module.rich_bar = silent
    try:
        yield
    finally:
        executor_module.rich_bar = original


def _probe(address: str) -> None:
    """Open and close a TCP connection to a ``tcp://host:port`` address (other schemes: no probe)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        return
    with socket.create_connection((parts.hostname, parts.port), timeout=SCHEDULER_TIMEOUT_S):
        pass


def _utf8_hash(items: Any) -> int:
    """coffea's ``_hash`` (md5 of the joined items) on UTF-8 bytes, the same for ASCII names."""
    import hashlib

    x = hashlib.md5(";".join(str(x) for x in items).encode("utf-8", "surrogateescape"))
    return int(x.hexdigest()[:16], base=16)


def _executor(name: str, workers: int, scheduler: str | None, status: bool) -> tuple[Any, Any]:
    """coffea executor + the dask client/cluster to close afterwards (or None)."""
    require("coffea", "batch reconstruction (ccreco reco, run_reco)")
    import coffea.processor.executor as executor_module
    from coffea import processor

    # coffea 2026.9 hashes file names as ASCII: a non-ASCII input path raised UnicodeEncodeError
    executor_module._hash = _utf8_hash

    if name == "iterative":
        # ccreco's errors are deterministic: retrying a bad block only repeats the error
        return processor.IterativeExecutor(status=status, desc="Reconstructing", unit="chunk", retries=0), None
    if name == "futures":
        return processor.FuturesExecutor(workers=workers, status=status, desc="Reconstructing", unit="chunk",
                                         retries=0), None
    require("distributed", "the dask executor")
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            _probe(scheduler)  # a refused connection fails at once, not after dask's timeout
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the dask scheduler {scheduler} within {SCHEDULER_TIMEOUT_S} s "
                              f"({type(exc).__name__}); check the address and that the scheduler runs") from exc
        closers: tuple[Any, ...] = (client,)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        client = Client(cluster)
        closers = (client, cluster)
    # dask reschedules the blocks of a worker that died (retries also covers transient failures)
    return processor.DaskExecutor(client=client, status=status, desc="Reconstructing", unit="chunk",
                                  retries=3), closers


def _known_metadata(file_meta: dict[str, dict[str, Any]], tree: str) -> dict[Any, dict[str, Any]] | None:
    """coffea's metadata cache filled from what :func:`validate_inputs` read: the runner then
    skips its own preprocessing pass, which opens every file once more (one task per file)."""
    try:
        from coffea.processor.executor import FileMeta
    except ImportError:  # a coffea without it: the runner fetches the metadata itself
        return None
    return {FileMeta("ccreco", path, tree): dict(meta) for path, meta in file_meta.items()
            if meta.get("uuid") is not None}


def auto_chunk_size(n_entries: int, workers: int) -> int:
    """Entries per block so that every worker has work, even on a single file.

    Aims at :data:`~ccreco.constants.BLOCKS_PER_WORKER` blocks per worker, within
    [:data:`~ccreco.constants.BLOCK_ENTRIES_MIN`, :data:`~ccreco.constants.BLOCK_ENTRIES_MAX`].

    Parameters
    ----------
    n_entries : int
        Entries in the whole run.
    workers : int
        Parallel workers (1 for the iterative executor: blocks of the maximum size).

    Returns
    -------
    int
        The block size.
    """
    from ccreco.constants import BLOCK_ENTRIES_MAX, BLOCK_ENTRIES_MIN, BLOCKS_PER_WORKER

    if workers <= 1:
        return BLOCK_ENTRIES_MAX
    per_block = -(-max(int(n_entries), 1) // (int(workers) * BLOCKS_PER_WORKER))
    return int(min(BLOCK_ENTRIES_MAX, max(BLOCK_ENTRIES_MIN, per_block)))


@dataclass(frozen=True)
class RunPlan:
    """A validated batch run, before anything is written (:func:`plan_run`).

    Attributes
    ----------
    paths : list of str
        Every input file, resolved.
    good : list of str
        Those that passed validation (to be processed).
    file_skips : list of dict
        Skip records of the bad files (``on_error="skip"``).
    outdir : str
        Requested output directory.
    config : RecoConfig
        Reconstruction configuration.
    mapping : ccreco.io.schema.Mapping
        The files' schema.
    reconstructor : Reconstructor
        This process's models (also used for provenance).
    sampling_ns : float
        Sampling period of the data.
    n_samples : int
        Samples per waveform.
    executor, workers, scheduler, chunk_size, on_error, overwrite
        As given to :func:`run_reco` (``chunk_size`` ``None``: :func:`auto_chunk_size`).
    n_entries : dict of str to dict
        File -> ``{"numentries": n, "uuid": file UUID}`` of every good file.
    checksums : dict
        File -> recorded block checksums (``ccreco.io.integrity``; files ccreco wrote).
    run_levels : dict of str to dict
        File -> its run-level correction (:func:`file_run_levels`; empty without one).
    """

    paths: list[str]
    good: list[str]
    file_skips: list[dict[str, Any]]
    outdir: str
    config: RecoConfig
    mapping: SchemaMapping
    reconstructor: Reconstructor
    sampling_ns: float
    n_samples: int
    executor: str
    workers: int
    scheduler: str | None
    chunk_size: int | None
    on_error: str
    overwrite: bool
    n_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    checksums: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    run_levels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def task(self, parts_dir: str | os.PathLike[str]) -> BlockTask:
        """The picklable per-block task of this plan, writing part files to ``parts_dir``."""
        levels = {p: float(r["level"]) for p, r in self.run_levels.items() if r["applied"]}
        return BlockTask(config=self.config, mapping=self.mapping, parts_dir=str(parts_dir), on_error=self.on_error,
                         file_index={p: i for i, p in enumerate(self.paths)}, sampling_ns=self.sampling_ns,
                         n_samples=self.n_samples, checksums=self.checksums, levels=levels)


@dataclass(frozen=True)
class Execution:
    """What :func:`execute` returns: the summed accumulator and coffea's metrics.

    Attributes
    ----------
    accumulator : RecoAccumulator
        All blocks, bad files' skip records first.
    metrics : dict
        coffea's run metrics.
    wall_s : float
        Wall time of the runner.
    chunk_size : int
        Entries per block used.
    checks : dict
        :func:`check_blocks`: ``data_checks`` and ``integrity``.
    """

    accumulator: RecoAccumulator
    metrics: dict[str, Any]
    wall_s: float
    chunk_size: int
    checks: dict[str, Any]


def plan_run(
    files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    *,
    config: RecoConfig | None = None,
    schema: str | SchemaMapping | os.PathLike[str] = "native",
    executor: str = "iterative",
    workers: int = 2,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    on_error: str = "raise",
    overwrite: bool = False,
) -> RunPlan:
    """Validate the options, the inputs' identity and the output directory; load the models.

    Nothing is read from the inputs (:func:`check_inputs` does that) and nothing is written.
    Parameters are those of :func:`run_reco`.

    Returns
    -------
    RunPlan
        The validated run, before its inputs are opened.

    Raises
    ------
    CcrecoError
        Bad options, duplicate inputs, an output that would overwrite an input, or an existing
        ``outdir`` without ``overwrite``.
    """
    from ccreco.io.reader import expand_files
    from ccreco.io.schema import resolve_schema

    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    if (chunk_size is not None and chunk_size < 1) or workers < 1:
        raise ConfigError(f"chunk_size and workers must be >= 1; got {chunk_size}, {workers}")
    if scheduler and executor != "dask":
        raise ConfigError("--scheduler needs --executor dask")
    check_outdir_name(outdir)
    config = RecoConfig() if config is None else config
    mapping = resolve_schema(schema)
    paths = [str(Path(p).resolve()) for p in expand_files(files)]
    if not paths:
        raise ConfigError("no input files")
    dupes = sorted({p for p in paths if paths.count(p) > 1})
    if dupes:
        raise ConfigError(f"input file(s) given more than once: {', '.join(dupes)}")
    for dup, first in duplicate_inputs(paths):
        raise ConfigError(f"input {dup} is the same file as {first} (a link or a byte-identical copy); "
                          "it would be counted twice")
    check_outputs([Output(str(outdir), "replace_dir")], paths)
    reconstructor = get_reconstructor(config)
    step2_inputs = set(getattr(reconstructor.cluster_model, "extra_inputs", ()))
    if "angle_deg" in step2_inputs:
        log.warning("the step-2 model %s takes the track angle: from the data's angle_deg branch where there is one, "
                    "else the configured angle_deg = %g deg for every waveform (--set angle_deg=...)",
                    Path(reconstructor.cluster_model.path).name, reconstructor.config.angle_deg)
    elif reconstructor.config.angle_deg != 0.0 and not step2_inputs & {"angle_deg", "track_length_cm"}:
        # the user said the angle, and nothing in the count uses it: say so, and what would
        log.warning("angle_deg = %g deg is set, but the step-2 model %s does not use the track angle (it sees a "
                    "track at an angle as a denser one, and its level moves with the angle: docs/MODELS.md, "
                    "'Response across cluster density'); the angle-aware per-peak model uses it: "
                    "--cluster-model perpeak_random_wide_angle", reconstructor.config.angle_deg,
                    Path(reconstructor.cluster_model.path).name)
    if reconstructor.step2_input_differences:
        from ccreco.models.inference import step1_hint

        log.warning("the step-2 model %s was trained on other step-1 inputs: %s; its count is not the one its "
                    "model card measured (docs/MODELS.md)%s", Path(reconstructor.cluster_model.path).name,
                    "; ".join(reconstructor.step2_input_differences),
                    step1_hint(reconstructor.step2_input_differences))
    if Path(outdir).exists() and not overwrite:
        raise ConfigError(f"output directory {Path(outdir).resolve()} exists; pass --overwrite to replace it")
    if overwrite:
        check_replaceable(outdir)
    return RunPlan(paths=paths, good=[], file_skips=[], outdir=str(outdir), config=config,
                   mapping=mapping, reconstructor=reconstructor, sampling_ns=SAMPLING_NS, n_samples=N_SAMPLES,
                   executor=executor, workers=workers, scheduler=scheduler, chunk_size=chunk_size,
                   on_error=on_error, overwrite=overwrite)


def check_inputs(plan: RunPlan) -> RunPlan:
    """Open every input file of a plan (tree, branches, first entry, the models' fit), read
    the block checksums of the files ccreco wrote and, with a run-level correction, each file's
    level (:func:`file_run_levels`); nothing is written.

    Parameters
    ----------
    plan : RunPlan
        From :func:`plan_run`.

    Returns
    -------
    RunPlan
        The plan with the good files, the skip records of the bad ones, the data's sampling and
        length, entries and checksums.

    Raises
    ------
    CcrecoError
        A bad file (raise mode), no readable file, or a model/data mismatch.
    """
    from ccreco.io.integrity import read_file_blocks

    n_entries: dict[str, dict[str, Any]] = {}
    good, file_skips, sampling, n_samples = validate_inputs(plan.paths, plan.mapping, plan.reconstructor,
                                                            plan.on_error, n_entries)
    checksums = {p: read_file_blocks(p) for p in good} if plan.mapping.name == "native" else {}
    levels = {} if plan.reconstructor.run_level_model is None else file_run_levels(
        good, plan.mapping, plan.reconstructor, n_entries, plan.on_error)
    return dataclasses.replace(plan, good=good, file_skips=file_skips, sampling_ns=sampling, n_samples=n_samples,
                               n_entries=n_entries, checksums={p: b for p, b in checksums.items() if b},
                               run_levels=levels)


def execute(plan: RunPlan, parts_dir: str | os.PathLike[str], *, status: bool | None = None,
            processor_factory: Any = None, progress: Any = None) -> Execution:
    """Run coffea's runner over the planned files; each block writes its part file to ``parts_dir``.

    Parameters
    ----------
    plan : RunPlan
        From :func:`plan_run`.
    parts_dir : path-like
        Staging directory for part files (a filesystem the workers share).
    status : bool, optional
        coffea's progress bars (default: on a terminal unless ``CCRECO_NO_PROGRESS`` is set).
    processor_factory : callable, optional
        ``BlockTask -> ProcessorABC``; default :class:`ccreco.processors.ClusterCountingProcessor`,
        with which runs of small files are read together (:func:`group_small_files`); another
        processor sees every file through coffea's runner, at least one block per file.
    progress : callable, optional
        Called with a one-line message at each stage (batch logs see where a run is).

    Returns
    -------
    Execution
        The summed accumulator (bad files' skip records included), metrics and wall time.
    """
    require("coffea", "batch reconstruction (ccreco reco, run_reco)")
    from coffea import processor
    from coffea.nanoevents import BaseSchema

    from ccreco._progress import progress_enabled
    from ccreco.reco.processor import ClusterCountingProcessor

    if processor_factory is None:
        processor_factory = ClusterCountingProcessor
    proc = processor_factory(plan.task(parts_dir))
    show = progress_enabled() if status is None else bool(status)
    say = progress or (lambda message: None)
    say(f"{len(plan.good)} file(s) checked; starting the {plan.executor} executor"
        + (f" ({plan.workers} workers)" if plan.executor != "iterative" and not plan.scheduler else ""))
    exe, closers = _executor(plan.executor, plan.workers, plan.scheduler, show)
    try:
        chunk_size = plan.chunk_size
        if chunk_size is None:
            n_workers = 1 if plan.executor == "iterative" else plan.workers
            if plan.executor == "dask" and plan.scheduler:
                n_workers = max(1, len(exe.client.scheduler_info().get("workers", {})))
            chunk_size = auto_chunk_size(sum(m["numentries"] for m in plan.n_entries.values()), n_workers)
        say(f"reconstructing in blocks of {int(chunk_size)} entries")
        # a custom processor sees every file through coffea's runner; ccreco's own reads runs of
        # small files as one block each (group_small_files)
        runner_files, groups = (group_small_files(plan.good, plan.n_entries, int(chunk_size))
                                if processor_factory is ClusterCountingProcessor else (list(plan.good), []))
        if groups:
            say(f"{sum(len(g.files) for g in groups)} small file(s) read together in {len(groups)} block(s)")
        runner = processor.Runner(exe, schema=BaseSchema, chunksize=int(chunk_size), savemetrics=True,
                                  metadata_cache=_known_metadata(plan.n_entries, plan.mapping.tree))
        fileset = {"ccreco": {"files": {p: plan.mapping.tree for p in runner_files}}}
        acc, metrics = empty_output(), {}
        t0 = time.perf_counter()
        try:
            with _coffea_bars(show):
                if runner_files:
                    acc, metrics = runner(fileset, proc, treename=plan.mapping.tree)
                if groups:  # coffea's executor runs them like its own work items (workers, retries)
                    # the runner left its pickled processor as the dask executor's heavy input
                    plain = {"heavy_input": None} if hasattr(exe, "heavy_input") else {}
                    grouped, _ = exe.copy(unit="block", **plain)(
                        groups, functools.partial(process_group, task=proc.task), empty_output())
                    acc = grouped if not isinstance(acc, RecoAccumulator) else acc + grouped
        except Exception as exc:
            inner = _unwrap(exc)
            if inner is not exc:
                raise inner from exc
            raise
        wall = time.perf_counter() - t0
    finally:
        for c in closers or ():
            try:
                c.close()
            except Exception:  # closing a cluster that is already down is not a failure
                pass
    total = empty_output() + acc if isinstance(acc, RecoAccumulator) else empty_output()
    verified = check_blocks(total, plan.checksums, plan.on_error)
    skipped = plan.file_skips + sorted(total.skipped, key=lambda s: (s["file"], s["entry_start"] or 0))
    return Execution(total.replace(skipped=skipped), dict(metrics), wall, int(chunk_size), verified)


def summary_data(plan: RunPlan, run: Execution, outputs: list[str], n_written: int, output_s: float
                 ) -> dict[str, Any]:
    """The content of ``summary.json``.

    Parameters
    ----------
    plan : RunPlan
        The run.
    run : Execution
        Its result.
    outputs : list of str
        Files written in ``OUTDIR`` (relative).
    n_written : int
        Entries in ``reco.root``.
    output_s : float
        Seconds spent writing the outputs.

    Returns
    -------
    dict
        JSON-ready summary (inputs, executor, counters, stats, skips, throughput, provenance).
    """
    acc, wall = run.accumulator, run.wall_s
    n_wf = acc.counters["waveforms_reconstructed"]
    return {
        "ccreco_version": __version__,
        "created_unix": time.time(),
        "host": platform.node(),
        "inputs": [{"file": p, "size_bytes": os.path.getsize(p)} for p in plan.paths],
        "schema": plan.mapping.name,
        "executor": {"name": plan.executor, "workers": 1 if plan.executor == "iterative" else plan.workers,
                     "scheduler": plan.scheduler, "chunk_size": run.chunk_size, "on_error": plan.on_error},
        "counters": dict(acc.counters),
        "reco_entries_written": n_written,
        "stats": {k: moments(v.as_dict()) for k, v in sorted(acc.sums.items())},
        "skipped": acc.skipped,
        "data_checks": run.checks["data_checks"],
        "integrity": run.checks["integrity"],
        "step2_training_range": run.checks.get("step2_training_range"),
        "run_level": run_level_summary(plan),
        "throughput": {
            "wall_s": wall,
            "waveforms_per_s": n_wf / wall if wall > 0 else None,
            "reco_wall_s": acc.reco_s,
            "reco_cpu_s": acc.reco_cpu_s,
            "waveforms_per_reco_s": n_wf / acc.reco_s if acc.reco_s > 0 else None,
            "coffea_metrics": {k: v for k, v in run.metrics.items()
                               if k in ("bytesread", "entries", "processtime", "chunks")},
            "output_s": output_s,
        },
        "provenance": plan.reconstructor.provenance(),
        "outputs": outputs,
    }


def run_level_summary(plan: RunPlan) -> dict[str, Any] | None:
    """The ``run_level`` section of ``summary.json`` (``None`` without a run-level correction).

    Parameters
    ----------
    plan : RunPlan
        The run, after :func:`check_inputs`.

    Returns
    -------
    dict or None
        ``model``, ``waveforms_per_file``, ``files_corrected``, ``files_not_corrected`` and
        ``files`` (one :func:`file_run_levels` record per file, with its path).
    """
    model = plan.reconstructor.run_level_model
    if model is None:
        return None
    records = [dict(r, file=p) for p, r in plan.run_levels.items()]
    applied = sum(1 for r in records if r["applied"])
    return {"model": str(model.path), "waveforms_per_file": plan.config.run_level_waveforms,
            "files_corrected": applied, "files_not_corrected": len(records) - applied, "files": records}


def root_provenance(plan: RunPlan) -> dict[str, Any]:
    """What ``reco.root`` and ``hists.root`` carry as their ``provenance`` TObjString (JSON).

    Parameters
    ----------
    plan : RunPlan
        The run.

    Returns
    -------
    dict
        ``ccreco_version``, ``inputs`` (the paths, in ``file_index`` order), ``schema``,
        the reconstructor's provenance (configuration, threshold, models with sha256) and, with a
        run-level correction, ``run_level``: each file's level (``None`` where not applied).
    """
    out = {"ccreco_version": __version__, "inputs": [str(p) for p in plan.paths], "schema": plan.mapping.name,
           **plan.reconstructor.provenance()}
    if plan.run_levels:  # what each file's count was divided by (None: left uncorrected)
        out["run_level"] = {p: (r["level"] if r["applied"] else None) for p, r in plan.run_levels.items()}
    return out


def per_file_summary(plan: RunPlan, per_file: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-input-file section of ``summary.json`` (entries and count/mean/RMS per branch).

    Parameters
    ----------
    plan : RunPlan
        The run (its ``paths`` define the ``file_index``).
    per_file : dict
        From :func:`ccreco.reco.output.merge_parts`.

    Returns
    -------
    list of dict
        One per input file, in ``file_index`` order: ``file_index``, ``file``, ``entries``, ``stats``.
    """
    out = []
    for i, path in enumerate(plan.paths):
        entry = per_file.get(i, {"entries": 0, "sums": {}})
        out.append({"file_index": i, "file": str(path), "entries": entry["entries"],
                    "stats": {k: moments(v) for k, v in sorted(entry["sums"].items())}})
    return out


def step2_division(plan: RunPlan) -> str:
    """What the run's step-2 counts were divided by, in words (empty: nothing).

    Parameters
    ----------
    plan : RunPlan
        The run.

    Returns
    -------
    str
        ``level 1.08`` (the configured ``step2_level``), ``run level 1.112`` or
        ``run level 0.981-1.112`` (each file's run-level correction, where applied), or ``""``.
    """
    level = plan.reconstructor.config.step2_level
    parts = [f"level {level:g}"] if level != 1.0 else []  # the level measured on a tuned simulation
    levels = [r["level"] for r in plan.run_levels.values() if r["applied"]]
    if levels:  # each file's run-level correction
        parts.append(f"run level {levels[0]:.3f}" if len(set(levels)) == 1
                     else f"run level {min(levels):.3f}-{max(levels):.3f}")
    return " / ".join(parts)


def publish_run(plan: RunPlan, run: Execution, stage: Path, *, plots: bool = True,
                progress: Any = None) -> RunSummary:
    """Write ``reco.root``, ``hists.root``, plots and ``summary.json`` into ``stage``; publish it.

    Parameters
    ----------
    plan : RunPlan
        The run.
    run : Execution
        Its result (part files in ``stage/parts``).
    stage : pathlib.Path
        The staging directory (:func:`ccreco.reco.output.staging_dir`).
    plots : bool
        Draw ``plots/``.
    progress : callable, optional
        Called with a one-line message at each stage.

    Returns
    -------
    RunSummary
        The published directory and the summary.
    """
    t1 = time.perf_counter()
    acc = run.accumulator
    say = progress or (lambda message: None)
    say(f"reconstruction done in {run.wall_s:.1f} s; writing reco.root and hists.root")
    provenance = root_provenance(plan)
    per_file: dict[int, dict[str, Any]] = {}
    parts = [(i, p) for i, _, p in sorted(acc.parts, key=lambda x: (x[0], x[1]))]
    n_written = merge_parts(parts, stage / "reco.root", provenance=provenance, per_file=per_file)
    shutil.rmtree(stage / PARTS_DIR, ignore_errors=True)
    hists = acc.hists or book(False)
    division = step2_division(plan)
    write_hists(hists, stage / "hists.root", provenance=provenance,
                step2_note=f"divided by {division}" if division else "")
    label = Path(plan.good[0]).name if len(plan.good) == 1 else ""
    if plots:
        say("drawing plots")
    model = Path(plan.reconstructor.cluster_model.path).stem  # the step-2 model, for the N_cl legend
    if division:
        model = f"{model} / {division}"
    plot_files = draw(hists, stage / "plots", label=label, model=model) if plots else []
    if plots and len(plan.run_levels) > 1:  # which file was divided by what
        plot_files += draw_run_levels([dict(r, file=p) for p, r in plan.run_levels.items()], stage / "plots",
                                      data="n_clusters_true" not in hists)
    outputs = ["hists.root", "reco.root", "summary.json"] + [str(Path(p).relative_to(stage)) for p in plot_files]
    data = summary_data(plan, run, outputs, n_written, output_s=0.0)
    data["files"] = per_file_summary(plan, per_file)
    data["throughput"]["output_s"] = time.perf_counter() - t1
    write_json(data, stage / "summary.json")
    return RunSummary(publish(stage, plan.outdir), data)


def run_reco(
    files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    *,
    config: RecoConfig | None = None,
    schema: str | SchemaMapping | os.PathLike[str] = "native",
    executor: str = "iterative",
    workers: int = 2,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    on_error: str = "raise",
    overwrite: bool = False,
    plots: bool = True,
    status: bool | None = None,
    processor_factory: Any = None,
    progress: Any = None,
) -> RunSummary:
    """Reconstruct files with coffea's runner and write ``OUTDIR`` (hists.root, reco.root, plots, summary).

    :func:`plan_run` -> (lock ``OUTDIR``) :func:`check_inputs` -> :func:`execute` ->
    :func:`publish_run`; on any failure the staging directory is removed and nothing is
    published.

    Parameters
    ----------
    files : path, glob or iterable of them
        Input ROOT files.
    outdir : path-like
        Output directory; published atomically at the end.
    config : RecoConfig, optional
        Models, working point, geometry.
    schema : str, Mapping or path
        ``ccreco.io`` schema preset, mapping TOML or :class:`~ccreco.io.schema.Mapping`.
    executor : {"iterative", "futures", "dask"}
        coffea executor.
    workers : int
        Processes for ``futures`` and the embedded dask ``LocalCluster``.
    scheduler : str, optional
        Address of an existing dask scheduler (``dask`` only; the output directory must be on a
        filesystem the workers share).
    chunk_size : int, optional
        Entries per block; default :func:`auto_chunk_size` of the run's entries and the workers
        (a dask cluster's actual worker count).
    on_error : {"raise", "skip"}
        Stop at the first bad file or block, or skip and list it in ``summary.json``.
    overwrite : bool
        Replace an existing ``outdir``.
    plots : bool
        Draw ``plots/``.
    status : bool, optional
        coffea's progress bars (default: on a terminal unless ``CCRECO_NO_PROGRESS`` is set).
    progress : callable, optional
        Called with a one-line message at each stage (cluster start, run, outputs, plots), so
        that batch logs show where a run is (``ccreco reco`` prints them on stderr).
    processor_factory : callable, optional
        ``BlockTask -> ProcessorABC``; default :class:`ccreco.processors.ClusterCountingProcessor`,
        with which runs of small files are read together (:func:`group_small_files`); another
        processor sees every file through coffea's runner, at least one block per file.

    Returns
    -------
    RunSummary
        Output directory and the summary.

    Raises
    ------
    CcrecoError
        Bad input in raise mode, model/data mismatch (before any work), bad options.
    """
    plan = plan_run(files, outdir, config=config, schema=schema, executor=executor, workers=workers,
                    scheduler=scheduler, chunk_size=chunk_size, on_error=on_error, overwrite=overwrite)
    lock = OutputLock(outdir).acquire()  # held until the end: a second run on OUTDIR is refused
    try:
        clean_stale(outdir)
        plan = check_inputs(plan)
        stage = staging_dir(outdir, overwrite)
        try:
            run = execute(plan, stage / PARTS_DIR, status=status, processor_factory=processor_factory,
                          progress=progress)
            release_frozen()  # the iterative executor ran the blocks in this process
            return publish_run(plan, run, stage, plots=plots, progress=progress)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    finally:
        lock.release()


__all__ = ["EXECUTORS", "SMALL_FILE_FRACTION", "SUMMARY_VARIABLES", "BlockTask", "Execution", "FileGroup", "RunPlan",
           "RunSummary", "auto_chunk_size", "block_checks", "check_blocks", "check_inputs", "empty_output", "execute",
           "get_reconstructor", "group_small_files", "plan_run", "per_file_summary", "process_block", "process_events",
           "process_group", "publish_run", "root_provenance", "run_level_summary", "run_reco", "file_run_levels",
           "skip_record", "step2_division", "summary_data", "unreadable_block", "validate_inputs"]
