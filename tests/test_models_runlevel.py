"""The run-level correction: statistics, fit, ONNX model, chain check, and its use in ccreco reco."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import uproot

from ccreco.errors import ConfigError, ModelError
from ccreco.models.runlevel import STATISTICS, RunLevelSample, fit_run_level, run_statistics


def test_run_statistics_of_known_candidates() -> None:
    # two waveforms: confident candidates at 0, 3, 10 ns (gaps 3 and 7) and at 5, 6 ns (gap 1)
    t = [0, 3, 10, 50, 5, 6]
    score = [0.9, 0.9, 0.9, 0.1, 0.9, 0.9]
    f = np.column_stack([t, [10, 20, 30, 5, 40, 40], np.ones(6), score]).astype(np.float32)
    x = dict(zip(STATISTICS, run_statistics(f, np.array([0, 4, 6]), np.array([3.0, 2.0]), np.ones(2)), strict=True))
    assert len(x) == len(STATISTICS)
    assert x["confident_per_wf"] == 2.5 and x["span_ns"] == 5.5
    assert x["gaps_0_2"] == x["gaps_2_4"] == x["gaps_6_9"] == 1 / 3 and x["gaps_4_6"] == 0
    assert x["candidates_per_confident"] == 3 / 2.5 and x["count_per_confident"] == 2.5 / 2.5
    assert x["amp_q50_over_noise"] == 30.0
    # offsets into a larger array (a block that starts mid-file) give the same statistics
    shifted = run_statistics(f, np.array([10, 14, 16]), np.array([3.0, 2.0]), np.ones(2))
    assert np.array_equal(shifted, np.array(list(x.values())))
    with pytest.raises(ValueError, match="2 waveforms"):
        run_statistics(f, np.array([0, 4, 6]), np.array([3.0]), np.ones(2))


def test_run_statistics_without_confident_candidates_are_finite() -> None:
    f = np.column_stack([[5.0, 9.0], [3.0, 3.0], [1.0, 1.0], [0.1, 0.2]]).astype(np.float32)
    x = run_statistics(f, np.array([0, 1, 2]), np.zeros(2), np.ones(2))
    assert np.all(np.isfinite(x)) and x[0] == 0


def test_fit_recovers_a_linear_log_level() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, len(STATISTICS))) * rng.uniform(0.1, 5, len(STATISTICS)) + 10
    w = np.zeros(len(STATISTICS))
    w[[0, 4, 9]] = (0.03, -0.02, 0.01)
    level = np.exp((x - 10) @ w + 0.05)
    sample = RunLevelSample(x, np.full(400, 100.0), 100.0 * level, 1.0)
    fit = fit_run_level(sample, ridge=1e-6)
    assert np.allclose(fit.level(x), level, rtol=1e-6)
    assert np.all(fit.low <= x.min(0)) and np.all(fit.high >= x.max(0))
    with pytest.raises(ConfigError, match="ridge"):
        fit_run_level(sample, ridge=-1.0)


@pytest.fixture(scope="module")
def randomized_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 randomized waveforms in blocks of 100 (six simulated runs)."""
    from ccreco.sim.randomize import RandomizeConfig, write_randomized

    path = tmp_path_factory.mktemp("runlevel") / "runs.root"
    write_randomized(path, RandomizeConfig(block=100, density_scale=(0.5, 2.0)), 600, seed=5, progress=False)
    return path


@pytest.fixture(scope="module")
def run_level_model(randomized_runs: Path) -> tuple[Path, dict]:
    pytest.importorskip("torch")
    from ccreco.models.train_runlevel import train_run_level

    out = randomized_runs.with_name("rl.onnx")
    return out, train_run_level(randomized_runs, out, block=100, ridge=1.0)


def test_too_few_runs_for_the_statistics_warn(randomized_runs, tmp_path, caplog) -> None:
    pytest.importorskip("torch")
    from ccreco.models.train_runlevel import train_run_level

    with caplog.at_level(logging.WARNING, logger="ccreco"):
        train_run_level(randomized_runs, tmp_path / "few.onnx", block=100, max_waveforms=300)
    assert "3 simulated runs for 18 statistics" in caplog.text


