"""ccreco.reco.batch / ``ccreco reco``: coffea runs, outputs, bad input, faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from ccreco.cli import main
from ccreco.errors import CcrecoError, ConfigError, ModelError, NonFiniteWaveformError
from ccreco.io import NtupleWriter, read
from ccreco.reco import RecoConfig, Reconstructor
from ccreco.reco.batch import run_reco
from ccreco.sim import SimConfig, simulate

N = 300


@pytest.fixture(scope="module")
def sim_file(simulated_file):
    return simulated_file(N, 21)


@pytest.fixture(scope="module")
def iterative_run(sim_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "it"
    return run_reco([sim_file], out, chunk_size=100, status=False)


def _reco_tree(outdir: Path) -> dict:
    with uproot.open(outdir / "reco.root") as f:
        return f["reco"].arrays(library="np")


def test_outputs_are_complete_and_match_the_library(sim_file, iterative_run):
    out = iterative_run.outdir
    assert sorted(p.name for p in out.iterdir()) == ["hists.root", "plots", "reco.root", "summary.json"]
    assert not list(out.parent.glob(".*partial*"))
    tree = _reco_tree(out)
    direct = Reconstructor()(read(sim_file))
    assert len(tree["n_clusters"]) == N
    np.testing.assert_array_equal(tree["event"], direct.event)
    np.testing.assert_allclose(tree["n_clusters"], direct.n_clusters, rtol=1e-6)
    np.testing.assert_array_equal(tree["n_peaks"], direct.n_peaks)
    np.testing.assert_allclose(np.concatenate(list(tree["peak_time_ns"])), direct.peak_time_ns)
    with uproot.open(out / "hists.root") as f:
        assert f.classnames()["n_clusters;1"] == "TH1D"
        assert f.classnames()["n_clusters_vs_true;1"] == "TH2D"
        assert f["n_clusters"].values(flow=True).sum() == N
        assert f["peak_time"].values(flow=True).sum() == direct.n_peaks.sum()
        # titles and axis titles with units; the profile of N_reco vs N_true; the provenance
        assert f["dndx"].title and f["dndx"].member("fXaxis").member("fTitle") == "dN_{cl}/dx [cm^{-1}]"
        assert f["peak_time"].member("fYaxis").member("fTitle") == "peaks"
        prof = f["n_clusters_profile"]
        assert f.classnames()["n_clusters_profile;1"] == "TProfile"
        true = direct.n_clusters_true
        k = int(np.bincount(true).argmax())  # the most populated true count
        assert prof.values()[k] == pytest.approx(direct.n_clusters[true == k].mean(), rel=1e-5)
        prov_h = json.loads(str(f["provenance"]))
    with uproot.open(out / "reco.root") as f:
        assert f["reco"].title and "npeak" not in f["reco"].keys()
        assert f["reco"]["dndx"].title.endswith("[cm^-1]")
        assert json.loads(str(f["provenance"])) == prov_h
    assert len(prov_h["models"]["clusters"]["sha256"]) == 64 and prov_h["ccreco_version"]
    assert 0 < prov_h["threshold"] < 1 and "deriv_preset" in prov_h["config"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counters"]["waveforms_reconstructed"] == N and summary["counters"]["chunks"] == 3
    assert summary["reco_entries_written"] == N and summary["skipped"] == []
    assert summary["stats"]["n_clusters"]["mean"] == pytest.approx(float(direct.n_clusters.mean()), rel=1e-5)
    assert summary["throughput"]["waveforms_per_s"] > 0
    models = summary["provenance"]["models"]
    assert len(models["peaks"]["sha256"]) == 64 and models["clusters"]["metadata"]["kind"] == "peak_clusters"
    assert {"n_clusters.png", "n_clusters.pdf", "dndx.png", "n_peaks.png", "peak_time.png", "peak_amplitude.png",
            "n_clusters_vs_true.png"} <= {p.name for p in (out / "plots").iterdir()}


@pytest.fixture(scope="module")
def mixed_files(sim_file, simulated_file):
    """Two small files, the 300-waveform file, two small files: with blocks of 100 the small
    ones are read in pairs (ccreco's groups), the large one by coffea's runner."""
    small = [simulated_file(5, 60 + i) for i in range(4)]
    return [small[0], small[1], sim_file, small[2], small[3]]


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["futures", "dask"])
def test_executors_agree(mixed_files, tmp_path, executor):
    ref = run_reco(mixed_files, tmp_path / "iterative", chunk_size=100, status=False, plots=False)
    s = run_reco(mixed_files, tmp_path / executor, executor=executor, workers=2, chunk_size=100, status=False,
                 plots=False)
    assert ref.counters["chunks"] == 2 + N // 100 and ref.counters["waveforms_reconstructed"] == N + 20
    assert s.counters == ref.counters
    a, b = _reco_tree(ref.outdir), _reco_tree(s.outdir)
    np.testing.assert_array_equal(a["file_index"], np.repeat(np.arange(5), [5, 5, N, 5, 5]))
    for key in ("file_index", "event", "n_peaks", "n_clusters", "dndx"):
        np.testing.assert_array_equal(a[key], b[key])


def _with_nan(src: Path, dst: Path, *entries: int) -> Path:
    chunk = read(src)
    chunk.waveforms[list(entries), 500] = np.nan
    with NtupleWriter(dst) as w:
        w.write(chunk)
    return dst


def test_bad_block_raise_names_entry_and_leaves_no_output(sim_file, tmp_path):
    bad = _with_nan(sim_file, tmp_path / "nan.root", 150)
    with pytest.raises(NonFiniteWaveformError) as err:
        run_reco([bad], tmp_path / "out", chunk_size=100, status=False, plots=False)
    msg = str(err.value)
    assert "nan.root" in msg and "waveform" in msg and "150" in msg
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial*"))


def test_skip_mode_lists_bad_blocks_and_files(sim_file, tmp_path):
    bad = _with_nan(sim_file, tmp_path / "nan.root", 150)
    junk = tmp_path / "junk.root"
    junk.write_bytes(b"not a root file")
    s = run_reco([sim_file, bad, junk], tmp_path / "out", chunk_size=100, on_error="skip", status=False, plots=False)
    c = s.counters
    assert c["waveforms_reconstructed"] == 2 * N - 100 and c["waveforms_skipped"] == 100 and c["chunks_skipped"] == 1
    reasons = {(Path(r["file"]).name, r["entry_start"]): r for r in s.data["skipped"]}
    assert set(reasons) == {("junk.root", None), ("nan.root", 100)}
    assert reasons[("nan.root", 100)]["error"] == "NonFiniteWaveformError"
    assert "150" in reasons[("nan.root", 100)]["reason"]
    tree = _reco_tree(s.outdir)
    assert len(tree["event"]) == 2 * N - 100
    # event numbers repeat across files; file_index tells them apart, summary.json has a section per file
    np.testing.assert_array_equal(np.bincount(tree["file_index"]), [N, N - 100])
    files = s.data["files"]
    assert [(Path(f["file"]).name, f["entries"]) for f in files] == [
        (Path(sim_file).name, N), ("nan.root", N - 100), ("junk.root", 0)]
    assert files[1]["stats"]["n_clusters"]["mean"] == pytest.approx(
        float(tree["n_clusters"][tree["file_index"] == 1].mean()), rel=1e-5)


def test_every_block_skipped_still_gives_an_empty_reco_tree(sim_file, tmp_path):
    bad = _with_nan(sim_file, tmp_path / "nan.root", 50, 150, 250)
    s = run_reco([bad], tmp_path / "out", chunk_size=100, on_error="skip", status=False, plots=False)
    assert s.counters["waveforms_reconstructed"] == 0 and s.counters["chunks_skipped"] == 3
    with uproot.open(s.outdir / "reco.root") as f:
        assert f["reco"].num_entries == 0 and "n_clusters" in f["reco"].keys()


def test_model_mismatch_stops_before_any_work(sim_file, tmp_path):
    import dataclasses

    half = tmp_path / "half.root"
    with NtupleWriter(half) as w:  # the same samples declared at 2 GS/s
        w.write(dataclasses.replace(read(sim_file), sampling_ns=0.5))
    with pytest.raises(ModelError, match="0.5 ns") as err:
        run_reco([half], tmp_path / "out", status=False)
    assert "half.root" in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial*"))


def test_failure_mid_run_publishes_nothing(sim_file, tmp_path):
    from ccreco.processors.cluster_counting import ClusterCountingProcessor

    class Failing(ClusterCountingProcessor):
        def process(self, events):
            if events.metadata["entrystart"] >= 200:
                raise RuntimeError("disk on fire")
            return super().process(events)

    with pytest.raises(Exception, match="disk on fire"):
        run_reco([sim_file], tmp_path / "out", chunk_size=100, status=False, processor_factory=Failing)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial*"))


def test_existing_outdir_needs_overwrite(sim_file, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ConfigError, match="overwrite"):
        run_reco([sim_file], tmp_path / "out", status=False)
    s = run_reco([sim_file], tmp_path / "out", overwrite=True, status=False, plots=False)
    assert (s.outdir / "reco.root").exists()


def test_cepc_layout_without_length_truth(tmp_path):
    """A Garfield++-style file (jagged wf_i, sampling rate in GS/s, ncls): mapped, no track length."""
    chunk = next(simulate(SimConfig.from_preset("tb2023-untuned"), 120, 5))
    branches = {
        "wf_i": ak.Array(list(chunk.waveforms)),
        "sampling_rate": np.full(len(chunk), 1.0),
        "ncls": np.asarray(chunk.truth["n_clusters"], dtype=np.int32),
        "mom": np.asarray(chunk.truth["momentum_gev"], dtype=np.float64),
    }
    path = tmp_path / "cepc.root"
    with uproot.recreate(path) as f:
        types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in branches.items()}
        f.mktree("sim", types).extend(branches)
    s = run_reco([path], tmp_path / "out", schema="cepc", config=RecoConfig(angle_deg=0.0), status=False, plots=False)
    assert s.counters["config_length"] == 120 and s.counters["truth_length"] == 0
    tree = _reco_tree(s.outdir)
    np.testing.assert_allclose(tree["track_length_cm"], 0.8)
    np.testing.assert_array_equal(tree["n_clusters_true"], branches["ncls"])
    direct = Reconstructor()(chunk)
    np.testing.assert_allclose(tree["n_peaks"], direct.n_peaks)


def test_cli_reco(sim_file, tmp_path, capsys):
    rc = main(["reco", str(sim_file), "-o", str(tmp_path / "cli"), "--chunk-size", "150", "--no-plots",
               "--set", "deriv=false"])
    assert rc == 0
    captured = capsys.readouterr()
    text = captured.out
    assert f"reconstructed {N} waveforms in 2 blocks" in text and "n_clusters" in text
    assert "Reconstructing" not in text + captured.err  # coffea's bars are off (CCRECO_NO_PROGRESS=1)
    assert "deriv_n_clusters" not in _reco_tree(tmp_path / "cli")
    assert main(["reco", str(sim_file), "-o", str(tmp_path / "cli")]) == 2  # exists, no --overwrite
    assert main(["reco", str(tmp_path / "missing.root"), "-o", str(tmp_path / "x")]) == 2
    assert main(["reco", str(sim_file), str(sim_file), "-o", str(tmp_path / "y")]) == 2  # twice the same file
    assert "more than once" in capsys.readouterr().err



def test_angle_setting_reaches_a_model_that_uses_it(sim_file, tmp_path, capsys):
    # --set angle_deg with the default step 2 (no angle input) says so and names the model that
    # uses it; that model is reached by its shipped name
    assert main(["reco", str(sim_file), "-o", str(tmp_path / "a"), "--no-plots", "--set", "deriv=false",
                 "--set", "angle_deg=45"]) == 0
    err = capsys.readouterr().err
    assert "does not use the track angle" in err and "--cluster-model perpeak_random_wide_angle" in err
    assert main(["reco", str(sim_file), "-o", str(tmp_path / "b"), "--no-plots", "--set", "deriv=false",
                 "--set", "angle_deg=45", "--cluster-model", "perpeak_random_wide_angle"]) == 0
    err = capsys.readouterr().err
    assert "takes the track angle" in err and "does not use" not in err
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert "perpeak_random_wide_angle" in json.dumps(summary)
    assert main(["reco", str(sim_file), "-o", str(tmp_path / "c"), "--no-plots",
                 "--cluster-model", "no_such_model"]) == 2
    assert "no_such_model" in capsys.readouterr().err


def test_step2_level_reaches_outputs_summary_and_plots(sim_file, iterative_run, tmp_path, plot_legends):
    """``step2_level`` divides the ML count in reco.root, is in summary.json and names itself in the
    N_cl legend (the plots show the divided count)."""
    out = tmp_path / "lvl"
    run_reco([sim_file], out, chunk_size=100, status=False, config=RecoConfig(step2_level=1.25))
    divided, plain = _reco_tree(out), _reco_tree(iterative_run.outdir)
    np.testing.assert_allclose(divided["n_clusters"], plain["n_clusters"] / 1.25, rtol=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["config"]["step2_level"] == 1.25
    assert any("/ level 1.25" in t for t in plot_legends["n_clusters"])
    with uproot.open(out / "hists.root") as f:  # and in the titles of the step-2 count's histograms
        assert f["n_clusters"].title == "Cluster count, step-2 model (divided by level 1.25)"
        assert f["dndx"].title.endswith("(divided by level 1.25)")
        assert f["n_peaks"].title == "Peaks above the step-1 threshold"  # step 1: not divided
    with uproot.open(iterative_run.outdir / "hists.root") as f:
        assert f["n_clusters"].title == "Cluster count, step-2 model"


def test_models_dir_option(sim_file, tmp_path):
    from ccreco.cli.reco import models_from_dir
    from ccreco.models.shipped import DEFAULT_CLUSTER_MODEL, DEFAULT_PEAK_MODEL, shipped_model

    d = tmp_path / "models"
    d.mkdir()
    for name in (DEFAULT_PEAK_MODEL, DEFAULT_CLUSTER_MODEL):
        (d / f"{name}.onnx").write_bytes(shipped_model(name).read_bytes())
    peak, cluster = models_from_dir(d)
    assert Path(peak).name.startswith("lstm") and Path(cluster).name == f"{DEFAULT_CLUSTER_MODEL}.onnx"
    (d / "another.onnx").write_bytes(shipped_model(DEFAULT_PEAK_MODEL).read_bytes())
    with pytest.raises(CcrecoError, match="expected one step-1 'peaks' model, found 2"):
        models_from_dir(d)
    (d / "another.onnx").unlink()
    # a CNN beside the per-peak model: two step-2 models
    (d / "cnn.onnx").write_bytes(shipped_model("cnn_ihep_tb2023_mix").read_bytes())
    with pytest.raises(CcrecoError, match="expected one step-2 .* found 2"):
        models_from_dir(d)


DYING = '''
import os
from pathlib import Path
from ccreco.processors.cluster_counting import ClusterCountingProcessor


class DyingProcessor(ClusterCountingProcessor):
    """Kills its worker process the first time it sees the block starting at entry 100."""

    marker = None

    def process(self, events):
        if events.metadata["entrystart"] == 100 and not Path(self.marker).exists():
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return super().process(events)
'''


@pytest.mark.slow
def test_dask_worker_death_is_retried_and_totals_add_up(sim_file, iterative_run, tmp_path, monkeypatch):
    (tmp_path / "dying_proc.py").write_text(DYING)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    import dying_proc

    dying_proc.DyingProcessor.marker = str(tmp_path / "died")

    def factory(task):
        proc = dying_proc.DyingProcessor(task)
        proc.marker = str(tmp_path / "died")
        return proc

    s = run_reco([sim_file], tmp_path / "out", executor="dask", workers=2, chunk_size=100, status=False, plots=False,
                 processor_factory=factory)
    assert (tmp_path / "died").exists()  # a worker really died
    assert s.counters == iterative_run.counters
    a, b = _reco_tree(iterative_run.outdir), _reco_tree(s.outdir)
    np.testing.assert_array_equal(a["event"], b["event"])
    np.testing.assert_array_equal(a["n_clusters"], b["n_clusters"])


def test_interrupted_cli_run_leaves_no_outdir(sim_file, tmp_path):
    """SIGKILL of the whole process mid-run: only a hidden staging directory may remain."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "ccreco", "reco", str(sim_file), "-o", str(tmp_path / "out"),
                             "--chunk-size", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".out.partial*/parts/*.root")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.glob(".out.partial-*"))  # the killed run's staging directory ...
    run_reco([sim_file], tmp_path / "out", status=False, plots=False)
    assert not list(tmp_path.glob(".out.partial-*"))  # ... is removed by the next run
    assert (tmp_path / "out" / "reco.root").exists()


