"""Cost of reco's integrity and data checks, relative to the reconstruction itself (same run).

Times, per waveform, on one simulated sample (preset tb2023-untuned, seed 3): the block checksum
(``ccreco.io.integrity.row_hash_sum``), the data-sanity counts (``ccreco.io.validate.sanity_counts``)
and the two-step reconstruction (``ccreco.reco.Reconstructor``, shipped models, one thread).
Reported as ratios to the reconstruction time.
"""

from __future__ import annotations

import time


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(quick: bool = False) -> str:
    """Measure and return a markdown section.

    Parameters
    ----------
    quick : bool
        Fewer waveforms and repeats.

    Returns
    -------
    str
        The section.
    """
    from ccreco.io.integrity import row_hash_sum
    from ccreco.io.validate import sanity_counts
    from ccreco.reco import Reconstructor
    from ccreco.sim import SimConfig, simulate

    n = 300 if quick else 2000
    chunk = next(simulate(SimConfig.from_preset("tb2023-untuned"), n, 3, chunk_size=n))
    reco = Reconstructor()
    reco(chunk)  # warm-up: numba compilation, ONNX sessions
    t_reco = _best(lambda: reco(chunk), 1 if quick else 2)
    t_hash = _best(lambda: row_hash_sum(chunk.waveforms, 0), 5)
    t_sane = _best(lambda: sanity_counts(chunk.waveforms), 5)
    us = 1e6 / n
    return "\n".join([
        "## Integrity and data checks in reco (`benchmarks/bench_integrity.py`)",
        "",
        f"{n} waveforms of {chunk.n_samples} samples (tb2023-untuned, seed 3), best of repeats.",
        "",
        "| step | µs per waveform | fraction of reconstruction |",
        "|---|---|---|",
        f"| reconstruction (Reconstructor) | {t_reco * us:.0f} | 1 |",
        f"| block checksum (xxh3 per row) | {t_hash * us:.2f} | {t_hash / t_reco:.4f} |",
        f"| data checks (polarity, flat, range, saturation) | {t_sane * us:.1f} | {t_sane / t_reco:.3f} |",
        "",
    ])


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(main(quick="--quick" in sys.argv))
