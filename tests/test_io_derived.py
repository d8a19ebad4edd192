"""Mappings for real files: derived truth fields, convention transforms, auto_truth warnings, RNTuple input."""

from __future__ import annotations

import logging
import time

import awkward as ak
import numpy as np
import pytest
import uproot
from io_helpers import make_chunk, write_native, write_raw

from ccreco.errors import ConfigError, TruthInconsistencyError
from ccreco.io import inspect_file, iterate, load_mapping, read
from ccreco.io.expr import is_branch_name, parse
from ccreco.io.schema import mapping_from_dict

DELAY_NS = 2.4


def garfield_file(path, n=12, *, seed=3, angle=90.0, gain=1.0):
    """A foreign layout that stores electron *arrival* times, an angle and a gain per electron."""
    chunk = make_chunk(n, seed=seed)
    t = chunk.truth["electron_time_ns"]
    write_raw(path, {
        "wf": chunk.waveforms,
        "t_arrival": t,
        "t0": np.arange(n, dtype=np.float64),
        "angle_deg": np.full(n, angle),
        "electron_gain": ak.values_astype(ak.ones_like(t) * gain, np.float64),
        "ncl": np.asarray(chunk.truth["n_clusters"] if "n_clusters" in chunk.truth.fields
                          else ak.num(chunk.truth["cluster_time_ns"]), dtype=np.int32),
    })
    return chunk


BASE = {"waveforms": "wf", "sampling": {"value": 1.0}, "run": "", "event": ""}


# --- the expression evaluator -------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "t.__class__", "t[0]", "lambda: 1", "t if t else 1", "t > 1",
    "'abc'", "open('x')", "sqrt(t, out=t)", "[t]", "t and 1", "f'{t}'", "True + t", "sqrt",
])
def test_expression_whitelist_rejects(text):
    with pytest.raises(ConfigError, match="not allowed|not valid|takes"):
        parse(text)


def test_expression_evaluates_and_broadcasts():
    e = parse("(t + 2.4) * scale - abs(-1)")
    assert e.names == ("t", "scale")
    jag = ak.Array([[1.0, 2.0], [], [3.0]])
    out = e.evaluate({"t": jag, "scale": np.array([1.0, 5.0, 2.0])})  # per-entry scalar x jagged
    assert ak.to_list(ak.num(out)) == [2, 0, 1]
    assert ak.flatten(out).to_list() == pytest.approx([2.4, 3.4, 9.8])
    assert float(parse("rad2deg(arctan2(y, x))").evaluate({"y": 1.0, "x": 1.0})) == pytest.approx(45.0)
    # constants are floats: a huge power overflows at once instead of building a giant integer
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="cannot evaluate"):
        parse("t * 10 ** 10 ** 10").evaluate({"t": np.ones(2)})
    assert time.perf_counter() - start < 5


def test_branch_name_vs_expression():
    assert is_branch_name("t_arrival") and is_branch_name("hits.time")
    assert not is_branch_name("t_arrival + 2.4") and not is_branch_name("90 - theta")
    assert not is_branch_name("sqrt")


# --- derived truth fields -----------------------------------------------------------------------

def test_derived_peak_time_from_arrival(tmp_path):
    path = tmp_path / "garfield.root"
    chunk = garfield_file(path)
    toml = tmp_path / "garfield.toml"
    toml.write_text(
        'waveforms = "wf"\nrun = ""\nevent = ""\n[sampling]\nvalue = 1.0\n'
        '[truth]\nelectron_time_ns = "t_arrival"\n'
        f'electron_peak_ns = "t_arrival + {DELAY_NS}"\n'
        'cluster_time_ns = { branch = "t_arrival", scale = 1.0, offset = -1.0 }\n'
        'n_electrons = { expr = "ncl * 0 + 1" }\n'  # a deliberately silly scalar expression
    )
    m = load_mapping(toml)
    assert m.truth == {"electron_time_ns": "t_arrival"}
    assert set(m.derived) == {"electron_peak_ns", "cluster_time_ns", "n_electrons"}
    # n_electrons = 1 contradicts the electron lists: validation catches a wrong derivation
    with pytest.raises(TruthInconsistencyError, match="n_electrons"):
        read(path, schema=m)
    m = m.replace(derived={k: v for k, v in m.derived.items() if k != "n_electrons"})
    got = read(path, schema=m)
    t = chunk.truth["electron_time_ns"]
    assert ak.all(np.abs(got.truth["electron_peak_ns"] - (t + DELAY_NS)) < 1e-12)
    assert ak.all(np.abs(got.truth["cluster_time_ns"] - (t - 1.0)) < 1e-12)
    assert ak.all(got.truth["electron_time_ns"] == t)


