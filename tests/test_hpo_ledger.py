"""TrialLedger: how a finished trial's result (or error) becomes the study's record."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from ccreco.hpo.space import Param, SearchSpace
from ccreco.hpo.study import TrialLedger

SPACE = SearchSpace((Param("hidden", "categorical", (8, 16)),))


@pytest.fixture
def study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=1))


def _ledger(study: optuna.Study, tmp_path: Path, seen: list[int]) -> TrialLedger:
    return TrialLedger(study, SPACE, ["auc", "abs_bias"], models=tmp_path / "models",
                       on_update=lambda s: seen.append(len(s.trials)), done=3)


def test_a_good_result_completes_with_its_values_attributes_and_model(study: optuna.Study, tmp_path: Path) -> None:
    seen: list[int] = []
    ledger = _ledger(study, tmp_path, seen)
    trial, params = ledger.ask()
    assert params["hidden"] in (8, 16)
    ledger.tell(trial, {"auc": 0.9, "bias": -0.25, "_onnx": b"model-bytes"}, None)
    [t] = study.trials
    assert t.state == TrialState.COMPLETE and t.values == [0.9, 0.25]  # abs_bias from bias
    assert t.user_attrs["bias"] == -0.25 and t.user_attrs["model_file"] == "trial_0000.onnx"
    assert "_onnx" not in t.user_attrs and "error" not in t.user_attrs
    assert (tmp_path / "models" / "trial_0000.onnx").read_bytes() == b"model-bytes"
    assert ledger.done == 4 and seen == [1]


@pytest.mark.parametrize(("result", "why"), [
    ({"auc": 0.9}, "trial result lacks objective(s) ['abs_bias']"),
    ({"auc": float("nan"), "abs_bias": 0.1}, "non-finite objective {'auc': nan, 'abs_bias': 0.1}"),
])
def test_a_bad_result_fails_keeps_its_fields_and_writes_no_model(study: optuna.Study, tmp_path: Path,
                                                                  result: dict, why: str) -> None:
    ledger = _ledger(study, tmp_path, [])
    trial, _ = ledger.ask()
    ledger.tell(trial, {**result, "_onnx": b"x"}, None)
    [t] = study.trials
    assert t.state == TrialState.FAIL and t.user_attrs["error"] == why
    assert t.user_attrs["auc"] == result["auc"] or result["auc"] != result["auc"]
    assert "model_file" not in t.user_attrs and not (tmp_path / "models").exists()


def test_an_error_fails_the_trial_with_the_message(study: optuna.Study, tmp_path: Path) -> None:
    ledger = _ledger(study, tmp_path, [])
    trial, _ = ledger.ask()
    ledger.tell(trial, None, "RuntimeError: boom")
    [t] = study.trials
    assert t.state == TrialState.FAIL and t.user_attrs == {"error": "RuntimeError: boom"}
    assert ledger.done == 4
