"""The in-memory form every reader returns, whatever the file's schema."""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np


@dataclass(frozen=True)
class ChunkSource:
    """Where a chunk came from, for error messages and provenance.

    Attributes
    ----------
    file : str
        Path of the ROOT file.
    tree : str
        Tree name inside the file.
    entry_start, entry_stop : int
        Global entry range ``[entry_start, entry_stop)`` of the tree that the chunk holds.
    """

    file: str
    tree: str
    entry_start: int
    entry_stop: int


@dataclass(frozen=True)
class WaveformChunk:
    """A block of waveforms with their metadata and (optional) MC truth.

    Attributes
    ----------
    waveforms : numpy.ndarray
        float32, C-contiguous, shape ``(n, n_samples)``, in mV with positive pulses.
    sampling_ns : float
        Sampling period in ns.
    meta : awkward.Array
        Records with ``run``, ``event`` (int64) and ``channel`` (int32), one per waveform.
    truth : awkward.Array or None
        Records of MC truth (see docs/SCHEMA.md), ``None`` for data without truth.
    source : ChunkSource or None
        File, tree and entry range, ``None`` for arrays made in memory.
    """

    waveforms: np.ndarray
    sampling_ns: float
    meta: ak.Array
    truth: ak.Array | None = None
    source: ChunkSource | None = None

    def __len__(self) -> int:
        return int(self.waveforms.shape[0])

    @property
    def n_samples(self) -> int:
        """Samples per waveform."""
        return int(self.waveforms.shape[1])

    @property
    def entry_offset(self) -> int:
        """Global entry number of the first waveform (0 for in-memory chunks)."""
        return self.source.entry_start if self.source is not None else 0


def concatenate_chunks(chunks: list[WaveformChunk]) -> WaveformChunk:
    """One chunk holding the waveforms of several, in order (e.g. several small files in one block).

    Parameters
    ----------
    chunks : list of WaveformChunk
        At least one; the same sampling period and waveform length, and either all without
        truth or all with the same truth fields.

    Returns
    -------
    WaveformChunk
        Without a ``source`` when more than one chunk is given (its rows come from several
        files or ranges).

    Raises
    ------
    ValueError
        No chunk, or chunks that cannot share a block (sampling, length, truth fields).
    """
    if not chunks:
        raise ValueError("concatenate_chunks needs at least one chunk")
    if len(chunks) == 1:
        return chunks[0]
    first = chunks[0]
    fields = None if first.truth is None else tuple(first.truth.fields)
    for c in chunks[1:]:
        if c.sampling_ns != first.sampling_ns or c.n_samples != first.n_samples:
            raise ValueError(f"chunks differ in sampling ({c.sampling_ns} vs {first.sampling_ns} ns) or length "
                             f"({c.n_samples} vs {first.n_samples} samples)")
        if (None if c.truth is None else tuple(c.truth.fields)) != fields:
            raise ValueError("chunks differ in their truth fields")
    truth = None if fields is None else ak.concatenate([c.truth for c in chunks])
    return WaveformChunk(waveforms=np.ascontiguousarray(np.concatenate([c.waveforms for c in chunks])),
                         sampling_ns=first.sampling_ns, meta=ak.concatenate([c.meta for c in chunks]),
                         truth=truth, source=None)
