from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from ccreco.cli import main  # noqa: E402

PEAK_SPACE = """
[params]
cell = ["lstm", "gru"]
hidden = {low = 4, high = 8}
dense = 8
epochs = 1
batch_size = 256
"""

# conv 64x600,8x300 leaves nothing of the 1024 bins: those trials fail with a ConfigError.
CLUSTER_SPACE = """
[params]
conv = ["8x4", "64x600,8x300"]
loss = ["mae", "huber"]
dense = 8
epochs = 2
batch_size = 64
"""


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ccreco.sim import SimConfig, simulate_to_file

    path = tmp_path_factory.mktemp("hpo-sim") / "sim.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), 30, 3, progress=False)
    return path


def _states(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return [row[0] for row in con.execute("SELECT state FROM trials ORDER BY number")]
    except sqlite3.OperationalError:  # tables not created yet, or locked
        return []


@pytest.mark.slow
def test_cli_peaks_killed_and_resumed(tmp_path: Path, sim_file: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text(PEAK_SPACE)
    out = tmp_path / "out"
    args = ["hpo", "peaks", "--space", str(space), "--data", str(sim_file), "--trials", "2", "--sampler", "random",
            "--seed", "4", "--executor", "iterative", "-o", str(out)]
    env = dict(os.environ, CCRECO_NO_PROGRESS="1")
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "ccreco", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    db = out / "study.db"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if "COMPLETE" in _states(db):
                break
            time.sleep(0.2)
        assert proc.poll() is None, \
            f"the study ended before it could be killed:\n{(tmp_path / 'first.log').read_text()}"
        assert "COMPLETE" in _states(db), "no trial completed in time"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    before = optuna.load_study(study_name="ccreco-hpo-peaks", storage=f"sqlite:///{db}")
    complete = {t.number: (t.params, t.values) for t in before.trials if t.state.name == "COMPLETE"}
    running = [t for t in before.trials if t.state.name == "RUNNING"]
    assert complete and not (out / "results.md").exists()

    assert main(args) == 0
    after = optuna.load_study(study_name="ccreco-hpo-peaks", storage=f"sqlite:///{db}")
    by_number = {t.number: t for t in after.trials}
    for number, (params, values) in complete.items():  # finished trials survive untouched
        assert by_number[number].state.name == "COMPLETE"
        assert by_number[number].params == params and by_number[number].values == values
    finished = [t for t in after.trials if t.user_attrs.get("error") != "interrupted" and t.state.name != "RUNNING"]
    assert len(finished) == 2 and all(t.state.name == "COMPLETE" for t in finished)
    for t in running:  # interrupted: recorded as such, its parameters run again
        assert by_number[t.number].state.name == "FAIL" and by_number[t.number].user_attrs["error"] == "interrupted"
        assert any(u.params == t.params for u in finished if u.number > t.number)
    table = (out / "results.md").read_text()
    assert "| trial | state | cell | hidden | auc |" in table
    assert {"history.png", "auc_vs_cell.png", "auc_vs_hidden.png"} <= {p.name for p in (out / "plots").iterdir()}
    from ccreco.models.inference import PeakModel, load_model

    assert isinstance(load_model(out / "best.onnx"), PeakModel)
    study_json = json.loads((out / "study.json").read_text())
    assert study_json["exported_trial"] == after.best_trial.number
    assert study_json["space"]["epochs"] == {"name": "epochs", "kind": "fixed", "choices": [1], "low": None,
                                             "high": None, "log": False, "step": None}
    assert study_json["sampler"] == "random" and study_json["seed"] == 4


@pytest.mark.slow
def test_cli_clusters_pick_and_sample_check(tmp_path: Path, sim_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.toml"
    space.write_text(CLUSTER_SPACE)
    out = tmp_path / "out"
    args = ["hpo", "clusters", "--space", str(space), "--data", str(sim_file), "--trials", "4", "--sampler", "grid",
            "--objective", "mae", "throughput_per_s", "--executor", "iterative", "-o", str(out)]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] == 2 and summary["failed"] == 2
    assert summary["objectives"] == ["mae", "throughput_per_s"]
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    done = [r for r in rows if r["state"] == "COMPLETE"]
    for r in rows:
        if r["conv"] == "8x4":
            assert r["state"] == "COMPLETE"
            for field in ("mae", "bias", "abs_bias", "rms", "rms_over_sqrt_n", "n_params", "throughput_per_s",
                          "cpu_s", "cpus_used", "peak_rss_mb", "wall_s", "val_loss", "model_file"):
                assert r[field] != "", field
            assert r["loss_fn"] == r["loss"] and float(r["abs_bias"]) == pytest.approx(abs(float(r["bias"])))
        else:
            assert r["state"] == "FAIL" and "reduce 1024 bins to nothing" in r["error"]
    assert sorted(r["loss"] for r in done) == ["huber", "mae"]
    assert (out / "plots" / "pareto.png").is_file()
    other = next(int(r["number"]) for r in done if int(r["number"]) != summary["exported_trial"])
    # a second run with the same N trains nothing and exports the picked trial
    assert main([*args, "--pick", str(other)]) == 0
    assert json.loads(capsys.readouterr().out)["exported_trial"] == other
    from ccreco.models.inference import ClusterModel, load_model

    model = load_model(out / "best.onnx")
    assert isinstance(model, ClusterModel)
    assert model.metadata["train_sample"]["hpo"]["trial"] == other
    assert model.metadata["train_config"]["loss"] == summary_loss(rows, other)
    assert model.metadata["train_sample"]["peak_model"]["file"] == "lstm_compact_tb2023_untuned.onnx"
    # the study keeps its sample: other data options are refused
    assert main([*args, "--max-waveforms", "10"]) == 2
    assert "sample.npz was prepared from" in capsys.readouterr().err


def summary_loss(rows: list[dict[str, str]], number: int) -> str:
    return next(r["loss"] for r in rows if int(r["number"]) == number)


def test_cli_refuses_a_second_process_on_the_same_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl

    space = tmp_path / "space.toml"
    space.write_text(PEAK_SPACE)
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".hpo.lock", "w") as held:  # what a running `ccreco hpo` holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["hpo", "peaks", "--space", str(space), "--data", "none.root", "-o", str(out)]) == 2
    assert "another ccreco hpo is running" in capsys.readouterr().err
    assert not (out / "sample.npz").exists()
