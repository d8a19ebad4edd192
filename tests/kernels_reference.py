"""Slow, obviously-correct numpy/python references for the ccreco.kernels tests."""

from __future__ import annotations

import numpy as np


def baseline_rms(wf: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    region = wf[:, start:stop].astype(np.float64)
    return region.mean(axis=1), region.std(axis=1)


def candidates(x: np.ndarray, base: float, rms: float, k: float | None, smooth: int, rule: str,
               lo: int, hi: int) -> np.ndarray:
    """Candidate samples of one waveform, vectorized (second difference of the box sum)."""
    x64 = x.astype(np.float64)
    ns = x.size
    s = np.convolve(x64, np.ones(2 * smooth + 1), mode="same") if smooth else x64
    i = np.arange(ns)
    ok = np.zeros(ns, dtype=bool)
    inner = i[1 + smooth: ns - 1 - smooth]
    if rule == "d2":
        ok[inner] = (2 * s[inner] - s[inner - 1] - s[inner + 1]) > 0
    else:
        ok[inner] = (s[inner] > s[inner - 1]) & (s[inner] >= s[inner + 1])
    if k is not None:
        ok &= x64 > base + k * rms
    ok &= (i >= lo) & (i <= hi)
    return np.flatnonzero(ok)


def suppress(cand: np.ndarray, score: np.ndarray, min_distance: int) -> np.ndarray:
    """Greedy non-maximum suppression from the definition: best score first (ties: earlier sample)."""
    kept: list[int] = []
    for t in sorted(cand.tolist(), key=lambda t: (-score[t], t)):
        if all(abs(t - u) >= min_distance for u in kept):
            kept.append(t)
    return np.array(sorted(kept), dtype=np.int64)


def region(x: np.ndarray, level: float, margin: int) -> tuple[int, int]:
    """[first - margin, last + margin] of the samples above level ((1, 0): empty when none)."""
    above = np.flatnonzero(x.astype(np.float64) > level)
    return (int(above[0]) - margin, int(above[-1]) + margin) if above.size else (1, 0)


def top_candidates(x: np.ndarray, base: float, rms: float, k: float | None, smooth: int, min_distance: int,
                   lo: int, hi: int, roi: float | None = None, margin: int = 0) -> np.ndarray:
    """The "top" rule: d2 candidates (inside the region of interest), then suppression."""
    if roi is not None:
        r0, r1 = region(x, base + roi * rms, margin)
        lo, hi = max(lo, r0), min(hi, r1)
    cand = candidates(x, base, rms, k, smooth, "d2", lo, hi)
    x64 = x.astype(np.float64)
    s = np.convolve(x64, np.ones(2 * smooth + 1), mode="same") if smooth else x64
    return suppress(cand, s, min_distance) if min_distance > 1 else cand


def windows(x: np.ndarray, index: np.ndarray, left: int, right: int, scale: float) -> np.ndarray:
    out = []
    for t in index:
        seg = x[t - left: t + right + 1].astype(np.float64)
        out.append((seg - seg.mean()) / scale)
    return np.array(out, dtype=np.float32).reshape(len(index), left + right + 1, 1)


def match(ref: list[int], det: list[int], tol: int) -> tuple[list[int], list[int]]:
    """Greedy matching by (distance, rank of ref, position of det), straight from the definition."""
    pairs = sorted(
        (abs(d - r), j, d, k) for j, r in enumerate(ref) for k, d in enumerate(det) if abs(d - r) <= tol
    )
    rm, dm = [-1] * len(ref), [-1] * len(det)
    for _, j, _, k in pairs:
        if rm[j] < 0 and dm[k] < 0:
            rm[j], dm[k] = k, j
    return rm, dm


def deriv(x: np.ndarray, base: float, rms: float, dt: float, n1: float, n2: float, n3: float,
          n4: float) -> list[int]:
    y = x.astype(np.float64) - base
    ns = y.size
    d1 = np.full(ns, np.nan)
    d2 = np.full(ns, np.nan)
    d1[1:-1] = (y[2:] - y[:-2]) / (2.0 * dt)
    d2[1:-1] = (y[2:] - 2.0 * y[1:-1] + y[:-2]) / (dt * dt)
    s1 = rms / (np.sqrt(2.0) * dt)
    s2 = rms / (2.0 * dt * dt)
    passing = np.zeros(ns, dtype=bool)
    for i in range(2, ns - 2):
        passing[i] = (
            y[i] > n1 * rms
            and y[i] - (y[i - 1] + y[i + 1]) / 2.0 > n2 * rms
            and (abs(d1[i]) < 2 * n3 * s1 or d1[i - 1] > n3 * s1 or d1[i + 1] < -n3 * s1)
            and d2[i] < -n4 * s2
        )
    peaks = []
    i = 0
    while i < ns:
        if passing[i]:
            j = i
            while j + 1 < ns and passing[j + 1]:
                j += 1
            peaks.append(i + int(np.argmax(y[i: j + 1])))
            i = j + 1
        else:
            i += 1
    return peaks


def clusterize(t: np.ndarray, c: float, t0: float | None) -> int:
    if t.size == 0:
        return 0
    origin = t[0] if t0 is None else t0
    thr = c * np.sqrt(np.maximum(t[1:] - origin, 0.0))
    return 1 + int(np.sum(~(np.diff(t) <= thr)))


def synthetic(n: int, n_samples: int, seed: int, noise: float = 1.0, n_pulses: int = 8,
              amp: float = 10.0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Waveforms with known pulse peaks (>= 12 samples apart, fast rise, 4-sample fall) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples, dtype=np.float64)
    wf = rng.normal(0.0, noise, size=(n, n_samples))
    peaks = []
    for w in range(n):
        p = np.sort(rng.choice(np.arange(60, n_samples - 30, 12), size=n_pulses, replace=False))
        peaks.append(p.astype(np.float64))
        for tp in p:
            dt = t - tp
            shape = np.where(dt >= -2, np.exp(-np.abs(dt) / np.where(dt < 0, 1.0, 4.0)), 0.0)
            wf[w] += amp * shape
    return wf.astype(np.float32), peaks
