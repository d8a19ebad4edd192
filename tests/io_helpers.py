"""Small seeded files for the I/O tests: native (via the writer) and foreign layouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ccreco.constants import SAMPLING_NS
from ccreco.io import NtupleWriter, WaveformChunk

#: Short waveforms keep the test files tiny.
N_SAMPLES_TEST = 64


def make_truth(n: int, rng: np.random.Generator) -> ak.Array:
    """Consistent MC truth for ``n`` waveforms."""
    n_cl = rng.poisson(4, n) + 1
    size = rng.integers(1, 4, n_cl.sum())
    n_el = np.add.reduceat(size, np.r_[0, np.cumsum(n_cl)[:-1]])
    el_cluster = np.concatenate([np.repeat(np.arange(k), s) for k, s in
                                 zip(n_cl, np.split(size, np.cumsum(n_cl)[:-1]), strict=True)])
    t_cl = np.sort(rng.uniform(0, 40, n_cl.sum()))
    t_el = rng.uniform(0, 50, n_el.sum())
    return ak.zip(
        {
            "cluster_time_ns": ak.unflatten(t_cl, n_cl),
            "cluster_size": ak.unflatten(size.astype(np.int32), n_cl),
            "electron_time_ns": ak.unflatten(t_el, n_el),
            "electron_cluster": ak.unflatten(el_cluster.astype(np.int32), n_el),
            "electron_peak_ns": ak.unflatten(t_el + 3.0, n_el),
            "momentum_gev": rng.uniform(1, 20, n),
            "pdg": np.full(n, 211, dtype=np.int32),
        },
        depth_limit=1,
    )


def make_chunk(
    n: int = 20,
    *,
    n_samples: int = N_SAMPLES_TEST,
    seed: int = 1,
    truth: bool = True,
    sampling_ns: float = SAMPLING_NS,
    first_event: int = 0,
) -> WaveformChunk:
    """A seeded chunk: noise plus a few pulses, optional truth."""
    rng = np.random.default_rng(seed)
    wf = rng.normal(0, 1.5, (n, n_samples)).astype(np.float32)
    wf[:, n_samples // 3] += 10.0
    meta = ak.zip({
        "run": np.ones(n, dtype=np.int64),
        "event": np.arange(first_event, first_event + n, dtype=np.int64),
        "channel": np.zeros(n, dtype=np.int32),
    })
    return WaveformChunk(wf, sampling_ns, meta, make_truth(n, rng) if truth else None)


def write_native(path: Path, n: int = 20, *, chunks: int = 1, **kw: Any) -> Path:
    """Write ``chunks`` chunks of ``n`` waveforms with ccreco's writer."""
    with NtupleWriter(path) as w:
        for i in range(chunks):
            w.write(make_chunk(n, seed=kw.pop("seed", 1) + i, first_event=i * n, **kw))
    return path


def write_raw(path: Path, branches: dict[str, Any], *, tree: str = "sim") -> Path:
    """Write arbitrary branches as a TTree with uproot (for foreign and broken layouts)."""
    types = {}
    for name, value in branches.items():
        if isinstance(value, np.ndarray):
            types[name] = value.dtype if value.ndim == 1 else (value.dtype, value.shape[1:])
        else:
            types[name] = value.type
    with uproot.recreate(path) as f:
        f.mktree(tree, types).extend(branches)
    return path
