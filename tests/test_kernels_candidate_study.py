"""benchmarks/candidate_study.py on a tiny sample: the rows are consistent with the kernels."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("candidate_study", ROOT / "benchmarks" / "candidate_study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_study_rows_on_a_tiny_sample() -> None:
    cs = _module()
    chunk = cs.sample(40, seed=5)
    rows = cs.study(chunk, model=None, repeat=1)
    assert len(rows) == len(cs.RULES) * len(cs.PRESELECTIONS)
    by = {(r["rule"], r["preselection"]): r for r in rows}
    bare = cs.PRESELECTIONS[0][0]
    for rule, _ in cs.RULES:
        assert by[(rule, bare)]["relative"] == 1.0
        # every pre-selection only removes windows, and with them at most some recall
        for pre, _ in cs.PRESELECTIONS[1:]:
            assert by[(rule, pre)]["windows"] < by[(rule, bare)]["windows"]
            assert by[(rule, pre)]["recall"] <= by[(rule, bare)]["recall"] + 1e-12
    top5 = [r for r in rows if r["config"]["rule"] == "top" and r["config"]["min_distance"] == 5]
    assert top5 and all(r["shadowed"] == 0.0 for r in top5)  # min_distance > 2 x tolerance
    d2 = by[("d2", bare)]
    assert d2["shadowed"] > 0 and d2["recall"] > by[("max", bare)]["recall"]
    lines = cs.markdown(rows, 40, 5, None, "not timed")
    assert len(lines) == 4 + len(rows) and "seed 5" in lines[0]


def test_sample_is_scaled_to_the_requested_snr() -> None:
    import numpy as np

    from ccreco.kernels import baseline_rms

    cs = _module()
    loud, quiet = cs.sample(20, seed=1), cs.sample(20, seed=1, snr=20.0)
    assert quiet.waveforms.shape == (20, 2000)
    ratio = np.mean(baseline_rms(quiet.waveforms)[1]) / np.mean(baseline_rms(loud.waveforms)[1])
    assert ratio == pytest.approx(6.3246 / 20.0, rel=0.1)  # the preset's S/N is 10 / hypot(1.5, 0.5)