def test_trained_model_reproduces_the_fit_and_names_its_chain(run_level_model, randomized_runs) -> None:
    from ccreco.models.dataset import candidate_config
    from ccreco.models.inference import PeakClusterModel, PeakModel, RunLevelModel, load_model
    from ccreco.models.runlevel import run_level_sample
    from ccreco.models.shipped import shipped_model

    path, result = run_level_model
    model = load_model(path)
    assert isinstance(model, RunLevelModel) and model.statistics == STATISTICS and model.min_waveforms == 100
    assert result["blocks"] == 6 and result["metrics"]["train"]["log_level_rms_corrected"] < \
        result["metrics"]["train"]["log_level_rms"]
    step1 = PeakModel(shipped_model("lstm_compact_tb2023_untuned"))
    step2 = PeakClusterModel(shipped_model("perpeak_random_wide"))
    sample = run_level_sample(randomized_runs, step1, step2, block=100)
    # the ONNX graph is the fit: the corrected levels of the training blocks match the metrics
    resid = np.log(sample.level) - np.log(model.level(sample.statistics))
    assert np.std(resid) == pytest.approx(result["metrics"]["train"]["log_level_rms_corrected"], rel=1e-4)
    assert model.outside(sample.statistics[0]) == []  # a training block lies inside the ranges
    far = sample.statistics[0].copy()
    far[STATISTICS.index("span_ns")] = 1e4
    assert [n.split("=")[0] for n in model.outside(far)] == ["span_ns"]
    cands = candidate_config(step1.window_left, step1.window_right, step1.candidates)
    assert model.chain_differences(step1.path, step2.path, cands) == []
    other = model.chain_differences(step1.path, shipped_model("perpeak_random_wide_angle"), cands)
    assert len(other) == 1 and "perpeak_random_wide.onnx" in other[0]
    no_roi = candidate_config(step1.window_left, step1.window_right, step1.candidates, roi=False)
    assert any("region of interest" in d for d in model.chain_differences(step1.path, step2.path, no_roi))


def test_cli_train_runlevel_writes_the_library_model(run_level_model, randomized_runs, tmp_path, capsys) -> None:
    from ccreco.cli import main

    path, _ = run_level_model
    out = tmp_path / "cli.onnx"
    assert main(["train", "runlevel", str(randomized_runs), "--block", "100", "--ridge", "1", "-o", str(out),
                 "--plots"]) == 0
    assert out.read_bytes() == path.read_bytes()  # deterministic: same sample, same bytes
    assert (tmp_path / "cli-plots" / "run_level.png").stat().st_size > 10_000
    assert '"blocks": 6' in capsys.readouterr().out


def test_reconstructor_refuses_run_level_with_another_chain_or_a_fixed_level() -> None:
    from ccreco.reco.core import RecoConfig, Reconstructor

    with pytest.raises(ConfigError, match="not both"):
        RecoConfig(run_level="run_level_perpeak_random_wide", step2_level=1.1)
    with pytest.raises(ModelError, match="per-peak step 2"):
        Reconstructor(RecoConfig(run_level="run_level_perpeak_random_wide", cluster_model="cnn_ihep_tb2023_mix"))
    with pytest.raises(ModelError, match="per-peak step 2 without geometry"):
        Reconstructor(RecoConfig(run_level="run_level_perpeak_random_wide",
                                 cluster_model="perpeak_random_wide_angle"))
    with pytest.raises(ModelError, match="another chain.*region of interest"):
        Reconstructor(RecoConfig(run_level="run_level_perpeak_random_wide", roi=False))
    assert RecoConfig(run_level="none").run_level is None
    with pytest.raises(ConfigError, match="run_level_waveforms"):
        RecoConfig(run_level_waveforms=50)


def _reco(files, out: Path, **config) -> dict:
    from ccreco.reco.batch import run_reco
    from ccreco.reco.core import RecoConfig

    return run_reco(files, out, config=RecoConfig(deriv=False, **config), status=False, plots=False).data


