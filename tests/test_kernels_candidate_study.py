"""benchmarks/candidate_study.py on a tiny sample: the rows are consistent with the kernels."""

from __future__ import annotations

import pytest
from script_helpers import load_script


def test_study_rows_on_a_tiny_sample() -> None:
    cs = load_script("benchmarks/candidate_study.py")
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

    cs = load_script("benchmarks/candidate_study.py")
    loud, quiet = cs.sample(20, seed=1), cs.sample(20, seed=1, snr=20.0)
    assert quiet.waveforms.shape == (20, 2000)
    ratio = np.mean(baseline_rms(quiet.waveforms)[1]) / np.mean(baseline_rms(loud.waveforms)[1])
    assert ratio == pytest.approx(6.3246 / 20.0, rel=0.1)  # the preset's S/N is 10 / hypot(1.5, 0.5)


def test_pair_table_counts_isolated_pairs() -> None:
    import awkward as ak
    import numpy as np

    from ccreco.io import WaveformChunk
    from ccreco.kernels import CandidateConfig

    cs = load_script("benchmarks/candidate_study.py")
    # two clean pulses 8 samples apart (one isolated pair), and a lone pulse
    t = np.arange(300, dtype=np.float64)
    wf = np.zeros((2, 300), np.float32)
    for w, peaks in enumerate(([100.0, 108.0], [200.0])):
        for p in peaks:
            wf[w] += (10 * np.exp(-np.abs(t - p) / np.where(t < p, 1.0, 3.0))).astype(np.float32)
    truth = ak.Array({"electron_peak_ns": [[100.0, 108.0], [200.0]]})
    meta = ak.Array({"run": [0, 0], "event": [0, 1], "channel": [0, 0]})
    chunk = WaveformChunk(wf, 1.0, meta, truth)
    lines = cs.pair_table(chunk, [("top 3", CandidateConfig(threshold=None, rule="top")),
                                  ("top 9", CandidateConfig(threshold=None, rule="top", min_distance=9))])
    cells = [line.split("|")[1:-1] for line in lines[2:]]
    col = [i for i, (a, b) in enumerate(cs.PAIR_BINS) if a <= 8 <= b][0] + 1
    assert cells[0][col].strip() == "1"  # one isolated pair, 8 samples apart
    assert cells[1][col].strip() == "1.00"  # both tops kept at min_distance 3
    assert cells[2][col].strip() == "0.00"  # one suppressed at min_distance 9
