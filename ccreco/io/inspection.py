"""Describe a file and list every validation problem in it (``ccreco inspect``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from ccreco.constants import STEP_SIZE
from ccreco.errors import CcrecoError, InputFileError
from ccreco.io.integrity import mismatches, partial_sums, read_file_blocks
from ccreco.io.reader import (
    convention_warnings,
    describe_truth,
    entry_ranges,
    open_tree,
    plan_tree,
    read_chunk,
)
from ccreco.io.schema import Mapping, resolve_schema, supported_uses
from ccreco.io.validate import sanity_counts, sanity_messages


@dataclass
class InspectReport:
    """What :func:`inspect_file` found.

    Attributes
    ----------
    file : str
        The file.
    schema : str
        Name of the mapping used.
    tree : str
        Tree name.
    entries : int or None
        Entries in the tree (``None`` when the tree could not be read).
    waveforms : int or None
        Waveforms (entries times channel branches).
    branches : list of str
        Every branch of the tree.
    n_samples : int or None
        Samples per waveform (first good chunk).
    sampling_ns : float or None
        Sampling period (first good chunk).
    truth_fields : list of str
        Truth fields found (empty for data).
    missing_meta : list of str
        run/event/channel branches named by the schema but absent (filled with defaults).
    truth_notes : list of str
        How truth was obtained (auto-imported, derived, mapped but absent) and suspected
        convention clashes.
    supports : dict of str to bool
        Which truth-dependent commands the file supports (``evaluate peaks``, ...).
    problems : list of str
        Every validation problem, one message each (file, tree, branch, entry named).
    warnings : list of str
        Data-sanity findings that do not stop a reconstruction (flat or saturated waveforms).
    data_checks : dict of str to int
        :func:`ccreco.io.validate.sanity_counts` summed over the file.
    checksums : dict of str to int
        ``recorded``, ``verified`` and ``failed`` block checksums (files ccreco wrote).
    """

    file: str
    schema: str
    tree: str
    entries: int | None = None
    waveforms: int | None = None
    branches: list[str] = field(default_factory=list)
    n_samples: int | None = None
    sampling_ns: float | None = None
    truth_fields: list[str] = field(default_factory=list)
    missing_meta: list[str] = field(default_factory=list)
    truth_notes: list[str] = field(default_factory=list)
    supports: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data_checks: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, int] = field(default_factory=dict)
    errors: list[CcrecoError] = field(default_factory=list, repr=False)

    @property
    def has_truth(self) -> bool:
        """True when the file carries MC truth."""
        return bool(self.truth_fields)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def add(self, error: CcrecoError) -> None:
        """Record a problem."""
        self.errors.append(error)
        self.problems.append(f"{type(error).__name__}: {error}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (``ccreco inspect --json``)."""
        out = asdict(self)
        out.pop("errors")
        out["has_truth"] = self.has_truth
        out["ok"] = self.ok
        return out

    def to_text(self) -> str:
        """Human-readable summary, one item per line."""
        sampling = f"{self.sampling_ns:g} ns" if self.sampling_ns is not None else "unknown"
        lines = [
            f"file:        {self.file}",
            f"schema:      {self.schema}",
            f"tree:        {self.tree}",
            f"entries:     {self.entries if self.entries is not None else 'unknown'}",
            f"waveforms:   {self.waveforms if self.waveforms is not None else 'unknown'}",
            f"length:      {self.n_samples if self.n_samples is not None else 'unknown'} samples",
            f"sampling:    {sampling}",
            f"truth:       {'yes: ' + ', '.join(self.truth_fields) if self.has_truth else 'no'}",
            f"branches:    {', '.join(self.branches) if self.branches else 'none read'}",
        ]
        if self.checksums.get("recorded"):
            c = self.checksums
            lines.append(f"checksums:   {c.get('verified', 0)} of {c['recorded']} blocks verified, "
                         f"{c.get('failed', 0)} failed")
        elif self.entries:
            lines.append("checksums:   none recorded (not written by ccreco): corruption inside "
                         "compressed baskets cannot be detected")
        if self.missing_meta:
            lines.append(f"defaults:    {', '.join(self.missing_meta)} (branch absent)")
        for w in self.warnings:
            lines.append(f"warning:     {w}")
        lines += [f"truth note:  {note}" for note in self.truth_notes]
        if self.supports:
            uses = "; ".join(f"{use}: {'yes' if ok else 'no'}" for use, ok in self.supports.items())
            lines.append(f"supports:    {uses}; reco, compare, tune: yes (no truth needed)")
        if self.problems:
            lines.append(f"problems:    {len(self.problems)}")
            lines += [f"  - {p}" for p in self.problems]
        else:
            lines.append("problems:    none")
        return "\n".join(lines)