def test_reco_divides_each_file_by_its_run_level(simulated_file, tmp_path) -> None:
    dense = simulated_file(300, 41, density_scale=1.5)
    plain = simulated_file(300, 42)
    raw = _reco([dense, plain], tmp_path / "raw")
    data = _reco([dense, plain], tmp_path / "rl", run_level="run_level_perpeak_random_wide")
    assert raw["run_level"] is None
    section = data["run_level"]
    assert section["files_corrected"] == 2 and section["waveforms_per_file"] == 2000
    levels = {Path(r["file"]).name: r["level"] for r in section["files"]}
    assert all(r["waveforms"] == 300 and r["applied"] for r in section["files"])
    # a denser run is counted lower by the per-peak model: its predicted level is lower
    assert levels[dense.name] < levels[plain.name]
    a = uproot.open(tmp_path / "raw" / "reco.root")["reco"].arrays(["n_clusters", "dndx", "file_index"], library="np")
    b = uproot.open(tmp_path / "rl" / "reco.root")["reco"].arrays(["n_clusters", "dndx", "file_index"], library="np")
    per_row = np.where(a["file_index"] == 0, levels[dense.name], levels[plain.name]).astype(np.float32)
    assert np.allclose(b["n_clusters"], a["n_clusters"] / per_row, rtol=1e-5)
    assert np.allclose(b["dndx"], a["dndx"] / per_row, rtol=1e-5)


def test_reco_pools_small_files_and_leaves_too_few_uncorrected(simulated_file, tmp_path, caplog) -> None:
    small = [simulated_file(40, s) for s in (51, 52, 53)]
    data = _reco(small, tmp_path / "pooled", run_level="run_level_perpeak_random_wide")
    records = data["run_level"]["files"]
    assert {r["level"] for r in records} == {records[0]["level"]} and all(r["applied"] for r in records)
    assert sorted(records[0]["pooled_with"]) == sorted(str(Path(p).resolve()) for p in small)
    with caplog.at_level(logging.WARNING, logger="ccreco"):
        data = _reco(small[:2], tmp_path / "few", run_level="run_level_perpeak_random_wide")
    assert data["run_level"]["files_not_corrected"] == 2
    assert "fewer than the 100" in data["run_level"]["files"][0]["reason"]
    assert "not corrected by the run-level correction" in caplog.text


def test_reco_leaves_a_run_outside_the_training_range_uncorrected(simulated_file, tmp_path, caplog) -> None:
    noisy = simulated_file(200, 61, noise_mv=4.0)  # far beyond the 1-2 mV of the training runs
    with caplog.at_level(logging.WARNING, logger="ccreco"):
        data = _reco(noisy, tmp_path / "noisy", run_level="run_level_perpeak_random_wide")
    record = data["run_level"]["files"][0]
    assert not record["applied"] and any(s.startswith("amp_q50_over_noise=") for s in record["outside_training"])
    assert noisy.name in caplog.text and "amp_q50_over_noise" in caplog.text
    raw = _reco(noisy, tmp_path / "raw")
    assert data["stats"]["n_clusters"]["mean"] == pytest.approx(raw["stats"]["n_clusters"]["mean"], rel=1e-6)


def test_evaluate_perpeak_run_level_matches_the_reconstruction(simulated_file, tmp_path, caplog) -> None:
    from ccreco.analysis.evaluate import evaluate_clusters

    f = simulated_file(300, 41, density_scale=1.5)
    data = _reco(f, tmp_path / "rl", run_level="run_level_perpeak_random_wide")
    reco = uproot.open(tmp_path / "rl" / "reco.root")["reco"].arrays(["n_clusters_int"], library="np")
    got = evaluate_clusters(f, "perpeak", options={"run_level": "run_level_perpeak_random_wide"})
    assert data["run_level"]["files_corrected"] == 1
    assert got["mean_reco"] == pytest.approx(np.mean(reco["n_clusters_int"]), abs=1e-9)
    raw = evaluate_clusters(f, "perpeak")
    assert raw["mean_reco"] < got["mean_reco"]  # a dense run is undercounted: its level is below 1
    with caplog.at_level(logging.WARNING, logger="ccreco"):  # chunks of 60: too small to be runs
        small = evaluate_clusters(f, "perpeak", options={"run_level": "run_level_perpeak_random_wide"}, step_size=60)
    assert small["mean_reco"] == raw["mean_reco"] and "60 waveforms, fewer than the 100" in caplog.text
    with pytest.raises(ConfigError, match="not with calibrate"):
        evaluate_clusters(f, "perpeak", options={"run_level": "run_level_perpeak_random_wide", "calibrate": "1"})


