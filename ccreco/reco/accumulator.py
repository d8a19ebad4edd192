"""The typed accumulator of a batch reconstruction: what every block returns, added up by coffea.

coffea adds the blocks' accumulators with ``+`` (any object with ``__add__``), so the whole
merge is :meth:`RecoAccumulator.__add__`: histograms add by name, moments add exactly,
counters add, skip records and part files concatenate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Counter names of a run (``summary.json`` ``counters``), in output order.
COUNTERS: tuple[str, ...] = ("chunks", "chunks_skipped", "waveforms_read", "waveforms_reconstructed",
                             "waveforms_skipped", "truth_length", "config_length")


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of a variable (exact mean and RMS after any merge).

    Attributes
    ----------
    n : int
        Finite values seen.
    sum, sum2 : float
        Their sum and sum of squares.
    """

    n: int = 0
    sum: float = 0.0
    sum2: float = 0.0

    @classmethod
    def of(cls, values: Any) -> Moments:
        """Moments of the finite entries of ``values``."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        v = v[np.isfinite(v)]
        return cls(int(v.size), float(v.sum()), float(np.dot(v, v)))

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.sum + other.sum, self.sum2 + other.sum2)

    def as_dict(self) -> dict[str, float]:
        """``{"n", "sum", "sum2"}`` (the form :func:`ccreco.reco.hists.moments` reads)."""
        return {"n": self.n, "sum": self.sum, "sum2": self.sum2}


def _add_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Union of two maps; values under the same key are added (nested dicts recursively)."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _add_maps(out[key], value)
        else:
            out[key] = out[key] + value
    return out


@dataclass
class RecoAccumulator:
    """Histograms, moments, counters, skipped blocks and part files of any number of blocks.

    Attributes
    ----------
    hists : dict of str to hist.Hist
        By :data:`ccreco.reco.hists.HISTS` name.
    sums : dict of str to Moments
        Per summary variable.
    counters : dict of str to int
        The :data:`COUNTERS`.
    skipped : list of dict
        Skip records (file, tree, entries, error, reason).
    parts : list of tuple
        ``(file_index, entry_start, path)`` of the per-block part files.
    reco_s, reco_cpu_s : float
        Wall and CPU seconds spent reconstructing (summed over blocks).
    data_checks : dict
        File -> data-sanity counts (:func:`ccreco.io.validate.sanity_counts`; they add up).
    integrity : dict
        File -> ``{"sums", "rows"}`` checksum partial sums per recorded block
        (:func:`ccreco.io.integrity.partial_sums`; they add up).
    """

    hists: dict[str, Any] = field(default_factory=dict)
    sums: dict[str, Moments] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    skipped: list[dict[str, Any]] = field(default_factory=list)
    parts: list[tuple[int, int, str]] = field(default_factory=list)
    reco_s: float = 0.0
    reco_cpu_s: float = 0.0
    data_checks: dict[str, dict[str, int]] = field(default_factory=dict)
    integrity: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def __add__(self, other: RecoAccumulator) -> RecoAccumulator:
        if not isinstance(other, RecoAccumulator):
            return NotImplemented
        return RecoAccumulator(
            hists=_add_maps(self.hists, other.hists),
            sums=_add_maps(self.sums, other.sums),
            counters=_add_maps(self.counters, other.counters),
            skipped=self.skipped + other.skipped,
            parts=self.parts + other.parts,
            reco_s=self.reco_s + other.reco_s,
            reco_cpu_s=self.reco_cpu_s + other.reco_cpu_s,
            data_checks=_add_maps(self.data_checks, other.data_checks),
            integrity=_add_maps(self.integrity, other.integrity),
        )

    def sorted_parts(self) -> list[str]:
        """Part file paths in file, then entry order (the order of ``reco.root``)."""
        return [p for _, _, p in sorted(self.parts, key=lambda x: (x[0], x[1]))]

    def replace(self, **changes: Any) -> RecoAccumulator:
        """A copy with fields replaced."""
        return dataclasses.replace(self, **changes)


__all__ = ["COUNTERS", "Moments", "RecoAccumulator"]
