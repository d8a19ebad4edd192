"""``ccreco hpo perpeak``: HPO of the step-2 per-peak model (ONNX kind ``peak_clusters``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from ccreco.cli import main  # noqa: E402
from ccreco.errors import ConfigError  # noqa: E402
from ccreco.hpo.space import load_space, parse_space  # noqa: E402
from ccreco.hpo.trial import (  # noqa: E402
    build_configs,
    check_names,
    check_space,
    perpeak_layout,
    select_context,
    waveform_channel_names,
)
from ccreco.models.config import PeakClusterConfig  # noqa: E402
from ccreco.models.encoding import CONTEXT_CHANNELS, WAVEFORM_CHANNELS, peak_context  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hpo_space_perpeak.toml"

# Explicit channels everywhere: PeakClusterConfig's default channels may change.
SPACE = """
[params]
context = [1, 2]
waveform_channels = ["none", "wf_score_sum,wf_span_ns"]
dense = "8"
epochs = 2
batch_size = 512
"""


def test_channel_names_and_refusals() -> None:
    assert waveform_channel_names("none") == waveform_channel_names("") == ()
    assert waveform_channel_names("wf_span_ns, wf_score_sum") == ("wf_span_ns", "wf_score_sum")
    with pytest.raises(ConfigError,
                       match=r"waveform_channels='wf_score_sum,wf_nope': unknown channel\(s\) \['wf_nope'\]"):
        waveform_channel_names("wf_score_sum,wf_nope")
    with pytest.raises(ConfigError, match="repeated"):
        waveform_channel_names("wf_span_ns,wf_span_ns")
    bad = parse_space({"params": {"waveform_channels": ["none", "wf_nope"], "epochs": 1}})
    with pytest.raises(ConfigError, match="waveform_channels.*wf_nope"):
        check_space("perpeak", bad)
    with pytest.raises(ConfigError, match="'context'"):
        check_space("perpeak", parse_space({"params": {"context": {"low": 0.5, "high": 3.0}}}))
    with pytest.raises(ConfigError, match="Poisson"):
        check_names("perpeak", ["loss"])
    with pytest.raises(ConfigError, match="unknown hyperparameter 'conv' for perpeak"):
        check_names("perpeak", ["conv"])
    with pytest.raises(ConfigError, match="kind must be one of peaks, clusters, perpeak"):
        build_configs("nope", {}, 0)


def test_layout_is_the_largest_context_and_every_channel() -> None:
    space = parse_space({"params": {"context": {"low": 1, "high": 5},
                                    "waveform_channels": ["none", "wf_span_ns", "wf_span_ns,wf_score_sum"]}})
    context, channels = perpeak_layout(space)
    assert context == 5
    # waveform-level channels in WAVEFORM_CHANNELS order, whatever the order of the choices
    assert channels == CONTEXT_CHANNELS + tuple(c for c in WAVEFORM_CHANNELS if c in ("wf_span_ns", "wf_score_sum"))
    base = PeakClusterConfig()  # parameters the space leaves out take the config's defaults
    assert perpeak_layout(parse_space({"params": {"epochs": 1}})) == (base.context, base.channels)


def test_select_context_equals_the_sample_of_that_context() -> None:
    rng = np.random.default_rng(5)
    counts = np.array([0, 1, 7, 3, 12])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    feats = np.concatenate([np.stack([np.sort(rng.uniform(0, 900, c)), rng.uniform(1, 40, c), rng.uniform(0, 30, c),
                                      rng.uniform(0, 1, c)], axis=1) for c in counts]).astype(np.float32)
    wide = CONTEXT_CHANNELS + WAVEFORM_CHANNELS
    x = peak_context(feats, offsets, 4, wide)
    for context, wc in ((0, ()), (2, ("wf_span_ns", "wf_score_sum")), (4, WAVEFORM_CHANNELS)):
        cfg = PeakClusterConfig(context=context, waveform_channels=wc)
        np.testing.assert_array_equal(select_context(x, 4, wide, cfg),
                                      peak_context(feats, offsets, context, cfg.channels))
    with pytest.raises(ConfigError, match="larger than the prepared sample's 4"):
        select_context(x, 4, wide, PeakClusterConfig(context=5, waveform_channels=()))
    with pytest.raises(ConfigError, match="wf_span_ns not in the prepared sample"):
        select_context(x[:, :, :6], 4, CONTEXT_CHANNELS,
                       PeakClusterConfig(context=1, waveform_channels=("wf_span_ns",)))


def test_shipped_space_gives_valid_configs() -> None:
    space = load_space(EXAMPLE)
    check_space("perpeak", space)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(10):
        params = space.suggest(study.ask())
        model, train = build_configs("perpeak", params, seed=3)
        assert isinstance(model, PeakClusterConfig) and train.seed == 3
        assert model.context == params["context"] and model.waveform_channels == waveform_channel_names(
            params["waveform_channels"])


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ccreco.sim import SimConfig, simulate_to_file

    path = tmp_path_factory.mktemp("hpo-perpeak") / "sim.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), 120, 3, progress=False)
    return path


def test_cli_refuses_an_unknown_channel_before_preparing(tmp_path: Path, sim_file: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.toml"
    space.write_text(SPACE.replace("wf_score_sum,wf_span_ns", "wf_score_sum,wf_nope"))
    out = tmp_path / "out"
    assert main(["hpo", "perpeak", str(sim_file), "--space", str(space), "--executor", "iterative",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "waveform_channels" in err and "wf_nope" in err
    assert not (out / "sample.npz").exists()


def test_cli_perpeak_end_to_end(tmp_path: Path, sim_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.toml"
    space.write_text(SPACE)
    out = tmp_path / "out"
    args = ["hpo", "perpeak", str(sim_file), "--space", str(space), "--trials", "4", "--sampler", "grid",
            "--seed", "2", "--objective", "rms_over_sqrt_n", "waveforms_per_s", "--executor", "iterative",
            "-o", str(out), "--no-plots"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "perpeak" and summary["complete"] == 4
    # the sample: largest context of the space, every channel any choice names
    with np.load(out / "sample.npz", allow_pickle=False) as z:
        info = json.loads(str(z["info"]))
        assert info["context"] == 2 and info["channels"] == [*CONTEXT_CHANNELS, "wf_score_sum", "wf_span_ns"]
        assert z["x"].shape[1:] == (5, 8) and z["offsets"].shape == (121,) and z["n_true"].shape == (120,)
        assert z["y"].shape == z["x"].shape[:1] and {"sampling_ns", "window_ns"} <= set(z.files)
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # the grid: both contexts, with and without waveform-level channels, all cut from one sample
    assert sorted((r["context"], r["waveform_channels"]) for r in rows) == [
        ("1", "none"), ("1", "wf_score_sum,wf_span_ns"), ("2", "none"), ("2", "wf_score_sum,wf_span_ns")]
    for r in rows:
        assert r["state"] == "COMPLETE" and r["loss_fn"] == "poisson"
        for field in ("bias", "abs_bias", "rms_over_sqrt_n", "calibrated_rms_over_sqrt_n", "slope", "slope_deviation",
                      "mae", "val_loss", "n_params", "throughput_per_s", "waveforms_per_s", "cpu_s", "wall_s",
                      "peak_rss_mb", "model_file"):
            assert r[field] != "", field
        assert float(r["abs_bias"]) == pytest.approx(abs(float(r["bias"])))
        if np.isfinite(float(r["slope"])):
            assert float(r["slope_deviation"]) == pytest.approx(abs(float(r["slope"]) - 1))
        assert float(r["waveforms_per_s"]) == pytest.approx(
            float(r["throughput_per_s"]) / float(r["candidates_per_waveform"]))
    assert "| trial | state | context | wf channels | RMS/sqrtN | ONNX wf/s |" in (out / "results.md").read_text()

    from ccreco.models.inference import PeakClusterModel, load_model

    # every trial's model has the trial's own context and channels
    for r in rows:
        model = load_model(out / "models" / r["model_file"])
        assert isinstance(model, PeakClusterModel) and model.context == int(r["context"])
        assert model.metadata["channels"] == [*CONTEXT_CHANNELS, *waveform_channel_names(r["waveform_channels"])]
        assert model.metadata["train_sample"]["hpo"]["trial"] == int(r["number"])
    best = load_model(out / "best.onnx")
    assert isinstance(best, PeakClusterModel)
    assert best.metadata["train_sample"]["hpo"]["trial"] == summary["exported_trial"]
    assert best.context == summary["params"]["context"]
    # usable as the step-2 model of evaluate and of the reconstruction
    ev = tmp_path / "ev.json"
    assert main(["evaluate", "clusters", str(sim_file), "--method", "perpeak", "--set", f"model={out / 'best.onnx'}",
                 "--json", str(ev)]) == 0
    capsys.readouterr()
    from ccreco.io import read
    from ccreco.reco import RecoConfig, Reconstructor

    reco = Reconstructor(RecoConfig(cluster_model=str(out / "best.onnx")))
    n = reco(read(sim_file)).n_clusters
    assert np.rint(np.maximum(n, 0)).mean() == pytest.approx(json.loads(ev.read_text())["mean_reco"], abs=1e-9)