def test_cli_reco_run_level_reports_and_names_it_in_the_plots(simulated_file, tmp_path, capsys, plot_legends) -> None:
    from ccreco.cli import main

    f = simulated_file(300, 42)
    assert main(["reco", str(f), "-o", str(tmp_path / "out"), "--set", "run_level=run_level_perpeak_random_wide",
                 "--set", "deriv=false"]) == 0
    out = capsys.readouterr().out
    assert "run-level correction: 1 file(s) corrected, level " in out
    assert any("/ run level " in t for t in plot_legends["n_clusters"])
    with uproot.open(tmp_path / "out" / "hists.root") as hists:
        assert "(divided by run level " in hists["n_clusters"].title
    assert not (tmp_path / "out" / "plots" / "run_level.png").exists()  # one file: nothing to compare
    noisy = simulated_file(200, 61, noise_mv=4.0)
    assert main(["reco", str(f), str(noisy), "-o", str(tmp_path / "two"), "--set",
                 "run_level=run_level_perpeak_random_wide", "--set", "deriv=false"]) == 0
    assert "1 file(s) corrected, level " in capsys.readouterr().out
    assert (tmp_path / "two" / "plots" / "run_level.png").exists()
    assert "plots/run_level.png" in json.loads((tmp_path / "two" / "summary.json").read_text())["outputs"]
    assert main(["reco", str(f), "-o", str(tmp_path / "x"), "--set", "run_level=no_such_correction"]) == 2
    assert "'no_such_correction': model file not found" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_run_level_is_the_same_in_every_executor_and_for_grouped_small_files(simulated_file, tmp_path) -> None:
    from ccreco.reco.batch import run_reco
    from ccreco.reco.core import RecoConfig

    files = [simulated_file(30, 70 + i) for i in range(4)] + [simulated_file(300, 42)]
    config = RecoConfig(deriv=False, run_level="run_level_perpeak_random_wide")
    ref = run_reco(files, tmp_path / "it", config=config, chunk_size=100, status=False, plots=False)
    fut = run_reco(files, tmp_path / "fut", config=config, executor="futures", workers=2, chunk_size=100,
                   status=False, plots=False)
    raw = run_reco(files, tmp_path / "raw", config=RecoConfig(deriv=False), chunk_size=100, status=False, plots=False)
    records = {Path(r["file"]).name: r for r in ref.data["run_level"]["files"]}
    assert all(r["applied"] for r in records.values())
    assert len(records[files[0].name]["pooled_with"]) == 4  # 4 x 30 waveforms: one pooled run
    a, b, c = (uproot.open(s.outdir / "reco.root")["reco"].arrays(["n_clusters", "file_index"], library="np")
               for s in (ref, fut, raw))
    np.testing.assert_array_equal(a["n_clusters"], b["n_clusters"])
    level = np.array([records[Path(f).name]["level"] for f in files], dtype=np.float32)[c["file_index"]]
    np.testing.assert_allclose(a["n_clusters"], c["n_clusters"] / level, rtol=1e-5)
    with uproot.open(ref.outdir / "reco.root") as f:  # the outputs say what each file was divided by
        provenance = json.loads(str(f["provenance"]))
    assert provenance["run_level"] == {r["file"]: r["level"] for r in ref.data["run_level"]["files"]}
    assert provenance["models"]["run_level"]["metadata"]["kind"] == "run_level"


def test_notebook_reconstruct_takes_the_chunk_as_the_run(simulated_file, tmp_path, caplog) -> None:
    import dataclasses

    from ccreco.io import read
    from ccreco.reco.core import RecoConfig, Reconstructor, reconstruct

    f = simulated_file(300, 42)
    reco = Reconstructor(RecoConfig(deriv=False, run_level="run_level_perpeak_random_wide"))
    chunk = read(f)
    corrected = reconstruct(chunk, reconstructor=reco)
    raw = reconstruct(chunk, RecoConfig(deriv=False))
    data = _reco(f, tmp_path / "rl", run_level="run_level_perpeak_random_wide")
    level = data["run_level"]["files"][0]["level"]
    assert corrected.step2_level == pytest.approx(level, rel=1e-6) and raw.step2_level == 1.0
    np.testing.assert_allclose(corrected.n_clusters, raw.n_clusters / np.float32(level), rtol=1e-6)
    small = dataclasses.replace(chunk, waveforms=chunk.waveforms[:50], meta=chunk.meta[:50],
                                truth=chunk.truth[:50])
    with caplog.at_level(logging.WARNING, logger="ccreco"):
        few = reco(small)
    assert few.step2_level == 1.0 and "fewer than the 100" in caplog.text
    np.testing.assert_allclose(few.n_clusters, raw.n_clusters[:50], rtol=1e-6)
