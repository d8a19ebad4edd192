"""``ccreco train peaks|clusters|perpeak`` end to end on a tiny simulated file, and the sample builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from ccreco.cli import main  # noqa: E402
from ccreco.models.inference import ClusterModel, PeakModel, read_metadata  # noqa: E402


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory) -> Path:  # noqa: ANN001
    from ccreco.sim import SimConfig, simulate_to_file

    path = tmp_path_factory.mktemp("sim") / "tiny.root"
    simulate_to_file(str(path), SimConfig.from_preset("tb2023-untuned"), 80, 3)
    return path


@pytest.fixture(scope="module")
def lstm_file(sim_file: Path) -> Path:
    out = sim_file.parent / "lstm.onnx"
    rc = main(["train", "peaks", "--data", str(sim_file), "--preset", "compact", "--set", "epochs=2",
               "--set", "hidden=8", "--set", "dense=8,1", "-o", str(out)])
    assert rc == 0
    return out


def test_train_peaks_cli_writes_model_and_history(lstm_file: Path, sim_file: Path) -> None:
    meta = read_metadata(lstm_file)
    assert meta["kind"] == "peaks" and meta["model_config"]["hidden"] == 8
    assert meta["train_sample"]["files"] == ["tiny.root"] and meta["train_sample"]["n_waveforms"] == 80
    assert meta["train_sample"]["preset"] == "compact"
    from ccreco.kernels import CandidateConfig

    assert meta["candidates"]["window_left"] == 5 and meta["candidates"]["threshold"] == CandidateConfig().threshold
    assert meta["metrics"]["epochs_run"] == 2
    assert (lstm_file.parent / "lstm.history.csv").exists() and (lstm_file.parent / "lstm.history.json").exists()
    assert PeakModel(lstm_file).candidates == meta["candidates"]


def test_train_clusters_cli_with_extra_input(lstm_file: Path, sim_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cnn.onnx"
    rc = main(["train", "clusters", "--data", str(sim_file), "--peak-model", str(lstm_file), "--set", "epochs=2",
               "--set", "conv=4x4", "--set", "dense=4", "--set", "extra=track_length_cm",
               "-o", str(out), "--plots", str(tmp_path / "plots")])
    assert rc == 0
    model = ClusterModel(out)
    assert model.extra_inputs == ["track_length_cm"]
    assert model.metadata["train_sample"]["peak_model"]["file"] == "lstm.onnx"
    assert (tmp_path / "plots" / "clusters_npred_vs_ntrue.png").exists()
    pred = model.predict([[110.0, 130.0]], sampling_ns=1.0, window_ns=2000.0, extra={"track_length_cm": [0.8]})
    assert pred.shape == (1,) and np.isfinite(pred).all()


def test_train_perpeak_cli_is_the_library_recipe(lstm_file: Path, sim_file: Path, tmp_path: Path) -> None:
    """``ccreco train perpeak`` gives, byte for byte, the model of the library call with the same
    configuration and seed, and that model runs as the reconstruction's step 2."""
    import dataclasses

    from ccreco.models.config import PeakClusterConfig
    from ccreco.models.dataset import peak_cluster_sample
    from ccreco.models.inference import PeakClusterModel
    from ccreco.models.train_clusters import PEAK_CLUSTER_TRAIN, train_peak_cluster_model

    out = tmp_path / "pp.onnx"
    rc = main(["train", "perpeak", str(sim_file), "--peak-model", str(lstm_file), "--set", "epochs=2",
               "--set", "dense=8", "--set", "context=3", "--set", "waveform_channels=wf_confident,wf_span_ns",
               "--seed", "5", "-o", str(out), "--plots", str(tmp_path / "plots")])
    assert rc == 0
    model = PeakClusterModel(out)
    assert model.metadata["kind"] == "peak_clusters" and model.context == 3
    assert model.metadata["channels"][-2:] == ["wf_confident", "wf_span_ns"]
    assert model.metadata["train_sample"]["peak_model"]["file"] == "lstm.onnx"
    assert model.metadata["train_config"]["seed"] == 5 and model.metadata["metrics"]["epochs_run"] == 2
    assert any((tmp_path / "plots").iterdir())
    cfg = PeakClusterConfig(context=3, dense=(8,), waveform_channels=("wf_confident", "wf_span_ns"))
    sample = peak_cluster_sample([str(sim_file)], PeakModel(lstm_file), cfg.context, channels=cfg.channels)
    result = train_peak_cluster_model(sample, cfg, dataclasses.replace(PEAK_CLUSTER_TRAIN, epochs=2, seed=5))
    result.export(tmp_path / "lib.onnx")
    assert (tmp_path / "lib.onnx").read_bytes() == out.read_bytes()
    assert main(["reco", str(sim_file), "-o", str(tmp_path / "reco"), "--peak-model", str(lstm_file),
                 "--cluster-model", str(out), "--no-plots", "--set", "deriv=false"]) == 0
    assert main(["train", "perpeak", str(sim_file), "--set", "waveform_channels=nope", "-o",
                 str(tmp_path / "bad.onnx")]) == 2
    assert not (tmp_path / "bad.onnx").exists()


