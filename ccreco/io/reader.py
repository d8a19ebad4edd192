"""Validated, chunked reading of waveform ntuples into :class:`~ccreco.io.chunk.WaveformChunk`.

Files in any schema (native, a preset, or a TOML mapping) come out in one in-memory form.
Reading goes chunk by chunk (``step_size`` entries, aligned to basket boundaries), so a
million waveforms never have to fit in memory. Every chunk is checked once, with numpy
vectorized checks (:mod:`ccreco.io.validate`); bad input raises an error naming the file,
tree, branch and first bad entry, or with ``on_error="skip"`` is skipped and reported.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Mapping as _MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ccreco.constants import STEP_SIZE
from ccreco.errors import (
    CcrecoError,
    ConfigError,
    EmptyTreeError,
    InputFileError,
    MissingBranchError,
    MissingTreeError,
    TruthInconsistencyError,
    WaveformLengthError,
    closest_first,
)
from ccreco.io.chunk import ChunkSource, WaveformChunk
from ccreco.io.expr import Expression
from ccreco.io.schema import TRUTH_FIELDS, TRUTH_JAGGED, Mapping, resolve_schema
from ccreco.io.validate import (
    Where,
    check_finite,
    check_sampling,
    check_truth,
    regularize,
    sanity_counts,
    sanity_messages,
)

log = logging.getLogger(__name__)

#: Values of ``on_error``.
ON_ERROR: tuple[str, ...] = ("raise", "skip")
#: ROOT classes read as trees of entries: TTrees and RNTuples (read through uproot alike).
TREE_CLASSES: tuple[str, ...] = ("TTree", "TNtuple", "TNtupleD", "ROOT::RNTuple")
#: Name of the TObjString that marks a file written by ccreco (:class:`ccreco.io.NtupleWriter`).
META_KEY = "ccreco_meta"


@dataclass(frozen=True)
class SkipRecord:
    """A file or chunk skipped by ``on_error="skip"``, and why.

    Attributes
    ----------
    file : str
        The file.
    tree : str or None
        The tree (``None`` when the file could not be opened).
    entry_start, entry_stop : int or None
        The skipped entry range; ``None`` when the whole file was skipped.
    reason : str
        The error message.
    error : CcrecoError
        The error itself.
    """

    file: str
    tree: str | None
    entry_start: int | None
    entry_stop: int | None
    reason: str
    error: CcrecoError


@dataclass
class TreePlan:
    """The branches to read from one tree and what each one becomes."""

    file: str
    tree_name: str
    tree: Any
    num_entries: int
    branches: list[str]
    waveforms: tuple[str, ...]
    sampling: str | None
    meta: dict[str, str] = field(default_factory=dict)  # run/event/channel -> branch
    truth: dict[str, str] = field(default_factory=dict)  # truth field -> branch
    cand_time: str | None = None
    cand_tag: str | None = None
    derived: dict[str, Expression] = field(default_factory=dict)  # truth field -> expression
    auto: tuple[str, ...] = ()  # truth fields taken by auto_truth (same-named branches)
    missing_truth: dict[str, str] = field(default_factory=dict)  # mapped field -> absent branch(es)
    written_by_ccreco: bool = False  # the file carries ccreco's metadata object


def expand_files(files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    """Turn a path, a glob pattern or an iterable of them into a list of paths.

    Parameters
    ----------
    files : str, os.PathLike or iterable
        Files or glob patterns (``"runs/*.root"``).

    Returns
    -------
    list of str
        Paths in the order given, patterns expanded and sorted.
    """
    items = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    out: list[str] = []
    for item in items:
        name = os.fspath(item)
        if any(c in name for c in "*?[") and not Path(name).exists():
            matches = sorted(glob.glob(name))
            if not matches:
                raise InputFileError(f"no file matches the pattern {name!r}", file=name)
            out.extend(matches)
        else:
            out.append(name)
    return out


def open_tree(path: str, mapping: Mapping) -> Any:
    """Open ``path`` and return the mapping's tree, with clear errors.

    Parameters
    ----------
    path : str
        ROOT file.
    mapping : Mapping
        Gives the tree name.

    Returns
    -------
    uproot.TTree or uproot RNTuple
        The tree (the file stays open as long as the tree is referenced). An RNTuple (what
        ROOT 6.34+ writes by default) is read through uproot like a TTree.

    Raises
    ------
    InputFileError
        File missing, not ROOT, truncated or corrupt.
    MissingTreeError
        No such tree (lists the trees present).
    EmptyTreeError
        The tree has no entries.
    """
    if not Path(path).is_file():
        raise InputFileError("no such file", file=path)
    try:
        rfile = uproot.open(path)
    except Exception as exc:  # uproot raises ValueError/OSError/struct.error/... on bad bytes
        raise InputFileError(f"not a readable ROOT file (truncated or corrupt?): {exc}", file=path) from exc
    size = Path(path).stat().st_size
    end = int(getattr(rfile.file, "fEND", 0) or 0)
    if end and size < end:
        raise InputFileError(f"file is truncated: {size} bytes, its header says {end}", file=path)
    try:
        classes = rfile.classnames(recursive=True)
    except Exception as exc:
        raise InputFileError(f"cannot list the file's keys (truncated or corrupt?): {exc}", file=path) from exc
    trees = sorted({k.split(";")[0] for k, v in classes.items() if v in TREE_CLASSES})
    if mapping.tree not in trees:
        hint = ", ".join(closest_first(mapping.tree, trees)) or "none"
        other = [v for k, v in classes.items() if k.split(";")[0] == mapping.tree]
        if other:
            hint += f" ({mapping.tree!r} is a {other[0]}, not a TTree or RNTuple)"
        raise MissingTreeError(f"no tree {mapping.tree!r} (schema {mapping.name!r}); trees present: {hint}",
                               file=path, tree=mapping.tree)
    try:
        tree = rfile[mapping.tree]
        n = int(tree.num_entries)
    except Exception as exc:
        raise InputFileError(f"cannot read the tree header (truncated or corrupt?): {exc}",
                             file=path, tree=mapping.tree) from exc
    if n == 0:
        raise EmptyTreeError("the tree has no entries", file=path, tree=mapping.tree)
    return tree


def plan_tree(tree: Any, path: str, mapping: Mapping) -> tuple[TreePlan, list[CcrecoError]]:
    """Decide which branches to read; report every missing required branch.

    Parameters
    ----------
    tree : uproot.TTree or RNTuple
        The open tree.
    path : str
        File path, for messages.
    mapping : Mapping
        The schema.

    Returns
    -------
    plan : TreePlan
        What to read (usable only when ``problems`` is empty).
    problems : list of CcrecoError
        One :class:`MissingBranchError` per missing required branch.
    """
    plan, problems = plan_columns(list(tree.keys(recursive=False)), int(tree.num_entries), path, mapping,
                                  tree=tree)
    plan.written_by_ccreco = written_by_ccreco(tree)
    return plan, problems


def written_by_ccreco(tree: Any) -> bool:
    """True when the tree's file holds ccreco's metadata object (a file ccreco wrote).

    Parameters
    ----------
    tree : uproot.TTree or RNTuple
        An open tree.

    Returns
    -------
    bool
        Whether ``ccreco_meta`` is a key of the file's top directory.
    """
    try:
        return any(k.split(";")[0] == META_KEY for k in tree.file.root_directory.keys(recursive=False))
    except Exception:  # only used to decide whether to warn about conventions
        return False


def plan_columns(
    present: list[str], num_entries: int, path: str, mapping: Mapping, *, tree: Any = None,
) -> tuple[TreePlan, list[CcrecoError]]:
    """:func:`plan_tree` for a list of column names (e.g. the fields of coffea's events).

    Parameters
    ----------
    present : list of str
        Branch (column) names the tree has.
    num_entries : int
        Entries of the tree.
    path : str
        File path, for messages.
    mapping : Mapping
        The schema.
    tree : uproot.TTree, optional
        The tree, when it is open (needed by :func:`read_chunk` and :func:`entry_ranges`).

    Returns
    -------
    plan : TreePlan
        What to read (usable only when ``problems`` is empty).
    problems : list of CcrecoError
        One :class:`MissingBranchError` per missing required branch.
    """
    have = set(present)
    required = list(mapping.waveforms) + ([mapping.sampling_branch] if mapping.sampling_branch else [])
    problems: list[CcrecoError] = []
    for name in required:
        if name not in have:
            near = ", ".join(closest_first(name, present)[:8])
            problems.append(MissingBranchError(
                f"missing branch (schema {mapping.name!r}); branches present, closest first: {near}",
                file=path, tree=mapping.tree, branch=name,
            ))
    meta = {k: b for k, b in (("run", mapping.run), ("event", mapping.event),
                              ("channel", mapping.channel_branch)) if b and b in have}
    truth = {f: b for f, b in mapping.truth.items() if b in have}
    missing = {f: b for f, b in mapping.truth.items() if b not in have}
    derived: dict[str, Expression] = {}
    for name, expr in mapping.expressions().items():
        absent = [b for b in expr.names if b not in have]
        if absent:
            missing[name] = ", ".join(absent)
        else:
            derived[name] = expr
    auto: tuple[str, ...] = ()
    if mapping.auto_truth:
        auto = tuple(f for f in TRUTH_FIELDS if f in have and f not in truth and f not in mapping.derived)
        truth.update({f: f for f in auto})
    cand_time = mapping.cand_time if mapping.cand_time in have else None
    cand_tag = mapping.cand_tag if mapping.cand_tag in have and cand_time else None
    branches = required + list(meta.values()) + list(truth.values())
    branches += [b for e in derived.values() for b in e.names]
    branches += [b for b in (cand_time, cand_tag) if b]
    plan = TreePlan(
        file=path, tree_name=mapping.tree, tree=tree, num_entries=int(num_entries),
        branches=list(dict.fromkeys(b for b in branches if b in have)),
        waveforms=mapping.waveforms, sampling=mapping.sampling_branch, meta=meta, truth=truth,
        cand_time=cand_time, cand_tag=cand_tag, derived=derived, auto=auto, missing_truth=missing,
    )
    return plan, problems


def entry_ranges(plan: TreePlan, step_size: int) -> list[tuple[int, int]]:
    """Entry ranges of about ``step_size`` entries, aligned to common basket boundaries.

    Parameters
    ----------
    plan : TreePlan
        The tree and branches.
    step_size : int
        Wanted entries per chunk.

    Returns
    -------
    list of (int, int)
        ``[start, stop)`` ranges covering the tree.
    """
    n = plan.num_entries
    try:
        names = set(plan.branches)
        if hasattr(plan.tree, "cluster_summaries"):  # RNTuple: clusters hold every field
            offsets = sorted({int(c.num_first_entry) for c in plan.tree.cluster_summaries} | {n})
        else:
            offsets = [int(o) for o in plan.tree.common_entry_offsets(filter_name=lambda b: b in names)]
    except Exception:  # alignment is an optimization only
        offsets = [0, n]
    if len(offsets) < 2 or offsets[-1] != n:
        offsets = [0, n]
    ranges: list[tuple[int, int]] = []
    start = 0
    for stop in offsets[1:]:
        if stop - start >= step_size:
            # a basket larger than step_size is split into even steps
            while stop - start >= 2 * step_size:
                ranges.append((start, start + step_size))
                start += step_size
            ranges.append((start, stop))
            start = stop
    if start < n:
        ranges.append((start, n))
    return ranges


def _labels(tags: ak.Array, mapping: Mapping, where: Where, branch: str) -> tuple[ak.Array, list[CcrecoError]]:
    """Tags -> 1 (signal) / 0 (noise) by the mapping's tag convention."""
    flat = np.asarray(ak.flatten(tags, axis=1))
    is_sig = np.isin(flat, mapping.signal_tags)
    unknown = ~(is_sig | np.isin(flat, mapping.noise_tags))
    problems: list[CcrecoError] = []
    if unknown.any():
        rows = np.repeat(np.arange(len(tags)), np.asarray(ak.num(tags, axis=1)))
        problems.append(TruthInconsistencyError(
            f"tag value {flat[unknown][0]} is neither signal {list(mapping.signal_tags)} nor noise "
            f"{list(mapping.noise_tags)} ({int(unknown.sum())} candidates; check the tag convention)",
            file=where.file, tree=where.tree, branch=branch, entry=where.entry(rows[unknown][0]),
        ))
    return ak.unflatten(is_sig.astype(np.int8), ak.num(tags, axis=1)), problems


def apply_conventions(fields: dict[str, Any], mapping: Mapping) -> dict[str, Any]:
    """Convert renamed or auto-imported truth fields to ccreco's conventions.

    Parameters
    ----------
    fields : dict of str to array
        Truth field -> values as stored in the file.
    mapping : Mapping
        Gives ``angle_convention``, ``gain_convention`` and ``gain_mean``.

    Returns
    -------
    dict of str to array
        The same fields; ``angle_deg`` stored "to_wire" becomes ``90 - angle`` (angle to the
        normal), a "relative" ``electron_gain`` is multiplied by ``gain_mean``.
    """
    out = dict(fields)
    if mapping.angle_convention == "to_wire" and "angle_deg" in out:
        out["angle_deg"] = 90.0 - out["angle_deg"]
    if mapping.gain_convention == "relative" and "electron_gain" in out:
        out["electron_gain"] = out["electron_gain"] * float(mapping.gain_mean or 1.0)
    return out


#: Median avalanche size below which an absolute ``electron_gain`` looks like a relative one.
RELATIVE_GAIN_BELOW = 100.0


def convention_warnings(truth: ak.Array | None, plan: TreePlan) -> list[str]:
    """Known convention clashes visible in the (converted) truth of a chunk.

    Checks: ``angle_deg`` of 89 degrees or more (ccreco measures the angle to the normal,
    0 = perpendicular track; such values look like an angle to the wire); ``electron_gain``
    with a median below :data:`RELATIVE_GAIN_BELOW` (ccreco stores avalanche sizes, about
    1e5; this looks relative); ``electron_peak_ns`` equal to ``electron_time_ns`` (arrival
    times stored as peak times: the pulse's peak delay is missing).

    Parameters
    ----------
    truth : awkward.Array or None
        The chunk's truth, after renames, conventions and derived fields.
    plan : TreePlan
        Says which fields came from where (for the message).

    Returns
    -------
    list of str
        One message per suspected clash (empty when none); each names the file and a fix.
    """
    if truth is None:
        return []
    fields = set(truth.fields)
    out: list[str] = []

    def origin(name: str) -> str:
        if name in plan.derived:
            return f"derived {plan.derived[name].text!r}"
        branch = plan.truth.get(name, name)
        return f"branch {branch!r}" + (" (auto_truth)" if name in plan.auto else "")

    if "angle_deg" in fields and truth["angle_deg"].ndim == 1 and len(truth):
        angle = np.asarray(truth["angle_deg"], dtype=np.float64)
        if np.nanmax(np.abs(angle)) >= 89.0:
            out.append(f"{plan.file}: angle_deg from {origin('angle_deg')} reaches {np.nanmax(angle):g} degrees; "
                       "ccreco measures the angle to the normal (0 = perpendicular track). If the file "
                       "measures it to the wire, set [conventions] angle_deg = \"to_wire\" in the mapping")
    if "electron_gain" in fields and truth["electron_gain"].ndim == 2:
        gain = np.asarray(ak.flatten(truth["electron_gain"], axis=1), dtype=np.float64)
        if gain.size and np.nanmedian(gain) < RELATIVE_GAIN_BELOW:
            out.append(f"{plan.file}: electron_gain from {origin('electron_gain')} has median "
                       f"{np.nanmedian(gain):.3g}; ccreco stores the avalanche size (about 1e5). If the file "
                       "stores gain / mean gain, set [conventions] electron_gain = \"relative\" and gain_mean")
    if {"electron_peak_ns", "electron_time_ns"} <= fields and truth["electron_peak_ns"].ndim == 2:
        peak = np.asarray(ak.flatten(truth["electron_peak_ns"], axis=1), dtype=np.float64)
        arrival = np.asarray(ak.flatten(truth["electron_time_ns"], axis=1), dtype=np.float64)
        if peak.size and peak.size == arrival.size and np.allclose(peak, arrival):
            out.append(f"{plan.file}: electron_peak_ns from {origin('electron_peak_ns')} equals electron_time_ns; "
                       "ccreco's peak time is the arrival time plus the pulse's peak delay. Derive it in the "
                       "mapping, e.g. [truth] electron_peak_ns = \"electron_time_ns + 2.4\" (your delay)")
    return out


def describe_truth(plan: TreePlan) -> list[str]:
    """One line per way a truth field was obtained (for logs and ``ccreco inspect``).

    Parameters
    ----------
    plan : TreePlan
        A planned tree.

    Returns
    -------
    list of str
        Lines naming the auto-imported fields, the derived fields and mapped fields whose
        branches are absent.
    """
    lines: list[str] = []
    if plan.auto:
        where = "" if plan.written_by_ccreco else " (not a ccreco file: check their conventions, docs/SCHEMA.md)"
        lines.append(f"auto_truth imported {len(plan.auto)} same-named branches: {', '.join(plan.auto)}{where}")
    for name, expr in plan.derived.items():
        lines.append(f"derived {name} = {expr.text}")
    for name, branch in plan.missing_truth.items():
        lines.append(f"mapped truth field {name} not read: branch {branch} absent")
    return lines


def _amplitude(block: np.ndarray, mapping: Mapping) -> np.ndarray:
    """Raw samples -> float32 mV with positive pulses, contiguous."""
    if mapping.identity_amplitude:
        return np.ascontiguousarray(block, dtype=np.float32)
    out = np.array(block, dtype=np.float32, order="C")  # always a fresh copy: modified in place
    if mapping.offset:
        out -= np.float32(mapping.offset)
    factor = np.float32(mapping.polarity * mapping.scale)
    if factor != 1:
        out *= factor
    return out


def read_chunk(
    plan: TreePlan,
    mapping: Mapping,
    start: int,
    stop: int,
    *,
    n_samples: int | None = None,
    expected_sampling_ns: float | None = None,
) -> tuple[WaveformChunk | None, list[CcrecoError]]:
    """Read and check entries ``[start, stop)`` of a planned tree.

    Parameters
    ----------
    plan : TreePlan
        Tree and branches (from :func:`plan_tree`).
    mapping : Mapping
        The schema.
    start, stop : int
        Entry range.
    n_samples : int, optional
        Required waveform length (default: the mapping's, else the first entry's).
    expected_sampling_ns : float, optional
        Required sampling period.

    Returns
    -------
    chunk : WaveformChunk or None
        The chunk, ``None`` when a problem prevents building it.
    problems : list of CcrecoError
        Every problem found in the chunk (all checks run even after the first fails).
    """
    try:
        names = set(plan.branches)
        arrays = plan.tree.arrays(filter_name=lambda b: b in names, entry_start=start,
                                  entry_stop=stop, how=dict)
    except Exception as exc:  # decompression or deserialization failure: corrupt baskets
        return None, [InputFileError(
            f"cannot read entries [{start}, {stop}) of branches {sorted(names)} "
            f"(truncated or corrupt?): {type(exc).__name__}: {exc}",
            file=plan.file, tree=plan.tree_name, entry=start,
        )]
    return chunk_from_arrays(arrays, plan, mapping, start, stop, n_samples=n_samples,
                             expected_sampling_ns=expected_sampling_ns)


def chunk_from_arrays(
    arrays: _MappingABC[str, Any],
    plan: TreePlan,
    mapping: Mapping,
    start: int,
    stop: int,
    *,
    n_samples: int | None = None,
    expected_sampling_ns: float | None = None,
) -> tuple[WaveformChunk | None, list[CcrecoError]]:
    """Check and convert already read branch arrays into a chunk (the checks of :func:`read_chunk`).

    Used by :func:`read_chunk` and by the coffea processor, whose events already hold the
    columns.

    Parameters
    ----------
    arrays : mapping of str to array
        Branch name -> array of entries ``[start, stop)`` for every branch of ``plan.branches``.
    plan : TreePlan
        Tree and branches.
    mapping : Mapping
        The schema.
    start, stop : int
        Entry range (for messages and provenance).
    n_samples : int, optional
        Required waveform length.
    expected_sampling_ns : float, optional
        Required sampling period.

    Returns
    -------
    chunk : WaveformChunk or None
        The chunk, ``None`` when a problem prevents building it.
    problems : list of CcrecoError
        Every problem found.
    """
    n = stop - start
    n_ch = len(plan.waveforms)
    where = Where(plan.file, plan.tree_name, start, n_ch)
    entry_where = Where(plan.file, plan.tree_name, start, 1)
    problems: list[CcrecoError] = []
    want = n_samples if n_samples is not None else mapping.n_samples
    blocks = []
    for branch in plan.waveforms:
        block, probs = regularize(arrays[branch], want, entry_where, branch)
        problems += probs
        if block is not None:
            want = block.shape[1]
            blocks.append(block)
    waveforms = None
    if len(blocks) == n_ch:
        block = blocks[0] if n_ch == 1 else np.stack(blocks, axis=1).reshape(n * n_ch, -1)
        waveforms = _amplitude(block, mapping)
        problems += check_finite(waveforms, where, plan.waveforms)
    if plan.sampling is not None:
        period = mapping.to_period_ns(np.asarray(arrays[plan.sampling], dtype=np.float64))
    else:
        period = np.full(1, mapping.to_period_ns(float(mapping.sampling_value or 0.0)))
    sampling_ns, probs = check_sampling(period, expected_sampling_ns, entry_where, plan.sampling)
    problems += probs

    rows = np.repeat(np.arange(n), n_ch) if n_ch > 1 else None
    meta = {
        "run": np.asarray(arrays[plan.meta["run"]], dtype=np.int64) if "run" in plan.meta
        else np.zeros(n, dtype=np.int64),
        "event": np.asarray(arrays[plan.meta["event"]], dtype=np.int64) if "event" in plan.meta
        else np.arange(start, stop, dtype=np.int64),
    }
    if rows is not None:
        meta = {k: v[rows] for k, v in meta.items()}
        meta["channel"] = np.tile(np.asarray(mapping.channels, dtype=np.int32), n)
    elif "channel" in plan.meta:
        meta["channel"] = np.asarray(arrays[plan.meta["channel"]], dtype=np.int32)
    else:
        meta["channel"] = np.full(n, (mapping.channels or (0,))[0], dtype=np.int32)

    truth_fields: dict[str, ak.Array] = {f: arrays[b] for f, b in plan.truth.items()}
    truth_fields = apply_conventions(truth_fields, mapping)
    for name, expr in plan.derived.items():
        try:
            value = ak.Array(expr.evaluate(arrays))
        except ConfigError as exc:
            problems.append(TruthInconsistencyError(
                f"derived truth field {name!r} = {expr.text!r}: {exc.message}",
                file=plan.file, tree=plan.tree_name, branch=", ".join(expr.names), entry=start))
            continue
        want_ndim = 2 if name in TRUTH_JAGGED else 1
        if value.ndim != want_ndim or len(value) != n:
            kind = "one list per entry" if want_ndim == 2 else "one value per entry"
            problems.append(TruthInconsistencyError(
                f"derived truth field {name!r} = {expr.text!r} gives {value.type}; {name} needs {kind}",
                file=plan.file, tree=plan.tree_name, branch=", ".join(expr.names), entry=start))
            continue
        truth_fields[name] = value
    if plan.cand_time is not None:
        times = ak.values_astype(arrays[plan.cand_time], np.float64)
        if mapping.cand_time_unit == "sample":
            times = times * (sampling_ns if sampling_ns is not None else float(period[0]))
        truth_fields["cand_time_ns"] = times
        if plan.cand_tag is not None:
            labels, probs = _labels(arrays[plan.cand_tag], mapping, entry_where, plan.cand_tag)
            truth_fields["cand_label"] = labels
            problems += probs
    truth = ak.zip(truth_fields, depth_limit=1) if truth_fields else None
    if truth is not None:
        problems += check_truth(truth, entry_where)
        if rows is not None:
            truth = truth[rows]
    if waveforms is None or sampling_ns is None or problems:
        return None, problems
    chunk = WaveformChunk(
        waveforms=waveforms,
        sampling_ns=sampling_ns,
        meta=ak.zip(meta),
        truth=truth,
        source=ChunkSource(plan.file, plan.tree_name, start, stop),
    )
    return chunk, []


class ChunkIterator:
    """Iterable over the chunks of several files; collects what ``on_error="skip"`` skipped.

    Created by :func:`iterate`; iterate over it once. ``skipped`` lists a
    :class:`SkipRecord` for every file or chunk that was skipped.
    """

    def __init__(
        self,
        files: list[str],
        mapping: Mapping,
        *,
        step_size: int,
        expected_sampling_ns: float | None,
        on_error: str,
        report: Callable[[SkipRecord], None] | None,
    ) -> None:
        self.files = files
        self.mapping = mapping
        self.step_size = step_size
        self.expected_sampling_ns = expected_sampling_ns
        self.on_error = on_error
        self.report = report
        self.skipped: list[SkipRecord] = []
        self.n_samples: int | None = mapping.n_samples

    def _skip(self, error: CcrecoError, file: str, tree: str | None, start: int | None, stop: int | None) -> None:
        if self.on_error == "raise":
            raise error
        record = SkipRecord(file, tree, start, stop, str(error), error)
        what = "file" if start is None else f"entries [{start}, {stop}) of"
        log.warning("skipping %s %s: %s", what, file, error)
        self.skipped.append(record)
        if self.report is not None:
            self.report(record)

    def __iter__(self) -> Iterator[WaveformChunk]:
        for path in self.files:
            try:
                tree = open_tree(path, self.mapping)
                plan, problems = plan_tree(tree, path, self.mapping)
                if problems:
                    raise problems[0]
            except CcrecoError as exc:
                self._skip(exc, path, getattr(exc, "tree", None), None, None)
                continue
            for line in describe_truth(plan):
                # a foreign file's same-named branches may follow other conventions: say so
                loud = line.startswith("auto_truth") and not plan.written_by_ccreco
                log.log(logging.WARNING if loud else logging.INFO, "%s: %s", path, line)
            checked = plan.written_by_ccreco
            sane_checked = False
            for start, stop in entry_ranges(plan, self.step_size):
                chunk, problems = read_chunk(
                    plan, self.mapping, start, stop,
                    n_samples=self.n_samples, expected_sampling_ns=self.expected_sampling_ns,
                )
                if problems or chunk is None:
                    self._skip(problems[0], path, plan.tree_name, start, stop)
                    continue
                if not checked:  # the first good chunk of a foreign file
                    checked = True
                    for message in convention_warnings(chunk.truth, plan):
                        log.warning("%s", message)
                if not sane_checked:  # data checks on the first good chunk: warned once per file
                    sane_checked = True
                    found, notes = sanity_messages(sanity_counts(chunk.waveforms, chunk.sampling_ns))
                    for message in found + notes:
                        log.warning("%s (first %d entries): %s", path, len(chunk), message)
                # the first good chunk fixes length and sampling for everything after it
                self.n_samples = chunk.n_samples
                if self.expected_sampling_ns is None:
                    self.expected_sampling_ns = chunk.sampling_ns
                yield chunk


def iterate(
    files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    schema: str | Mapping | os.PathLike[str] = "native",
    step_size: int = STEP_SIZE,
    expected_sampling_ns: float | None = None,
    on_error: str = "raise",
    report: Callable[[SkipRecord], None] | None = None,
) -> ChunkIterator:
    """Iterate over validated chunks of waveforms from one or many files.

    Parameters
    ----------
    files : str, os.PathLike or iterable of them
        ROOT files or glob patterns.
    schema : str, os.PathLike or Mapping
        Preset name (``"native"``, ``"cepc"``, ``"cepc-old"``), a ``.toml`` mapping file or a
        :class:`~ccreco.io.schema.Mapping`.
    step_size : int
        Entries per chunk (aligned to basket boundaries; default ``constants.STEP_SIZE``).
    expected_sampling_ns : float, optional
        Required sampling period. Without it the first chunk's period is required of all
        later chunks (and files).
    on_error : {"raise", "skip"}
        ``"raise"`` stops at the first bad file or chunk; ``"skip"`` skips it, logs a warning,
        calls ``report`` and appends a :class:`SkipRecord` to the iterator's ``skipped``.
    report : callable, optional
        Called with each :class:`SkipRecord` in skip mode.

    Returns
    -------
    ChunkIterator
        Iterable of :class:`~ccreco.io.chunk.WaveformChunk`, with a ``skipped`` list.

    Raises
    ------
    CcrecoError
        In raise mode, the first problem (file, tree, branch and first bad entry named).

    Examples
    --------
    >>> for chunk in iterate("runs/*.root", schema="cepc"):  # doctest: +SKIP
    ...     process(chunk.waveforms, chunk.sampling_ns)
    """
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if step_size <= 0:
        raise ConfigError(f"step_size must be > 0, got {step_size}")
    return ChunkIterator(
        expand_files(files), resolve_schema(schema), step_size=int(step_size),
        expected_sampling_ns=expected_sampling_ns, on_error=on_error, report=report,
    )


def concatenate(chunks: list[WaveformChunk]) -> WaveformChunk:
    """Join chunks of equal length and sampling into one.

    Parameters
    ----------
    chunks : list of WaveformChunk
        At least one chunk.

    Returns
    -------
    WaveformChunk
        The concatenation; ``source`` spans the first to the last chunk when they come from
        one file, else it is ``None``.
    """
    if len(chunks) == 1:
        return chunks[0]
    first, last = chunks[0], chunks[-1]
    truths = [c.truth for c in chunks]
    truth = ak.concatenate(truths) if all(t is not None for t in truths) else None
    a, b = first.source, last.source
    source = (ChunkSource(a.file, a.tree, a.entry_start, b.entry_stop)
              if a is not None and b is not None and a.file == b.file else None)
    return WaveformChunk(
        waveforms=np.concatenate([c.waveforms for c in chunks]),
        sampling_ns=first.sampling_ns,
        meta=ak.concatenate([c.meta for c in chunks]),
        truth=truth,
        source=source,
    )


def read(
    file: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    schema: str | Mapping | os.PathLike[str] = "native",
    step_size: int = STEP_SIZE,
    expected_sampling_ns: float | None = None,
) -> WaveformChunk:
    """Read whole files into one chunk (for small files and notebooks).

    Parameters
    ----------
    file : str, os.PathLike or iterable of them
        ROOT file(s).
    schema, step_size, expected_sampling_ns
        As in :func:`iterate`.

    Returns
    -------
    WaveformChunk
        Every waveform of the file(s).

    Raises
    ------
    CcrecoError
        The first problem found.
    """
    chunks = list(iterate(file, schema=schema, step_size=step_size,
                          expected_sampling_ns=expected_sampling_ns))
    if not chunks:  # cannot happen in raise mode (empty trees raise), kept for safety
        raise WaveformLengthError("no waveforms read", file=str(file))
    return concatenate(chunks)
