"""Block checksums of the waveforms ccreco writes, and their verification on reading.

ROOT's compressed baskets carry no checksum: a flipped bit inside a ZSTD basket often
decompresses to plausible numbers. :class:`~ccreco.io.writer.NtupleWriter` therefore records,
for every written block (one ``write`` call, one basket per branch), a 64-bit checksum of its
waveform samples in the file's ``ccreco_meta``::

    "checksums": {"algorithm": "xxh3_64-rowsum", "branch": "waveform",
                  "blocks": [[entry_start, entry_stop, "16 hex digits"], ...]}

The block checksum is the sum modulo 2**64 of one xxh3-64 hash per waveform row (its float32
bytes, seeded with the row's entry number), so a reader that sees any part of a block adds its
rows' hashes and the parts add up to the block's value, whatever the reader's own block size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Name of the checksum scheme stored in ``ccreco_meta``.
ALGORITHM: str = "xxh3_64-rowsum"
_MASK: int = (1 << 64) - 1


def row_hash_sum(waveforms: np.ndarray, entry_start: int) -> int:
    """Sum (mod 2**64) of the per-row xxh3-64 hashes of float32 waveforms.

    Parameters
    ----------
    waveforms : numpy.ndarray
        ``(n, n_samples)`` samples (converted to C-contiguous float32).
    entry_start : int
        Entry number of the first row (each row's hash is seeded with its entry).

    Returns
    -------
    int
        The partial block checksum.
    """
    import xxhash

    wf = np.ascontiguousarray(waveforms, dtype=np.float32)
    h = xxhash.xxh3_64_intdigest
    total = 0
    for i, row in enumerate(wf):
        total += h(row.data, seed=entry_start + i)
    return total & _MASK


def block_record(waveforms: np.ndarray, entry_start: int) -> list[Any]:
    """``[entry_start, entry_stop, hex]`` of one written block.

    Parameters
    ----------
    waveforms : numpy.ndarray
        The block's samples as written.
    entry_start : int
        Its first entry.

    Returns
    -------
    list
        The record stored in ``ccreco_meta``.
    """
    return [int(entry_start), int(entry_start + len(waveforms)), f"{row_hash_sum(waveforms, entry_start):016x}"]


def recorded_blocks(meta: Mapping[str, Any] | str | None) -> list[tuple[int, int, int]]:
    """The block checksums stored in a file's ``ccreco_meta`` (empty when it has none).

    Parameters
    ----------
    meta : mapping, str or None
        Decoded metadata, or its JSON text.

    Returns
    -------
    list of (int, int, int)
        ``(entry_start, entry_stop, checksum)`` per written block.
    """
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return []
    info = (meta or {}).get("checksums") if isinstance(meta, Mapping) else None
    if not isinstance(info, Mapping) or info.get("algorithm") != ALGORITHM:
        return []
    out = []
    for rec in info.get("blocks", ()):
        try:
            out.append((int(rec[0]), int(rec[1]), int(str(rec[2]), 16)))
        except (TypeError, ValueError, IndexError):
            continue
    return out


def read_file_blocks(path: str) -> list[tuple[int, int, int]]:
    """The recorded block checksums of a ROOT file (empty for files ccreco did not write).

    Parameters
    ----------
    path : str
        ROOT file.

    Returns
    -------
    list of (int, int, int)
        See :func:`recorded_blocks`.
    """
    import uproot

    from ccreco.constants import META_KEY

    try:
        with uproot.open(path) as f:
            if META_KEY not in f:
                return []
            return recorded_blocks(str(f[META_KEY]))
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the reader, not here
        return []


def partial_sums(waveforms: np.ndarray, entry_start: int,
                 blocks: Sequence[tuple[int, int, int]]) -> tuple[dict[str, int], dict[str, int]]:
    """Per written block, the hash sum and the number of the rows of ``waveforms`` in it.

    Parameters
    ----------
    waveforms : numpy.ndarray
        Rows ``entry_start ...`` of the file.
    entry_start : int
        Entry of the first row.
    blocks : sequence of (int, int, int)
        The file's recorded blocks.

    Returns
    -------
    sums, rows : dict of str to int
        Block index (as text) -> partial sum (not reduced, so partials add up) and rows seen.
    """
    stop = entry_start + len(waveforms)
    sums: dict[str, int] = {}
    rows: dict[str, int] = {}
    for k, (b0, b1, _) in enumerate(blocks):
        lo, hi = max(b0, entry_start), min(b1, stop)
        if lo < hi:
            sums[str(k)] = row_hash_sum(waveforms[lo - entry_start:hi - entry_start], lo)
            rows[str(k)] = hi - lo
    return sums, rows


def mismatches(sums: Mapping[str, int], rows: Mapping[str, int],
               blocks: Sequence[tuple[int, int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """Check the recorded blocks whose rows were all seen.

    Parameters
    ----------
    sums, rows : mapping of str to int
        Accumulated :func:`partial_sums` (block index -> sum, rows).
    blocks : sequence of (int, int, int)
        The recorded blocks.

    Returns
    -------
    n_verified : int
        Blocks checked (all their rows seen).
    bad : list of (int, int)
        ``(entry_start, entry_stop)`` of every block whose checksum differs.
    """
    n, bad = 0, []
    for k, (b0, b1, value) in enumerate(blocks):
        if int(rows.get(str(k), 0)) != b1 - b0:
            continue
        n += 1
        if (int(sums[str(k)]) & _MASK) != value:
            bad.append((b0, b1))
    return n, bad


__all__ = ["ALGORITHM", "block_record", "mismatches", "partial_sums", "read_file_blocks", "recorded_blocks",
           "row_hash_sum"]