def test_derived_with_per_entry_branch_and_shape_check(tmp_path):
    path = tmp_path / "g.root"
    chunk = garfield_file(path)
    m = mapping_from_dict({**BASE, "truth": {"electron_peak_ns": "t_arrival + t0"}})
    got = read(path, schema=m)
    t = chunk.truth["electron_time_ns"]
    assert ak.all(np.abs(got.truth["electron_peak_ns"] - (t + np.arange(len(t)))) < 1e-12)
    # a scalar field from a jagged expression is an error naming the field and the branch
    m = mapping_from_dict({**BASE, "truth": {"n_clusters": "t_arrival * 2"}})
    with pytest.raises(TruthInconsistencyError, match="n_clusters.*one value per entry") as info:
        read(path, schema=m)
    assert info.value.branch == "t_arrival" and info.value.file == str(path)


def test_derived_mapping_errors(tmp_path):
    with pytest.raises(ConfigError, match="reads no branch"):
        mapping_from_dict({**BASE, "truth": {"electron_peak_ns": "2.4 + 1"}})
    with pytest.raises(ConfigError, match=r"\[truth\] electron_peak_ns.*not allowed"):
        mapping_from_dict({**BASE, "truth": {"electron_peak_ns": "t.real + 2.4"}})
    with pytest.raises(ConfigError, match="unknown truth field 'electron_peak'"):
        mapping_from_dict({**BASE, "truth": {"electron_peak": "t + 2.4"}})
    with pytest.raises(ConfigError, match="must be a branch name, an expression"):
        mapping_from_dict({**BASE, "truth": {"electron_peak_ns": 2.4}})
    # a preset's rename is replaced by a derived field of the same name, not kept beside it
    m = mapping_from_dict({"preset": "cepc", "truth": {"n_clusters": "ncls + 0"}})
    assert "n_clusters" not in m.truth and m.derived["n_clusters"] == "ncls + 0"


def test_missing_derived_branch_is_reported_by_inspect(tmp_path):
    path = tmp_path / "g.root"
    garfield_file(path)
    m = mapping_from_dict({**BASE, "truth": {"electron_peak_ns": "t_arr + 2.4"}})
    chunk = read(path, schema=m)
    assert "electron_peak_ns" not in chunk.truth.fields  # truth stays optional
    report = inspect_file(path, m)
    assert report.ok


# --- conventions and auto_truth -----------------------------------------------------------------

def test_angle_and_gain_conventions(tmp_path):
    path = tmp_path / "g.root"
    garfield_file(path, angle=60.0, gain=2.0)
    plain = read(path, schema=mapping_from_dict(BASE))
    assert np.allclose(plain.truth["angle_deg"], 60.0)
    m = mapping_from_dict({**BASE, "conventions": {"angle_deg": "to_wire", "electron_gain": "relative",
                                                    "gain_mean": 1.5e5}})
    got = read(path, schema=m)
    assert np.allclose(got.truth["angle_deg"], 30.0)  # 90 - angle to the wire
    assert np.allclose(ak.flatten(got.truth["electron_gain"]), 3.0e5)
    with pytest.raises(ConfigError, match="gain_mean"):
        mapping_from_dict({**BASE, "conventions": {"electron_gain": "relative"}})
    with pytest.raises(ConfigError, match="angle_deg convention"):
        mapping_from_dict({**BASE, "conventions": {"angle_deg": "wire"}})
    with pytest.raises(ConfigError, match="unknown key 'angle'"):
        mapping_from_dict({**BASE, "conventions": {"angle": "to_wire"}})


