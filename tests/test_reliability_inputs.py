"""Issue 14, bad input: clear errors instead of tracebacks, and no complete-looking wrong results."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot

from ccreco.cli import describe_exception, main
from ccreco.errors import ConfigError, InputFileError, ModelError
from ccreco.io import NtupleWriter, WaveformChunk, inspect_file, read
from ccreco.reco.batch import run_reco
from ccreco.sim import SimConfig, simulate_to_file

N = 24


@pytest.fixture(scope="module")
def two_blocks(tmp_path_factory) -> Path:
    """24 simulated waveforms written as two blocks of 12 (two baskets per branch)."""
    path = tmp_path_factory.mktemp("inputs") / "two.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), N, 7, chunk_size=N // 2)
    return path


def _variant(src: Path, dest: Path, transform) -> Path:
    """Rewrite ``src`` with its waveforms transformed (truth and meta kept)."""
    chunk = read(src)
    with NtupleWriter(dest) as w:
        w.write(WaveformChunk(transform(chunk.waveforms.copy()).astype(np.float32), chunk.sampling_ns, chunk.meta,
                              chunk.truth))
    return dest


def _basket_offset(path: Path, basket: int) -> int:
    with uproot.open(path) as f:
        b = f["sim"]["waveform"]
        return int(b.member("fBasketSeek")[basket]) + b.basket_key(basket).fKeylen


def _corrupt(src: Path, dest: Path, basket: int, at: int, new: bytes) -> Path:
    data = bytearray(src.read_bytes())
    off = _basket_offset(src, basket) + at
    data[off:off + len(new)] = new
    dest.write_bytes(bytes(data))
    return dest


# -- tracebacks where a clear error belongs ------------------------------------------------------


def test_corrupt_basket_after_entry_0(two_blocks, tmp_path, capsys):
    bad = _corrupt(two_blocks, tmp_path / "bad.root", 1, 0, b"XX")  # compression header of basket 2
    assert main(["reco", str(bad), "-o", str(tmp_path / "o1"), "--no-plots", "--chunk-size", "12"]) == 2
    err = capsys.readouterr().err
    assert "entry 12" in err and "Traceback" not in err and not (tmp_path / "o1").exists()
    rc = main(["reco", str(bad), "-o", str(tmp_path / "o2"), "--no-plots", "--chunk-size", "12", "--on-error", "skip"])
    assert rc == 1
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert summary["counters"]["waveforms_reconstructed"] == 12
    [skip] = summary["skipped"]
    assert (skip["entry_start"], skip["entry_stop"], skip["error"]) == (12, 24, "InputFileError")


def test_truncated_input(two_blocks, tmp_path, capsys):
    cut = tmp_path / "cut.root"
    cut.write_bytes(two_blocks.read_bytes()[: two_blocks.stat().st_size * 2 // 3])
    assert main(["reco", str(cut), "-o", str(tmp_path / "o"), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "cut.root" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_input_truncated_while_the_run_reads_it(two_blocks, tmp_path):
    """The file passes validation, then loses its tail before block 2 is read (`OSError: expected Chunk`)."""
    from ccreco.processors.cluster_counting import ClusterCountingProcessor

    victim = tmp_path / "victim.root"
    shutil.copy(two_blocks, victim)
    cut_at = _basket_offset(victim, 1) + 100

    class Truncating(ClusterCountingProcessor):
        def process(self, events):
            out = super().process(events)
            with open(victim, "r+b") as fh:
                fh.truncate(cut_at)
            return out

    with pytest.raises(InputFileError, match="entry 12"):
        run_reco([victim], tmp_path / "o", chunk_size=12, status=False, plots=False, processor_factory=Truncating)
    assert not (tmp_path / "o").exists()


def test_non_ascii_input_path(two_blocks, tmp_path):
    p = tmp_path / "dätä_é.root"
    shutil.copy(two_blocks, p)
    s = run_reco([p], tmp_path / "o", status=False, plots=False)
    assert s.counters["waveforms_reconstructed"] == N


def test_compare_given_one_file_twice(two_blocks, tmp_path, capsys):
    rc = main(["compare", str(two_blocks), str(two_blocks), "-o", str(tmp_path / "c"), "--no-plots"])
    assert rc == 0 and "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [("tree = 5\n", "tree must be a string"),
                                           ("[amplitude]\nscale = \"big\"\n", "scale must be a finite number")])
def test_mapping_values_of_the_wrong_type(two_blocks, tmp_path, capsys, text, message):
    m = tmp_path / "m.toml"
    m.write_text(text)
    assert main(["inspect", str(two_blocks), "--mapping", str(m)]) == 2
    assert message in capsys.readouterr().err


def _model_with(tmp_path: Path, key: str, value: str) -> Path:
    import onnx

    from ccreco.models.shipped import available_models, shipped_model

    src = shipped_model(next(n for n in available_models() if n.startswith("lstm")))
    model = onnx.load(src)
    for prop in model.metadata_props:
        if prop.key == f"ccreco.{key}":
            prop.value = value
    out = tmp_path / f"{key}.onnx"
    onnx.save(model, out)
    return out


@pytest.mark.parametrize("value", ['"abc"', "2.0", "NaN"])
def test_model_metadata_threshold_is_validated(tmp_path, value):
    from ccreco.models.inference import load_model

    with pytest.raises(ModelError, match="threshold"):
        load_model(_model_with(tmp_path, "threshold", value))


def test_unreachable_scheduler_fails_fast(two_blocks, tmp_path):
    with pytest.raises(ConfigError, match="cannot reach the dask scheduler"):
        run_reco([two_blocks], tmp_path / "o", executor="dask", scheduler="tcp://127.0.0.1:1", status=False)
    assert not (tmp_path / "o").exists()


def test_any_exception_is_one_line_and_traceback_only_with_v(monkeypatch, capsys):
    import ccreco.cli.inspect as inspect_cli

    def boom(args):
        raise OSError(30, "Read-only file system", "/data/out")

    monkeypatch.setattr(inspect_cli, "run", boom)
    assert main(["inspect", "x.root"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "read-only" in err and "/data/out" in err and "Traceback" not in err
    assert main(["-v", "inspect", "x.root"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert "disk" in describe_exception(OSError(28, "No space left on device"))


def test_broken_pipe_exits_quietly(two_blocks, monkeypatch, capsys):
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return os.open(os.devnull, os.O_WRONLY)

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["inspect", str(two_blocks)]) == 0
    assert "Traceback" not in capsys.readouterr().err


# -- complete-looking wrong results ----------------------------------------------------------------


def test_negative_polarity_is_a_problem_and_counted_in_reco(two_blocks, tmp_path, caplog):
    neg = _variant(two_blocks, tmp_path / "neg.root", lambda w: -w)
    report = inspect_file(neg)
    assert not report.ok and any("polarity" in p for p in report.problems)
    assert report.data_checks["negative"] > N // 2
    assert inspect_file(two_blocks).ok
    with caplog.at_level(logging.WARNING, logger="ccreco"):
        s = run_reco([neg], tmp_path / "o", status=False, plots=False)
    checks = s.data["data_checks"][str(neg.resolve())]
    assert checks["counts"]["negative"] > N // 2 and checks["problems"]
    assert sum("polarity" in r.getMessage() for r in caplog.records) == 1  # once per file


def test_all_zero_waveforms_get_no_cluster_count(two_blocks, tmp_path):
    zero = _variant(two_blocks, tmp_path / "zero.root", np.zeros_like)
    report = inspect_file(zero)
    assert any("flat" in p for p in report.problems) and report.data_checks["flat"] == N
    s = run_reco([zero], tmp_path / "o", status=False, plots=False)
    with uproot.open(s.outdir / "reco.root") as f:
        t = f["reco"].arrays(["n_peaks", "n_clusters", "dndx"], library="np")
    assert (t["n_peaks"] == 0).all() and (t["n_clusters"] == 0).all() and (t["dndx"] == 0).all()
    assert s.data["data_checks"][str(zero.resolve())]["counts"]["flat"] == N


@pytest.mark.parametrize("value", [1e30, 3e38])
def test_absurd_sample_values_are_a_problem(two_blocks, tmp_path, value):
    def spike(w):
        w[:, 100] = value
        return w

    report = inspect_file(_variant(two_blocks, tmp_path / "big.root", spike))
    assert any("beyond" in p for p in report.problems) and report.data_checks["absurd"] == N


def test_corrupted_shipped_model_is_refused(tmp_path, monkeypatch):
    from ccreco.models import shipped

    for p in shipped.DATA_DIR.iterdir():
        shutil.copy(p, tmp_path / p.name)
    name = next(n for n in shipped.available_models() if n.startswith("cnn"))
    onnx_file = tmp_path / f"{name}.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[-400:-200] = bytes(200)  # 200 bytes of the weights
    onnx_file.write_bytes(bytes(data))
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    with pytest.raises(ModelError, match="damaged"):
        shipped.shipped_model(name)


def test_every_shipped_model_matches_its_card():
    from ccreco.models import shipped

    for name in shipped.available_models():
        assert shipped.recorded_sha256(shipped.shipped_model(name))


@pytest.mark.parametrize("field", ["noise_mv", "single_electron_mv"])
def test_simulate_refuses_non_finite_settings(tmp_path, capsys, field):
    assert main(["simulate", "-o", str(tmp_path / "s.root"), "-n", "3", "--seed", "1", "--set", f"{field}=inf"]) == 2
    assert "finite" in capsys.readouterr().err and not (tmp_path / "s.root").exists()


def test_duplicate_inputs_by_hard_link_and_by_content(two_blocks, tmp_path):
    os.link(two_blocks, tmp_path / "hard.root")
    shutil.copy(two_blocks, tmp_path / "copy.root")
    for other in ("hard.root", "copy.root"):
        with pytest.raises(ConfigError, match="counted twice"):
            run_reco([two_blocks, tmp_path / other], tmp_path / "o", status=False, plots=False)


def test_flipped_bits_are_detected(two_blocks, tmp_path, capsys):
    rng = np.random.default_rng(14)
    size = _basket_offset(two_blocks, 1) - _basket_offset(two_blocks, 0) - 200
    detected = 0
    for k in range(10):
        at = 9 + int(rng.integers(size))
        src = bytearray(two_blocks.read_bytes())
        pos = _basket_offset(two_blocks, 0) + at
        flipped = _corrupt(two_blocks, tmp_path / f"f{k}.root", 0, at, bytes([src[pos] ^ (1 << int(rng.integers(8)))]))
        detected += not inspect_file(flipped).ok
    assert detected == 10
    assert main(["reco", str(flipped), "-o", str(tmp_path / "o"), "--no-plots", "--chunk-size", "5"]) == 2
    assert "entry 0" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_checksums_are_recorded_and_verified(two_blocks, tmp_path):
    from ccreco.io.integrity import read_file_blocks

    blocks = read_file_blocks(str(two_blocks))
    assert [(b0, b1) for b0, b1, _ in blocks] == [(0, 12), (12, 24)]
    assert inspect_file(two_blocks).checksums == {"recorded": 2, "verified": 2, "failed": 0}
    s = run_reco([two_blocks], tmp_path / "o", chunk_size=5, status=False, plots=False)  # blocks not aligned
    assert s.data["integrity"] == {"recorded": 2, "verified": 2, "failed": []}


def test_tune_on_all_zero_data_is_refused(two_blocks, tmp_path, capsys):
    zero = _variant(two_blocks, tmp_path / "zero.root", np.zeros_like)
    assert main(["tune", str(zero), "-o", str(tmp_path / "t.toml"), "--n-sim", "50"]) == 2
    assert "no peak" in capsys.readouterr().err and not (tmp_path / "t.toml").exists()


def test_reader_warns_once_per_file_about_bad_data(two_blocks, tmp_path, caplog):
    """Every reader path (train, tune, compare, evaluate iterate files) warns about bad data once per file."""
    from ccreco.io import iterate

    neg = _variant(two_blocks, tmp_path / "neg.root", lambda w: -w)
    with caplog.at_level(logging.WARNING, logger="ccreco"):
        chunks = list(iterate([neg, two_blocks], step_size=5))
    assert len(chunks) >= 4
    polarity = [r.getMessage() for r in caplog.records if "polarity" in r.getMessage()]
    assert len(polarity) == 1 and "neg.root" in polarity[0]
