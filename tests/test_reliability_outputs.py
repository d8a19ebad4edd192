"""Issue 14, data loss and writes outside OUTDIR: every row is a test (tiny files, seconds)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ccreco import _outputs
from ccreco._outputs import Output, OutputLock, check_outputs, clean_stale, confine, safe_name
from ccreco.cli import main
from ccreco.errors import ConfigError
from ccreco.reco.batch import run_reco
from ccreco.sim import SimConfig, simulate_to_file

N = 24


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rel") / "good.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), N, 5)
    return path


def test_overwrite_in_the_input_directory_deletes_nothing(good, tmp_path, monkeypatch, capsys):
    """`cd p && ccreco reco good.root -o . --overwrite` used to delete good.root and analysis.py."""
    p = tmp_path / "p"
    p.mkdir()
    shutil.copy(good, p / "good.root")
    (p / "analysis.py").write_text("print('mine')\n")
    monkeypatch.chdir(p)
    rc = main(["reco", "good.root", "-o", ".", "--overwrite", "--no-plots"])
    assert rc == 2 and "holds the input" in capsys.readouterr().err
    assert sorted(x.name for x in p.iterdir()) == ["analysis.py", "good.root"]


def test_overwrite_refuses_foreign_files_and_removes_only_its_own(good, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="notes.txt"):
        run_reco([good], out, overwrite=True, status=False, plots=False)
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    run_reco([good], out, overwrite=True, status=False, plots=False)
    first = json.loads((out / "summary.json").read_text())["created_unix"]
    run_reco([good], out, overwrite=True, status=False, plots=False)  # ccreco's own output: replaced
    assert json.loads((out / "summary.json").read_text())["created_unix"] > first
    assert sorted(x.name for x in out.iterdir()) == ["hists.root", "reco.root", "summary.json"]
    assert not list(tmp_path.glob(".out.*"))  # no lock, stage or old directory left


def test_concurrent_runs_on_one_outdir_are_refused(good, tmp_path):
    """`reco a -o X & reco b -o X`: the second one is refused while the first holds X."""
    out = tmp_path / "X"
    held = OutputLock(out).acquire()
    try:
        with pytest.raises(ConfigError, match="another ccreco run"):
            run_reco([good], out, status=False, plots=False)
        assert not out.exists()
    finally:
        held.release()
    run_reco([good], out, status=False, plots=False)
    assert (out / "reco.root").exists() and not (tmp_path / ".X.lock").exists()


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    target = tmp_path / "o.root"
    code = ("import sys, time; from ccreco._outputs import OutputLock; OutputLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"pid {proc.pid}"):
            OutputLock(target).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    OutputLock(target).acquire().release()


def test_train_output_that_is_the_training_data_is_refused(good, tmp_path, capsys):
    """`ccreco train peaks --data v.root -o v.root` replaced the data with the model."""
    v = tmp_path / "v.root"
    shutil.copy(good, v)
    before = v.read_bytes()
    assert main(["train", "peaks", "--data", str(v), "-o", str(tmp_path / "." / "v.root")]) == 2
    assert "is the input" in capsys.readouterr().err and v.read_bytes() == before
    os.link(v, tmp_path / "hard.root")  # the same file under another name
    assert main(["train", "peaks", "--data", str(v), "-o", str(tmp_path / "hard.root")]) == 2
    assert v.read_bytes() == before


def test_train_output_that_is_a_directory_is_refused_before_training(good, tmp_path, capsys):
    assert main(["train", "peaks", "--data", str(good), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_branch_names_from_data_never_leave_outdir(tmp_path):
    """A reco.root with a branch `../../PWNED` made compare write a/b/PWNED.png outside OUTDIR."""
    import numpy as np
    import uproot

    evil = tmp_path / "evil.root"
    rng = np.random.default_rng(3)
    with uproot.recreate(evil) as f:
        f.mktree("reco", {"n_peaks": np.int64, "../../PWNED": np.float64}).extend(
            {"n_peaks": rng.integers(0, 9, 40), "../../PWNED": rng.normal(size=40)})
    copy = tmp_path / "evil2.root"
    shutil.copy(evil, copy)
    cwd = tmp_path / "w"
    cwd.mkdir()
    out = cwd / "a" / "b" / "c" / "out"
    assert main(["compare", str(evil), str(copy), "-o", str(out)]) == 0
    outside = [p for p in cwd.rglob("*") if p.is_file() and out not in p.parents]
    assert outside == []
    assert any("PWNED" in p.name for p in out.iterdir())


def test_safe_name_and_confine(tmp_path):
    for raw in ("../../x", "/etc/passwd", "..", "", ".hidden", "a/b\\c", "ok_name-1.5"):
        s = safe_name(raw)
        assert "/" not in s and s not in ("", ".", "..") and not s.startswith(".")
        assert (tmp_path / s).resolve().parent == tmp_path.resolve()
    assert safe_name("ok_name-1.5") == "ok_name-1.5"
    assert confine("trial_3.onnx", tmp_path) == tmp_path / "trial_3.onnx"
    for bad in ("../../secret.txt", "/etc/passwd", "a/../../x", "."):
        with pytest.raises(ConfigError, match="leaves"):
            confine(bad, tmp_path)


def test_hpo_model_file_from_study_db_is_confined(tmp_path):
    """A study.db trial with model_file = '../../secret.txt' copied the outside file over best.onnx."""
    import optuna

    from ccreco.hpo.report import export_trial_model

    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    models = tmp_path / "study" / "models"
    models.mkdir(parents=True)
    study = optuna.create_study(direction="maximize")
    trial = optuna.trial.create_trial(params={}, distributions={}, value=1.0,
                                      user_attrs={"model_file": "../../secret.txt"})
    study.add_trial(trial)
    with pytest.raises(ConfigError, match="leaves"):
        export_trial_model(study, models, tmp_path / "study" / "best.onnx")
    assert not (tmp_path / "study" / "best.onnx").exists()


def test_output_checks(tmp_path):
    f = tmp_path / "in.root"
    f.write_bytes(b"x")
    (tmp_path / "d").mkdir()
    with pytest.raises(ConfigError, match="is the input"):
        check_outputs([Output(str(tmp_path / "d" / ".." / "in.root"))], [f])
    with pytest.raises(ConfigError, match="not a directory"):
        check_outputs([Output(str(f), "dir")])
    with pytest.raises(ConfigError, match="holds the input"):
        check_outputs([Output(str(tmp_path), "dir")], [f])
    check_outputs([Output(str(tmp_path / "d" / "new"), "dir")], [f])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_outdir_is_a_clear_error_before_work(good, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["reco", str(good), "-o", str(ro / "out"), "--no-plots"]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_unwritable_destination_is_refused_before_work(good, tmp_path, monkeypatch, capsys):
    """The read-only case also where the tests run as root (os.access says what the kernel would)."""
    monkeypatch.setattr(_outputs.os, "access", lambda path, mode: not str(path).startswith(str(tmp_path)))
    assert main(["reco", str(good), "-o", str(tmp_path / "out"), "--no-plots"]) == 2
    assert "not writable" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_stale_temporaries_of_dead_runs_are_cleaned(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "sim.root"
    stale_tmp = tmp_path / f".sim.root.tmp-{dead.pid}"
    stale_tmp.write_bytes(b"0" * 100)
    stale_dir = tmp_path / f".sim.root.partial-{dead.pid}"
    stale_dir.mkdir()
    live = tmp_path / f".sim.root.tmp-{os.getppid()}"  # a live process's file is kept
    live.write_bytes(b"1")
    other = tmp_path / f".other.root.tmp-{dead.pid}"  # another output's: not this run's business
    other.write_bytes(b"2")
    other_form = tmp_path / f".sim.root.{dead.pid}.tmp"  # the form of export.py and hpo's writers
    other_form.write_bytes(b"3")
    removed = clean_stale(out)
    assert set(removed) == {stale_tmp, stale_dir, other_form}
    assert live.exists() and other.exists()


def test_simulate_cleans_its_stale_temporary(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".s.root.tmp-{dead.pid}"
    stale.write_bytes(b"0" * 1000)
    assert main(["simulate", "-o", str(tmp_path / "s.root"), "-n", "5", "--seed", "1"]) == 0
    assert not stale.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s.root"]


def test_pid_output_that_is_an_existing_file(tmp_path, capsys):
    f = tmp_path / "existing"
    f.write_text("keep")
    assert main(["pid", "-o", str(f), "--tracks", "2", "--cells", "3", "--momenta", "5", "--species", "pi,K",
                 "--methods", "truth"]) == 2
    assert "not a directory" in capsys.readouterr().err and f.read_text() == "keep"


def test_manifest_roundtrip(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.png").write_text("a")
    assert _outputs.foreign_files(d) == ["a.png"]
    _outputs.write_manifest(d, ["a.png"])
    assert _outputs.foreign_files(d) == []


def test_training_with_non_finite_metrics_writes_no_model(tmp_path):
    """Negative-polarity data gave a model with `auc: NaN` (one class only): no model is written."""
    import argparse
    from types import SimpleNamespace

    from ccreco.cli.train import _finish

    result = SimpleNamespace(metrics={"auc": float("nan"), "loss": 0.3})
    args = argparse.Namespace(output=str(tmp_path / "m.onnx"), plots=None)
    with pytest.raises(ConfigError, match="auc"):
        _finish(result, args)
    assert not (tmp_path / "m.onnx").exists()


def test_hpo_cleans_temporaries_of_a_killed_run(tmp_path):
    from ccreco.cli.hpo import _study_lock

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "models").mkdir()
    stale = tmp_path / "models" / f".trial_3.onnx.{dead.pid}.tmp"
    stale.write_bytes(b"0")
    with _study_lock(tmp_path):
        assert not stale.exists()
