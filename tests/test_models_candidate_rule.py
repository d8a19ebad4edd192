"""A peak model trained on another candidate rule (local maxima) keeps it end to end (issue 5 parity).

The parity measurement (docs/MODELS.md, "Parity: the candidate rule") trains on
``CandidateConfig(rule="max")`` windows through the library API and must evaluate on the same
definition: the rule is stored in the model, and ``evaluate_peaks(candidates=...)`` with the
stored fields scores exactly the windows the model was trained on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def max_model(tmp_path_factory) -> tuple[Path, Path]:  # noqa: ANN001
    from ccreco.models.config import PEAK_PRESETS, PEAK_TRAIN
    from ccreco.models.dataset import peak_sample
    from ccreco.models.train_peaks import train_peak_model
    from ccreco.sim import SimConfig, simulate_to_file

    d = tmp_path_factory.mktemp("rule")
    sim = d / "tiny.root"
    simulate_to_file(str(sim), SimConfig.from_preset("tb2023-untuned"), 60, 4)
    mcfg = dataclasses.replace(PEAK_PRESETS["compact"], hidden=8, dense=(8, 1))
    sample = peak_sample(str(sim), mcfg, candidates={"rule": "max", "smooth": 1})
    res = train_peak_model(sample.windows, sample.labels, mcfg, dataclasses.replace(PEAK_TRAIN, epochs=1),
                           sampling_ns=sample.sampling_ns, sample=sample.info, candidates=sample.info["candidates"])
    path = d / "lstm_max.onnx"
    res.export(path)
    return sim, path


def test_rule_is_stored_and_evaluated_on_the_same_windows(max_model: tuple[Path, Path]) -> None:
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.kernels import CandidateConfig
    from ccreco.models.config import PEAK_PRESETS
    from ccreco.models.dataset import peak_sample
    from ccreco.models.inference import PeakModel

    sim, path = max_model
    model = PeakModel(path)
    assert model.candidates["rule"] == "max" and model.candidates["smooth"] == 1
    same = evaluate_peaks(str(sim), "lstm", options={"model": str(path)},
                          candidates=CandidateConfig(**model.candidates), keep_scores=True)
    default = evaluate_peaks(str(sim), "lstm", options={"model": str(path)})
    d2 = evaluate_peaks(str(sim), "lstm", options={"model": str(path)}, candidates=CandidateConfig(smooth=1))
    ref = peak_sample(str(sim), PEAK_PRESETS["compact"], candidates={"rule": "max", "smooth": 1})
    # the evaluator's windows are the training definition's, with the same labels
    assert same["candidates_per_waveform"] * same["n_waveforms"] == ref.labels.size
    np.testing.assert_array_equal(same["labels"], ref.labels)
    # without candidates= the evaluator takes the model's stored selection
    assert default["candidates_per_waveform"] == same["candidates_per_waveform"]
    assert default["f1"] == same["f1"]
    # an explicit CandidateConfig wins (here d2, many more windows)
    assert d2["candidates_per_waveform"] > 1.5 * same["candidates_per_waveform"]


def test_cli_trains_and_evaluates_on_local_maxima(max_model: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    from ccreco.cli import main
    from ccreco.cli.train import candidate_options
    from ccreco.errors import ConfigError
    from ccreco.models.inference import PeakModel

    sim, _ = max_model
    out = tmp_path / "m.onnx"
    assert main(["train", "peaks", "--data", str(sim), "--set", "epochs=1", "--set", "hidden=8", "--set", "dense=8,1",
                 "--candidates", "rule=max", "--candidates", "threshold=3", "-o", str(out)]) == 0
    cand = PeakModel(out).candidates
    assert cand["rule"] == "max" and cand["threshold"] == 3.0
    js = tmp_path / "eval.json"
    assert main(["evaluate", "peaks", "--method", "lstm", "--set", f"model={out}", "--data", str(sim),
                 "--json", str(js)]) == 0
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.kernels import CandidateConfig

    ref = evaluate_peaks(str(sim), "lstm", options={"model": str(out)}, candidates=CandidateConfig(**cand))
    assert json.loads(js.read_text())["candidates_per_waveform"] == pytest.approx(ref["candidates_per_waveform"])
    with pytest.raises(ConfigError, match="closest"):
        candidate_options({"rulez": "max"})
    with pytest.raises(ConfigError):
        candidate_options({"rule": "median"})


def test_top_rule_with_region_of_interest_travels_with_the_model(max_model: tuple[Path, Path], tmp_path: Path) -> None:
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.io import iterate
    from ccreco.kernels import CandidateConfig, candidate_recall, candidate_windows
    from ccreco.models.config import PEAK_PRESETS, PEAK_TRAIN
    from ccreco.models.dataset import peak_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.train_peaks import train_peak_model

    sim, _ = max_model
    mcfg = dataclasses.replace(PEAK_PRESETS["compact"], hidden=8, dense=(8, 1))
    cand = {"rule": "top", "min_distance": 3, "threshold": 1.5, "roi_threshold": 6.0, "roi_margin": 20}
    sample = peak_sample(str(sim), mcfg, candidates=cand)
    res = train_peak_model(sample.windows, sample.labels, mcfg, dataclasses.replace(PEAK_TRAIN, epochs=1),
                           sampling_ns=sample.sampling_ns, sample=sample.info, candidates=sample.info["candidates"])
    path = tmp_path / "lstm_top.onnx"
    res.export(path)
    stored = PeakModel(path).candidates
    assert {k: stored[k] for k in cand} == cand
    ev = evaluate_peaks(str(sim), "lstm", options={"model": str(path)})
    chunk = next(iter(iterate(str(sim))))
    cw = candidate_windows(chunk.waveforms, CandidateConfig(**stored), sampling_ns=chunk.sampling_ns)
    found, n_true = candidate_recall(cw, chunk.truth)
    assert ev["candidates_per_waveform"] * ev["n_waveforms"] == len(cw) == sample.labels.size
    assert ev["candidate_recall"] == pytest.approx(found / n_true)
    d2 = evaluate_peaks(str(sim), "lstm", options={"model": str(path)}, candidates=CandidateConfig())
    assert d2["candidates_per_waveform"] > 2 * ev["candidates_per_waveform"]  # a third of the windows or fewer


def test_shipped_default_stores_the_roi_and_roi_false_gives_the_bare_rule(max_model: tuple[Path, Path]) -> None:
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.io import iterate
    from ccreco.kernels import candidate_windows
    from ccreco.models.dataset import candidate_config
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model
    from ccreco.reco.core import RecoConfig, Reconstructor

    sim, _ = max_model
    model = PeakModel(shipped_model(DEFAULT_PEAK_MODEL))
    assert model.candidates["roi_threshold"] is not None and model.candidates["rule"] == "d2"
    chunk = next(iter(iterate(str(sim))))
    bare = candidate_config(model.window_left, model.window_right, model.candidates, roi=False)
    assert bare.roi_threshold is None
    n_bare = len(candidate_windows(chunk.waveforms, bare, sampling_ns=chunk.sampling_ns))
    with_roi = evaluate_peaks(str(sim), "lstm")
    without = evaluate_peaks(str(sim), "lstm", options={"roi": "false"})
    assert without["candidates_per_waveform"] * without["n_waveforms"] == n_bare
    assert with_roi["candidates_per_waveform"] < without["candidates_per_waveform"]
    same = evaluate_peaks(str(sim), "lstm", candidates={"roi_threshold": None})
    assert {k: v for k, v in without.items() if k != "options"} == {k: v for k, v in same.items() if k != "options"}
    assert Reconstructor(RecoConfig(roi=False)).candidates == bare
    assert Reconstructor().candidates.roi_threshold == model.candidates["roi_threshold"]
