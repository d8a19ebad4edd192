"""benchmarks/run_level_calibration.py: blocks of a file through the library's statistics, fit and correction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from script_helpers import load_script

from ccreco.models.runlevel import STATISTICS


def test_fit_on_simulated_blocks_corrects_them(tmp_path: Path) -> None:
    from ccreco.sim.randomize import RandomizeConfig, write_randomized

    rl = load_script("benchmarks/run_level_calibration.py")
    path = tmp_path / "r.root"
    write_randomized(path, RandomizeConfig(block=100), 800, seed=4, progress=False)
    x, y = rl.blocks(str(path), 100)
    assert x.shape == (8, len(STATISTICS)) and np.all(np.isfinite(x)) and np.all(y > 0)
    model = rl.fit(x, y, lam=0.1)
    before = np.log(y[:, 0] / y[:, 1])
    after = before - np.log(rl.correction(model, x))
    assert np.std(after) < 0.5 * np.std(before)  # 8 blocks, 18 statistics: the fit reproduces them
