"""benchmarks/run_level_calibration.py: run statistics of a block, the fit and its correction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from script_helpers import load_script


def test_block_features_of_known_candidates() -> None:
    rl = load_script("benchmarks/run_level_calibration.py")
    # two waveforms: confident candidates at 0, 3, 10 ns (gaps 3 and 7) and at 5, 6 ns (gap 1)
    t = [0, 3, 10, 50, 5, 6]
    score = [0.9, 0.9, 0.9, 0.1, 0.9, 0.9]
    f = np.column_stack([t, [10, 20, 30, 5, 40, 40], np.ones(6), score]).astype(np.float32)
    x = dict(zip(rl.FEATURES, rl.block_features(f, np.array([0, 4, 6]), np.array([3.0, 2.0]), np.ones(2)),
                 strict=True))
    assert len(x) == len(rl.FEATURES)
    assert x["confident_per_wf"] == 2.5 and x["span_ns"] == 5.5
    assert x["gaps_0_2"] == x["gaps_2_4"] == x["gaps_6_9"] == 1 / 3 and x["gaps_4_6"] == 0
    assert x["candidates_per_confident"] == 3 / 2.5 and x["count_per_confident"] == 2.5 / 2.5
    assert x["amp_q50_over_noise"] == 30.0


def test_fit_on_simulated_blocks_corrects_them(tmp_path: Path) -> None:
    from ccreco.sim.randomize import RandomizeConfig, write_randomized

    rl = load_script("benchmarks/run_level_calibration.py")
    path = tmp_path / "r.root"
    write_randomized(path, RandomizeConfig(block=24), 192, seed=4, progress=False)
    x, y = rl.blocks(str(path), 24)
    assert x.shape == (8, len(rl.FEATURES)) and np.all(np.isfinite(x)) and np.all(y > 0)
    model = rl.fit(x, y, lam=0.1)
    before = np.log(y[:, 0] / y[:, 1])
    after = before - np.log(rl.correction(model, x))
    assert np.std(after) < 0.5 * np.std(before)  # 8 blocks, 18 features: the fit reproduces them