def test_cli_usage_errors(sim_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.onnx"
    assert main(["train", "peaks", "--data", str(sim_file), "--preset", "huge", "-o", str(out)]) == 2
    assert "anwar2024" in capsys.readouterr().err
    assert main(["train", "peaks", "--data", str(sim_file), "--set", "epoch=3", "-o", str(out)]) == 2
    assert "epochs" in capsys.readouterr().err
    assert main(["train", "clusters", "--data", str(sim_file), "--peak-model", str(tmp_path / "none.onnx"),
                 "-o", str(out)]) == 2
    assert "none.onnx" in capsys.readouterr().err
    assert not out.exists()


def test_peak_sample_respects_max_waveforms(sim_file: Path) -> None:
    from ccreco.models.config import PEAK_PRESETS
    from ccreco.models.dataset import peak_sample

    s = peak_sample([str(sim_file)], PEAK_PRESETS["compact"], max_waveforms=25, candidates={"threshold": 3.0})
    assert s.info["n_waveforms"] == 25 and s.info["candidates"]["threshold"] == 3.0
    assert s.windows.shape[1:] == (15, 1) and s.windows.dtype == np.float32
    assert s.labels.shape == (s.windows.shape[0],) and 0 < s.labels.sum() < s.labels.size
    assert s.sampling_ns == 1.0


def test_lstm_and_cnn_methods_in_evaluation_registry(lstm_file: Path, sim_file: Path, tmp_path: Path) -> None:
    evaluate = pytest.importorskip("ccreco.analysis.evaluate")
    from ccreco.errors import ConfigError

    assert {"lstm", "cnn"} <= set(evaluate.method_names())
    r = evaluate.evaluate_peaks(str(sim_file), "lstm", options={"model": str(lstm_file)}, max_waveforms=20)
    assert 0 < r["auc"] <= 1 and r["n_waveforms"] == 20 and "electron_efficiency" in r
    c = evaluate.evaluate_clusters(str(sim_file), "lstm", options={"model": str(lstm_file), "c": "0.2"},
                                   max_waveforms=20)
    assert c["n_waveforms"] == 20
    cnn = tmp_path / "cnn.onnx"
    assert main(["train", "clusters", "--data", str(sim_file), "--peak-model", str(lstm_file), "--set", "epochs=1",
                 "--set", "conv=4x4", "--set", "dense=4", "-o", str(cnn)]) == 0
    c = evaluate.evaluate_clusters(str(sim_file), "cnn", options={"model": str(cnn), "peak_model": str(lstm_file)},
                                   max_waveforms=20)
    assert c["n_waveforms"] == 20 and np.isfinite(c["rms"])
    with pytest.raises(ConfigError, match="unknown options"):
        evaluate.evaluate_peaks(str(sim_file), "lstm", options={"model": str(lstm_file), "tresh": "0.9"})


def test_cnn_extra_input_fixed_by_option_or_required_without_truth(lstm_file: Path, sim_file: Path,
                                                                    tmp_path: Path) -> None:
    import dataclasses

    from ccreco.analysis import evaluate
    from ccreco.analysis.methods import cnn_clusters_factory as _cnn_clusters_factory
    from ccreco.errors import ConfigError
    from ccreco.io import read

    cnn = tmp_path / "cnn_len.onnx"
    assert main(["train", "clusters", "--data", str(sim_file), "--peak-model", str(lstm_file), "--set", "epochs=1",
                 "--set", "conv=4x4", "--set", "dense=4", "--set", "extra=track_length_cm", "-o", str(cnn)]) == 0
    opts = {"model": str(cnn), "peak_model": str(lstm_file)}
    chunk = read(str(sim_file))
    from_truth = _cnn_clusters_factory(opts)(chunk)
    same = _cnn_clusters_factory(dict(opts, track_length_cm="0.8"))(dataclasses.replace(chunk, truth=None))
    np.testing.assert_array_equal(from_truth, same)  # the preset's square cell: 0.8 cm / cos(0)
    with pytest.raises(ConfigError, match="track_length_cm=VALUE"):
        _cnn_clusters_factory(opts)(dataclasses.replace(chunk, truth=None))
    c = evaluate.evaluate_clusters(str(sim_file), "cnn", options=dict(opts, track_length_cm="0.8"), max_waveforms=20)
    assert c["n_waveforms"] == 20