def test_auto_truth_lists_imports_and_warns_on_clashes(tmp_path, caplog):
    path = tmp_path / "g.root"
    garfield_file(path, angle=90.0, gain=1.0)
    m = mapping_from_dict({**BASE, "truth": {"electron_time_ns": "t_arrival", "electron_peak_ns": "t_arrival"}})
    with caplog.at_level(logging.WARNING, logger="ccreco.io.reader"):
        read(path, schema=m)
    text = caplog.text
    assert "auto_truth imported 2 same-named branches: angle_deg, electron_gain" in text
    assert "not a ccreco file" in text
    assert 'angle_deg = "to_wire"' in text  # 90 degrees: angle to the wire?
    assert 'electron_gain = "relative"' in text  # median gain 1: relative?
    assert "equals electron_time_ns" in text  # arrival renamed to peak
    caplog.clear()
    fixed = m.replace(truth={"electron_time_ns": "t_arrival"}, derived={"electron_peak_ns": "t_arrival + 2.4"},
                      angle_convention="to_wire", gain_convention="relative", gain_mean=1.5e5)
    with caplog.at_level(logging.WARNING, logger="ccreco.io.reader"):
        read(path, schema=fixed)
    assert "to_wire" not in caplog.text and "relative" not in caplog.text and "equals" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ccreco.io.reader"):
        read(path, schema=fixed.replace(auto_truth=False))
    assert caplog.text == ""


def test_ccreco_files_import_quietly(tmp_path, caplog):
    path = write_native(tmp_path / "n.root", 10)
    with caplog.at_level(logging.WARNING, logger="ccreco.io.reader"):
        chunk = read(path)
    assert chunk.truth is not None and caplog.text == ""


# --- RNTuple input ------------------------------------------------------------------------------

def to_rntuple(src, dst, *, clusters=1):
    """Copy a TTree file's ``sim`` tree into an RNTuple ``sim`` (uproot's mkrntuple)."""
    arrays = uproot.open(src)["sim"].arrays(how=dict)
    n = len(next(iter(arrays.values())))
    edges = np.linspace(0, n, clusters + 1).astype(int)
    with uproot.recreate(dst) as f:
        f.mkrntuple("sim", {k: v[edges[0]:edges[1]] for k, v in arrays.items()})
        for a, b in zip(edges[1:-1], edges[2:], strict=True):
            f["sim"].extend({k: v[a:b] for k, v in arrays.items()})
    return dst


def test_rntuple_reads_like_ttree(tmp_path):
    tt = write_native(tmp_path / "tt.root", 25, chunks=2)
    rn = to_rntuple(tt, tmp_path / "rn.root", clusters=2)
    assert uproot.open(rn).classnames()["sim;1"] == "ROOT::RNTuple"
    a, b = read(tt), read(rn)
    assert np.array_equal(a.waveforms, b.waveforms)
    assert a.sampling_ns == b.sampling_ns
    assert ak.to_list(a.meta) == ak.to_list(b.meta)
    assert ak.to_list(a.truth) == ak.to_list(b.truth)
    chunks = list(iterate(rn, step_size=10))
    assert [(c.source.entry_start, c.source.entry_stop) for c in chunks] == [(0, 10), (10, 25), (25, 35), (35, 50)]
    report = inspect_file(rn)
    assert report.ok and report.entries == 50 and report.has_truth


def test_rntuple_with_mapping_and_errors(tmp_path):
    path = tmp_path / "g.root"
    chunk = garfield_file(path)
    rn = tmp_path / "g_rn.root"
    arrays = uproot.open(path)["sim"].arrays(how=dict)
    with uproot.recreate(rn) as f:
        f.mkrntuple("sim", arrays)
    m = mapping_from_dict({**BASE, "truth": {"electron_peak_ns": "t_arrival + 2.4"}})
    got = read(rn, schema=m)
    assert ak.all(np.abs(got.truth["electron_peak_ns"] - (chunk.truth["electron_time_ns"] + 2.4)) < 1e-12)
    with pytest.raises(Exception, match="missing branch") as info:
        read(rn, schema=m.replace(waveforms=("wave",)))
    assert info.value.branch == "wave" and "wf" in str(info.value)