def inspect_file(
    path: str | os.PathLike[str],
    schema: str | Mapping | os.PathLike[str] = "native",
    *,
    step_size: int = STEP_SIZE,
    expected_sampling_ns: float | None = None,
) -> InspectReport:
    """Describe a file and collect every validation problem (never stops at the first).

    Parameters
    ----------
    path : str or os.PathLike
        ROOT file.
    schema : str, os.PathLike or Mapping
        Preset name, ``.toml`` mapping or :class:`~ccreco.io.schema.Mapping`.
    step_size : int
        Entries per chunk while checking.
    expected_sampling_ns : float, optional
        Required sampling period.

    Returns
    -------
    InspectReport
        Tree, entries, branches, waveform length, sampling, truth and all problems.
    """
    mapping = resolve_schema(schema)
    file = os.fspath(path)
    report = InspectReport(file=file, schema=mapping.name, tree=mapping.tree)
    try:
        tree = open_tree(file, mapping)
    except CcrecoError as exc:
        report.add(exc)
        return report
    report.entries = int(tree.num_entries)
    report.waveforms = report.entries * len(mapping.waveforms)
    report.branches = list(tree.keys(recursive=False))
    plan, problems = plan_tree(tree, file, mapping)
    for problem in problems:
        report.add(problem)
    named = {"run": mapping.run, "event": mapping.event, "channel": mapping.channel_branch}
    report.missing_meta = [f"{k} ({b})" for k, b in named.items() if b and k not in plan.meta]
    report.truth_fields = sorted(plan.truth) + sorted(plan.derived) + [
        f for f, b in (("cand_time_ns", plan.cand_time), ("cand_label", plan.cand_tag)) if b
    ]
    report.truth_notes = describe_truth(plan)
    report.supports = supported_uses(report.truth_fields)
    if problems:  # without the required branches no chunk can be read
        return report
    n_samples = None
    expected = expected_sampling_ns
    blocks = read_file_blocks(file) if mapping.name == "native" else []
    sums: dict[str, int] = {}
    rows: dict[str, int] = {}
    counts: dict[str, int] = {}
    for start, stop in entry_ranges(plan, step_size):
        chunk, problems = read_chunk(plan, mapping, start, stop, n_samples=n_samples,
                                     expected_sampling_ns=expected)
        for problem in problems:
            report.add(problem)
        if chunk is not None:
            for k, v in sanity_counts(chunk.waveforms, chunk.sampling_ns).items():
                counts[k] = counts.get(k, 0) + v
            if blocks:
                s_part, r_part = partial_sums(chunk.waveforms, start, blocks)
                for k in s_part:
                    sums[k] = sums.get(k, 0) + s_part[k]
                    rows[k] = rows.get(k, 0) + r_part[k]
        if chunk is not None and n_samples is None:
            if not plan.written_by_ccreco:
                report.truth_notes += convention_warnings(chunk.truth, plan)
            n_samples = report.n_samples = chunk.n_samples
            report.sampling_ns = chunk.sampling_ns
            expected = expected if expected is not None else chunk.sampling_ns
    report.data_checks = counts
    found, report.warnings = sanity_messages(counts)
    for text in found:
        report.add(CcrecoError(text, file=file, tree=mapping.tree))
    if blocks:
        n_ok, bad = mismatches(sums, rows, blocks)
        report.checksums = {"recorded": len(blocks), "verified": n_ok, "failed": len(bad)}
        for b0, b1 in bad:
            report.add(InputFileError(f"checksum mismatch in entries [{b0}, {b1}): the waveform bytes differ from "
                                      "what ccreco wrote (corrupt copy or storage error); do not use this block",
                                      file=file, tree=mapping.tree, entry=b0))
    if report.n_samples is None:  # every chunk had problems: describe the first entry anyway
        try:
            first = plan.tree.arrays(filter_name=lambda b: b in {plan.waveforms[0], plan.sampling},
                                     entry_stop=1, how=dict)
            report.n_samples = len(first[plan.waveforms[0]][0])
            raw = first[plan.sampling][0] if plan.sampling else mapping.sampling_value
            if raw is not None:  # the mapping validates that a branch or a fixed value exists
                report.sampling_ns = float(mapping.to_period_ns(float(raw)))
        except Exception:  # already reported as a problem above
            pass
    return report
