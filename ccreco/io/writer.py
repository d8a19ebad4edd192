"""Atomic, chunked writer of ccreco's native ntuple schema."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ccreco import __version__
from ccreco.constants import BASKET_ENTRIES, META_KEY, SCHEMA_VERSION, TREE
from ccreco.errors import ConfigError
from ccreco.io.chunk import WaveformChunk
from ccreco.io.integrity import ALGORITHM, block_record

#: Jagged truth groups: field-name prefix -> counter branch name.
JAGGED_GROUPS: dict[str, str] = {
    "cluster": "n_clusters",
    "electron": "n_electrons",
    "cand": "n_cands",
}


def default_compression() -> Any:
    """The compression ccreco writes with: ZSTD level 1.

    Chosen by measurement (``benchmarks/bench_io.py``, 10k waveforms of 2000 samples): ZSTD(1)
    gives the smallest files of the codecs tried (1.09x on unquantized float32 simulation,
    3.7x on ADC-quantized samples, vs 3.0x for zlib(1) and 2.2x for LZ4(1)) and reads about
    2.2-2.3x faster than uproot's zlib default. LZ4(1) reads faster still but barely
    compresses; uncompressed is fastest to read but largest.

    Returns
    -------
    uproot.compression.Compression
        The compression object to pass to uproot.
    """
    return uproot.ZSTD(1)


def _branches(chunk: WaveformChunk) -> dict[str, Any]:
    """Turn a chunk into the dict of arrays that ``uproot`` writes as one basket."""
    n = len(chunk)
    out: dict[str, Any] = {
        "waveform": np.ascontiguousarray(chunk.waveforms, dtype=np.float32),
        "sampling_ns": np.full(n, chunk.sampling_ns, dtype=np.float64),
    }
    for name in ("run", "event", "channel"):
        if name in chunk.meta.fields:
            dtype = np.int32 if name == "channel" else np.int64
            out[name] = ak.to_numpy(chunk.meta[name]).astype(dtype)
    if chunk.truth is None:
        return out
    groups: dict[str, dict[str, ak.Array]] = {}
    for field in chunk.truth.fields:
        arr = chunk.truth[field]
        prefix = field.split("_", 1)[0]
        if prefix in JAGGED_GROUPS and arr.ndim == 2:
            groups.setdefault(prefix, {})[field[len(prefix) + 1 :]] = arr
        elif arr.ndim == 1:
            out[field] = ak.to_numpy(arr)
        else:
            raise ConfigError(f"truth field {field!r} is nested but has no known group prefix")
    for prefix, fields in groups.items():
        out[prefix] = ak.zip(fields)
        # the counter of a jagged group replaces a scalar of the same name (n_clusters)
        out.pop(JAGGED_GROUPS[prefix], None)
    return out


class NtupleWriter:
    """Write :class:`~ccreco.io.chunk.WaveformChunk` objects to a ROOT file, atomically.

    Data go to a temporary file next to ``path``; only a clean :meth:`close` renames it to
    ``path``, so a crash never leaves a half-written file that looks complete.

    Parameters
    ----------
    path : str or os.PathLike
        Output ROOT file.
    tree : str
        Tree name (default ``sim``).
    metadata : dict, optional
        JSON-serializable provenance stored as the TObjString ``ccreco_meta``.
    compression : uproot compression or None, optional
        Defaults to :func:`default_compression`; ``None`` writes uncompressed.
    basket_entries : int
        Most entries per TTree basket (default :data:`~ccreco.constants.BASKET_ENTRIES`): readers
        decompress whole baskets, so this bounds their memory whatever block size they read.

    Examples
    --------
    >>> with NtupleWriter("run.root", metadata={"preset": "tb2023-untuned"}) as w:  # doctest: +SKIP
    ...     for chunk in chunks:
    ...         w.write(chunk)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tree: str = TREE,
        metadata: dict[str, Any] | None = None,
        compression: Any = "default",
        basket_entries: int = BASKET_ENTRIES,
    ) -> None:
        if basket_entries < 1:
            raise ConfigError(f"basket_entries must be >= 1, got {basket_entries}")
        self.basket_entries = int(basket_entries)
        self.path = Path(path)
        self.tree = tree
        self.metadata = dict(metadata or {})
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(compression, str) and compression == "default":
            compression = default_compression()
        self._file = uproot.recreate(self._tmp, compression=compression)
        self._tree: Any = None
        self._keys: list[str] | None = None
        self.n_entries = 0
        self._blocks: list[list[Any]] = []
        self._closed = False

    def write(self, chunk: WaveformChunk) -> None:
        """Append a chunk of waveforms (baskets of at most ``basket_entries`` entries per branch).

        Parameters
        ----------
        chunk : WaveformChunk
            Waveforms, metadata and optional truth. Every chunk must carry the same fields.
        """
        if len(chunk) == 0:
            return
        branches = _branches(chunk)
        if self._tree is None:
            self._tree = self._file.mktree(
                self.tree,
                {k: branch_type(v) for k, v in branches.items()},
                counter_name=lambda name: JAGGED_GROUPS.get(name, f"n_{name}"),
                field_name=lambda outer, inner: f"{outer}_{inner}",
            )
            self._keys = list(branches)
        elif list(branches) != self._keys:
            raise ConfigError(
                f"chunk fields {sorted(branches)} differ from the first chunk's {sorted(self._keys or [])}",
                file=str(self.path),
                tree=self.tree,
            )
        step = self.basket_entries
        for start in range(0, len(chunk), step):
            part = {k: v[start : start + step] for k, v in branches.items()}
            self._tree.extend(part)
            self._blocks.append(block_record(part["waveform"], self.n_entries + start))
        self.n_entries += len(chunk)

    def close(self) -> None:
        """Write the metadata, close the file and move it into place."""
        if self._closed:
            return
        meta = {
            "ccreco_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "n_entries": self.n_entries,
            **self.metadata,
            # one checksum per written block of waveforms (ccreco.io.integrity; ROOT has none)
            "checksums": {"algorithm": ALGORITHM, "branch": "waveform", "blocks": self._blocks},
        }
        self._file[META_KEY] = json.dumps(meta, sort_keys=True, default=str)
        self._file.close()
        os.replace(self._tmp, self.path)
        self._closed = True

    def abort(self) -> None:
        """Close and delete the temporary file without touching ``path``."""
        if self._closed:
            return
        try:
            self._file.close()
        finally:
            self._tmp.unlink(missing_ok=True)
            self._closed = True

    def __enter__(self) -> NtupleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def branch_type(value: Any) -> Any:
    """The uproot branch type (for ``mktree``) of an array to write.

    Parameters
    ----------
    value : numpy.ndarray or awkward.Array
        A column of the first basket.

    Returns
    -------
    numpy.dtype, tuple or awkward type
        Scalar dtype, ``(dtype, shape)`` for fixed-size rows, or the awkward type for jagged data.
    """
    if isinstance(value, np.ndarray):
        return np.dtype(value.dtype) if value.ndim == 1 else (value.dtype, value.shape[1:])
    return value.type  # awkward array: uproot derives the jagged type


def write_ntuple(
    path: str | os.PathLike[str],
    chunks: Any,
    *,
    tree: str = TREE,
    metadata: dict[str, Any] | None = None,
) -> int:
    """Write an iterable of chunks to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    chunks : iterable of WaveformChunk
        The data, chunk by chunk.
    tree : str
        Tree name.
    metadata : dict, optional
        Provenance stored in the file.

    Returns
    -------
    int
        Number of entries written.
    """
    with NtupleWriter(path, tree=tree, metadata=metadata) as writer:
        for chunk in chunks:
            writer.write(chunk)
        return writer.n_entries
