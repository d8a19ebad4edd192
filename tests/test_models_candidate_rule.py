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
    from ccreco.models.dataset import peak_sample
    from ccreco.models.config import PEAK_PRESETS
    from ccreco.models.inference import PeakModel

    sim, path = max_model
    model = PeakModel(path)
    assert model.candidates["rule"] == "max" and model.candidates["smooth"] == 1
    same = evaluate_peaks(str(sim), "lstm", options={"model": str(path)},
                          candidates=CandidateConfig(**model.candidates), keep_scores=True)
    default = evaluate_peaks(str(sim), "lstm", options={"model": str(path)})
    ref = peak_sample(str(sim), PEAK_PRESETS["compact"], candidates={"rule": "max", "smooth": 1})
    # the evaluator's windows are the training definition's, with the same labels
    assert same["candidates_per_waveform"] * same["n_waveforms"] == ref.labels.size
    np.testing.assert_array_equal(same["labels"], ref.labels)
    # without candidates= the evaluator uses its default (d2): many more windows
    assert default["candidates_per_waveform"] > 1.5 * same["candidates_per_waveform"]