def test_compare_reads_a_reco_outdir(iterative_run, tmp_path):
    """Issue 8 on a real ``ccreco reco`` output: every per-waveform and per-peak variable, no ids."""
    from ccreco.analysis.compare import compare_samples, load_sample

    sample = load_sample(iterative_run.outdir)
    # estimator-qualified names: LSTM peaks, step-2 (ML) counts, the DERIV baseline under its own name
    assert {"lstm_n_peaks", "ml_n_clusters", "ml_n_clusters_int", "ml_dndx", "lstm_peak_time_ns",
            "lstm_peak_amplitude_mv", "deriv_n_clusters", "baseline_rms_mv", "lstm_n_candidates"} <= set(sample)
    assert not {"run", "event", "channel", "npeak", "n_peaks", "n_clusters"} & set(sample)
    assert sample["ml_n_clusters"].size == N and sample["lstm_peak_time_ns"].size == sample["lstm_n_peaks"].sum()
    same = compare_samples(sample, sample)
    assert all(v.ks == 0.0 and (v.ndf == 0 or v.chi2 == 0.0) for v in same.variables.values())


@pytest.mark.slow
def test_dask_existing_scheduler(sim_file, iterative_run, tmp_path):
    """``--scheduler ADDR``: connect to a cluster someone else started (here a LocalCluster)."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        rc = main(["reco", str(sim_file), "-o", str(tmp_path / "out"), "--executor", "dask",
                   "--scheduler", cluster.scheduler_address, "--chunk-size", "100", "--no-plots"])
        assert rc == 0
        assert len(cluster.scheduler.workers) == 1  # the cluster is still up: ccreco did not close it
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["executor"]["scheduler"] == cluster.scheduler_address
    assert summary["counters"] == iterative_run.counters


def test_full_collections_follow_waveforms_not_blocks(sim_file, tmp_path, monkeypatch):
    """The per-block garbage collection that bounds memory runs once GC_EVERY_WAVEFORMS have
    passed, not before every block (runs over many small files have one block per file); the
    first block freezes what is alive, and the run releases it at the end."""
    import gc

    import ccreco.reco.batch as batch

    calls = {"collect": 0, "freeze": 0}
    real_collect, real_freeze = gc.collect, gc.freeze

    def collect(*args):
        calls["collect"] += 1
        return real_collect(*args)

    def freeze():
        calls["freeze"] += 1
        real_freeze()

    monkeypatch.setattr(gc, "collect", collect)
    monkeypatch.setattr(gc, "freeze", freeze)
    batch.release_frozen()
    calls.update(collect=0, freeze=0)
    monkeypatch.setattr(batch, "GC_EVERY_WAVEFORMS", 100)
    s = run_reco([sim_file], tmp_path / "a", chunk_size=25, status=False, plots=False)  # 12 blocks of 25
    assert s.counters["chunks"] == N // 25
    # the freezing first block (with its collection), then one collection per 100 waveforms
    # (4 blocks): blocks 2..12 carry 275 waveforms -> 2 collections; plus the final release
    assert calls["freeze"] == 1
    assert calls["collect"] == 1 + 2 + 1
    assert not batch._GC_FROZEN  # released after the iterative run
