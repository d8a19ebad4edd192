"""First-stage pre-selection in candidate selection: features by hand, the cut, config, metadata."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from ccreco.errors import ConfigError
from ccreco.kernels import PRESELECT_FEATURES, CandidateConfig, candidate_features, find_candidates

N_WEIGHTS = len(PRESELECT_FEATURES) + 1
KEEP_ALL = (0.0,) * N_WEIGHTS  # logit 0 >= threshold 0
#: the weights of the study's k2.5+roi6/20 fit (benchmarks/preselect_study.md), rounded
STUDY = (0.0434, -0.0426, -0.0864, -0.0611, -0.0292, 0.7380, -0.0804, 0.1641, -0.0934, 2.0562, -6.5419)


def noisy_pulses(seed: int, n: int = 8, ns: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n, ns))
    t = np.arange(ns)
    for w in range(n):
        for t0 in rng.uniform(80, 220, size=int(rng.integers(2, 8))):
            x[w] += rng.uniform(3, 25) * np.exp(-0.5 * ((t - t0) / 2.0) ** 2)
    return x.astype(np.float32)


SELECTIONS = [
    {"rule": "d2"},
    {"rule": "d2", "threshold": None},
    {"rule": "max", "threshold": 1.0},
    {"rule": "top", "min_distance": 3},
    {"rule": "d2", "roi_threshold": 6.0, "roi_margin": 20},
    {"rule": "top", "threshold": None, "roi_threshold": 5.0, "roi_margin": 10},
    {"rule": "d2", "smooth": 1, "roi_threshold": 6.0},
]


def test_off_by_default_and_keep_all_weights_change_nothing() -> None:
    assert CandidateConfig().preselect_weights is None and CandidateConfig().preselect_threshold == 0.0
    wf = noisy_pulses(1)
    for sel in SELECTIONS:
        base = find_candidates(wf, CandidateConfig(**sel), lo=5, hi=290)
        # preselect_threshold alone does nothing while the weights are None
        same = find_candidates(wf, CandidateConfig(**sel, preselect_threshold=50.0), lo=5, hi=290)
        keep = find_candidates(wf, CandidateConfig(**sel, preselect_weights=KEEP_ALL), lo=5, hi=290)
        assert base[0].size > 0, sel
        for got in (same, keep):
            for a, b in zip(base, got, strict=True):
                np.testing.assert_array_equal(a, b)


def test_reject_everything() -> None:
    wf = noisy_pulses(2)
    cfg = CandidateConfig(roi_threshold=6.0, preselect_weights=(0.0,) * 10 + (-1.0,))
    index, offsets, _, _ = find_candidates(wf, cfg)
    assert index.size == 0 and offsets.shape == (wf.shape[0] + 1,) and not offsets.any()
    # a threshold above every logit does the same with real weights
    index, offsets, _, _ = find_candidates(wf, CandidateConfig(preselect_weights=STUDY, preselect_threshold=1e9))
    assert index.size == 0


@pytest.mark.parametrize("sel", SELECTIONS, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
def test_cut_is_the_logit_of_the_features_after_the_selection(sel: dict) -> None:
    wf = noisy_pulses(3)
    start = CandidateConfig(**sel)
    idx, off, bl, rms = find_candidates(wf, start, lo=5, hi=290)
    logit = candidate_features(wf, idx, off, bl, rms) @ np.array(STUDY[:10]) + STUDY[10]
    thr = float(np.median(logit))  # about half of them
    got, goff, gbl, grms = find_candidates(
        wf, dataclasses.replace(start, preselect_weights=STUDY, preselect_threshold=thr), lo=5, hi=290)
    keep = logit >= thr
    assert 0 < keep.sum() < keep.size
    np.testing.assert_array_equal(got, idx[keep])
    wave = np.repeat(np.arange(wf.shape[0]), np.diff(off))
    np.testing.assert_array_equal(np.diff(goff), np.bincount(wave[keep], minlength=wf.shape[0]))
    np.testing.assert_array_equal(gbl, bl)  # the selection's own baseline and RMS
    np.testing.assert_array_equal(grms, rms)


def test_is_max_weight_turns_d2_into_the_max_rule() -> None:
    # every local maximum is a d2 candidate; keeping d2 candidates with is_max = 1 gives rule "max"
    wf = noisy_pulses(4)
    only_max = tuple(1.0 if f == "is_max" else 0.0 for f in PRESELECT_FEATURES) + (-0.5,)
    for extra in ({}, {"roi_threshold": 6.0}, {"threshold": None}):
        cut = find_candidates(wf, CandidateConfig(rule="d2", preselect_weights=only_max, **extra))
        ref = find_candidates(wf, CandidateConfig(rule="max", **extra))
        np.testing.assert_array_equal(cut[0], ref[0])
        np.testing.assert_array_equal(cut[1], ref[1])


def test_features_by_hand() -> None:
    x = np.zeros((2, 20), np.float32)
    x[0, 8:13] = [1.0, 3.0, 4.0, 3.5, 1.0]  # rises to 4 at sample 10; baseline 0, rms 0.5
    x[1, :5] = [0.0, 2.0, 1.0, 0.0, 0.0]  # a candidate at sample 1 (windows clipped); rms 0 -> 1
    idx = np.array([9, 10, 1], np.int64)
    off = np.array([0, 2, 3], np.int64)
    f = candidate_features(x, idx, off, np.array([0.0, 0.5]), np.array([0.5, 0.0]))
    expect = {
        "height": [6.0, 8.0, 1.5],
        "rise5": [6.0, 8.0, 2.0],
        "curv": [2.0, 3.0, 3.0],
        "d1_before": [4.0, 2.0, 2.0],
        "d1_after": [2.0, -1.0, -1.0],
        "is_max": [0.0, 1.0, 1.0],
        "below_top2": [2.0, 0.0, 0.0],
        "rise3": [6.0, 8.0, 2.0],
        "fall3": [4.0, 8.0, 2.0],
        "log_height": np.log1p([6.0, 8.0, 1.5]),
    }
    assert tuple(expect) == PRESELECT_FEATURES
    for j, name in enumerate(PRESELECT_FEATURES):
        np.testing.assert_allclose(f[:, j], expect[name], rtol=1e-12, err_msg=name)
    with pytest.raises(ValueError, match="neighbours"):
        candidate_features(x, np.array([0, 10, 1]), off, np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="offsets"):
        candidate_features(x, idx, np.array([0, 2, 2]), np.zeros(2), np.ones(2))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("preselect_weights", (1.0,) * 10, "preselect_weights must be None or 11"),
     ("preselect_weights", (1.0,) * 12, "preselect_weights must be None or 11"),
     ("preselect_weights", "1,2,3,4,5,6,7,8,9,10,11", "preselect_weights must be None or 11"),
     ("preselect_weights", (1.0,) * 5 + (float("nan"),) + (1.0,) * 5, r"preselect_weights\[5\] \(is_max\)"),
     ("preselect_weights", (1.0,) * 10 + (float("inf"),), r"preselect_weights\[10\] \(intercept\)"),
     ("preselect_weights", (True,) + (1.0,) * 10, r"preselect_weights\[0\] \(height\)"),
     ("preselect_weights", ("a",) + (1.0,) * 10, r"preselect_weights\[0\]"),
     ("preselect_threshold", float("nan"), "preselect_threshold must be a finite number"),
     ("preselect_threshold", True, "preselect_threshold must be a finite number"),
     ("preselect_threshold", "0.5", "preselect_threshold must be a finite number")],
)
def test_config_errors_name_the_field(field: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CandidateConfig(**{field: value})


def test_lists_become_tuples_and_the_config_stays_hashable() -> None:
    cfg = CandidateConfig(preselect_weights=list(STUDY), preselect_threshold=-2)
    assert cfg.preselect_weights == STUDY and isinstance(cfg.preselect_threshold, float)
    assert hash(cfg) == hash(CandidateConfig(preselect_weights=np.array(STUDY), preselect_threshold=-2.0))


def test_model_metadata_round_trip() -> None:
    from ccreco.cli.train import candidate_options
    from ccreco.models.dataset import candidate_config

    stored = candidate_options({"roi_threshold": "6", "preselect_weights": ",".join(map(str, STUDY)),
                                "preselect_threshold": "-2.2"})
    meta = json.loads(json.dumps(stored))  # as the ONNX metadata holds it
    assert isinstance(meta["preselect_weights"], list)
    cfg = candidate_config(5, 9, meta)
    assert cfg.preselect_weights == STUDY and cfg.preselect_threshold == -2.2 and cfg.roi_threshold == 6.0
    off = candidate_config(5, 9, meta, preselect=False)
    assert off.preselect_weights is None and off.roi_threshold == 6.0
    assert candidate_config(5, 9, meta, roi=False).preselect_weights == STUDY


def test_reco_and_evaluate_take_the_stored_preselection(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from ccreco.analysis.methods import _peak_model
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model
    from ccreco.reco.core import RecoConfig, Reconstructor

    model = onnx.load(shipped_model(DEFAULT_PEAK_MODEL))
    for prop in model.metadata_props:
        if prop.key == "ccreco.candidates":
            cand = json.loads(prop.value)
            cand.update(preselect_weights=list(STUDY), preselect_threshold=-2.2)
            prop.value = json.dumps(cand)
    path = tmp_path / "lstm_preselect.onnx"
    onnx.save(model, path)
    with_cut = Reconstructor(RecoConfig(peak_model=str(path))).candidates
    assert with_cut.preselect_weights == STUDY and with_cut.preselect_threshold == -2.2
    without = Reconstructor(RecoConfig(peak_model=str(path), preselect=False)).candidates
    assert without == dataclasses.replace(with_cut, preselect_weights=None)
    assert _peak_model({"model": str(path)})[2] == with_cut
    assert _peak_model({"model": str(path), "preselect": "false"})[2] == without
