"""benchmarks/preselect_study.py: features by hand, recall bookkeeping and the operating point."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _module():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("preselect_study", ROOT / "benchmarks" / "preselect_study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_features_by_hand() -> None:
    ps = _module()
    x = np.zeros((1, 20), np.float32)
    x[0, 8:13] = [1.0, 3.0, 4.0, 3.5, 1.0]  # rises to 4 at sample 10
    idx = np.array([9, 10], np.int64)
    off = np.array([0, 2], np.int64)
    f = ps.features(x, idx, off, np.array([0.0]), np.array([0.5]))
    col = {name: f[:, i] for i, name in enumerate(ps.FEATURES)}
    np.testing.assert_allclose(col["height"], [6.0, 8.0])
    np.testing.assert_allclose(col["curv"], [(2.0 - 1.0) / 0.5, (1.0 + 0.5) / 0.5])
    np.testing.assert_allclose(col["is_max"], [0.0, 1.0])
    np.testing.assert_allclose(col["below_top2"], [2.0, 0.0])  # 9 is 1 below the top at 10
    np.testing.assert_allclose(col["rise5"], [6.0, 8.0])
    np.testing.assert_allclose(col["fall3"], [(3.0 - 1.0) / 0.5, 8.0])
    np.testing.assert_allclose(col["log_height"], np.log1p([6.0, 8.0]))


def test_recall_bookkeeping_and_operating_point() -> None:
    ps = _module()
    p = ps.Prepared(ps.sample(60, seed=3), ps.BASES["k1.5+roi5/20"])
    everything = np.ones(p.y.size, bool)
    r_all, w_all = p.recall_windows(everything)
    assert w_all == p.index.size / p.n and 0.9 * p.bare_recall < r_all <= p.bare_recall
    assert p.recall_windows(~everything) == (0.0, 0.0)
    w, b0 = ps.fit(p.X, p.y)
    score = p.X @ w + b0
    thr = ps.operating_point(p, score, 0.98)
    r, n_win = p.recall_windows(score > thr)
    assert r >= 0.98 * p.bare_recall and n_win < w_all  # meets the target and drops windows
    pts = ps.scan(p, score, steps=11)
    assert [q[1] for q in pts] == sorted((q[1] for q in pts), reverse=True)