def test_inspect_reports_truth_origin_clashes_and_uses(tmp_path):
    path = tmp_path / "g.root"
    garfield_file(path, angle=90.0)
    m = mapping_from_dict({**BASE, "truth": {"electron_peak_ns": "t_arrival + 2.4", "n_clusters": "nclus"}})
    report = inspect_file(path, m)
    assert report.ok and "electron_peak_ns" in report.truth_fields
    notes = "\n".join(report.truth_notes)
    assert "derived electron_peak_ns = t_arrival + 2.4" in notes
    assert "auto_truth imported 2 same-named branches: angle_deg, electron_gain" in notes
    assert "mapped truth field n_clusters not read: branch nclus absent" in notes
    assert 'angle_deg = "to_wire"' in notes
    assert report.supports == {"evaluate peaks / train peaks": True, "evaluate clusters / train clusters": False}
    text = report.to_text()
    assert "supports:    evaluate peaks / train peaks: yes; evaluate clusters / train clusters: no" in text
    assert report.to_dict()["supports"]["evaluate peaks / train peaks"] is True


def test_rntuple_through_reco_and_evaluate(tmp_path):
    """coffea's runner (ccreco reco) and the evaluation read an RNTuple like the TTree it came from."""
    from ccreco.analysis.evaluate import evaluate_clusters
    from ccreco.reco import run_reco
    from ccreco.sim import SimConfig, simulate_to_file

    tt = tmp_path / "sim.root"
    simulate_to_file(tt, SimConfig.from_preset("tb2023-untuned"), 60, seed=4, progress=False)
    rn = to_rntuple(tt, tmp_path / "sim_rn.root", clusters=2)
    runs = {}
    for name, path in (("tt", tt), ("rn", rn)):
        summary = run_reco(path, tmp_path / f"reco_{name}", chunk_size=40, plots=False, status=False)
        assert summary.counters["waveforms_reconstructed"] == 60
        runs[name] = uproot.open(tmp_path / f"reco_{name}" / "reco.root")["reco"].arrays(
            ["event", "n_peaks", "n_clusters"], library="np")
    order = {name: np.argsort(r["event"], kind="stable") for name, r in runs.items()}
    for key in ("event", "n_peaks", "n_clusters"):
        assert np.array_equal(runs["tt"][key][order["tt"]], runs["rn"][key][order["rn"]]), key
    a = evaluate_clusters(str(tt), "deriv")
    b = evaluate_clusters(str(rn), "deriv")
    assert a["n_waveforms"] == b["n_waveforms"] == 60 and a["bias"] == b["bias"]


def test_derived_peak_time_restores_window_metrics(tmp_path):
    """Arrival times renamed to peak times ruin the LSTM's window F1; the derived field restores it exactly."""
    from ccreco.analysis.evaluate import evaluate_peaks
    from ccreco.sim import SimConfig, simulate_to_file

    path = tmp_path / "sim.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), 80, seed=5, progress=False)
    truth = read(path).truth
    delay = np.unique(np.round(ak.flatten(truth["electron_peak_ns"] - truth["electron_time_ns"]).to_numpy(), 6))
    assert delay.size == 1  # one pulse shape: a constant peak delay
    f1 = {}
    for name, derived in (("native", None), ("arrival", "electron_time_ns"),
                          ("derived", f"electron_time_ns + {float(delay[0])!r}")):
        schema = "native" if derived is None else mapping_from_dict({"truth": {"electron_peak_ns": derived}})
        f1[name] = evaluate_peaks([str(path)], "lstm", schema=schema)["f1"]
    assert f1["derived"] == pytest.approx(f1["native"], abs=1e-12)
    assert f1["arrival"] < f1["native"] - 0.15
