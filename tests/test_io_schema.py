"""Schema presets (cepc, cepc-old) and TOML mappings (the shipped DRS4 example)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from io_helpers import write_raw

from ccreco.errors import ConfigError, TruthInconsistencyError
from ccreco.io import PRESETS, Mapping, load_mapping, read
from ccreco.io.schema import mapping_from_dict, resolve_schema

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mapping_drs4.toml"


def _cepc_branches(n: int = 6, n_samples: int = 48, seed: int = 4) -> dict:
    rng = np.random.default_rng(seed)
    wf = ak.unflatten(rng.normal(size=n * n_samples).astype(np.float32), np.full(n, n_samples))
    n_cand = rng.integers(2, 6, n)
    time = ak.unflatten(rng.integers(0, n_samples, n_cand.sum()).astype(np.float64), n_cand)
    tag = ak.unflatten(rng.integers(0, 3, n_cand.sum()).astype(np.int32), n_cand)
    return {
        "wf_i": wf,
        "sampling_rate": np.full(n, 2.0),
        "ncls": rng.integers(1, 9, n).astype(np.int32),
        "mom": rng.uniform(1, 20, n),
        "time": time,
        "tag": tag,
    }


@pytest.mark.parametrize("preset,tree,signal", [("cepc", "sim", (1, 2)), ("cepc-old", "signal", (0, 1))])
def test_cepc_presets(tmp_path, preset, tree, signal):
    br = _cepc_branches()
    path = write_raw(tmp_path / "cepc.root", br, tree=tree)
    chunk = read(path, schema=preset)
    assert chunk.waveforms.shape == (6, 48) and chunk.waveforms.dtype == np.float32
    assert chunk.sampling_ns == pytest.approx(0.5)
    assert chunk.truth.n_clusters.tolist() == br["ncls"].tolist()
    np.testing.assert_allclose(chunk.truth.momentum_gev, br["mom"])
    assert ak.all(chunk.truth.cand_time_ns == br["time"] * 0.5)
    expected = ak.values_astype((br["tag"] == signal[0]) | (br["tag"] == signal[1]), np.int8)
    assert chunk.truth.cand_label.tolist() == expected.tolist()
    assert chunk.meta.event.tolist() == list(range(6))


def test_cepc_time_in_ns_and_bad_tag(tmp_path):
    br = _cepc_branches()
    path = write_raw(tmp_path / "cepc.root", br)
    chunk = read(path, schema=PRESETS["cepc"].replace(cand_time_unit="ns"))
    assert ak.all(chunk.truth.cand_time_ns == br["time"])
    tags = ak.to_list(br["tag"])
    tags[3][1] = 7
    br["tag"] = ak.values_astype(ak.Array(tags), np.int32)
    path = write_raw(tmp_path / "bad.root", br)
    with pytest.raises(TruthInconsistencyError, match="tag value 7") as info:
        read(path, schema="cepc")
    assert (info.value.branch, info.value.entry) == ("tag", 3)


def test_drs4_example_mapping(tmp_path):
    mapping = load_mapping(EXAMPLE)
    assert mapping.name == "drs4-tb" and len(mapping.waveforms) == 16
    n, ns = 3, mapping.n_samples
    rng = np.random.default_rng(7)
    pulse_mv = np.zeros((n, 16, ns))
    pulse_mv[:, :, 200] = 50.0
    pulse_mv[1, 5, 300] = 20.0
    raw = mapping.offset - pulse_mv / mapping.scale + rng.normal(0, 0.001, pulse_mv.shape)
    br = {f"Waveform{c}": raw[:, c, :] for c in range(16)}
    br["RunNumber"] = np.full(n, 42, dtype=np.int32)
    br["EventNumber"] = np.arange(100, 100 + n, dtype=np.int32)
    path = write_raw(tmp_path / "run042.root", br, tree="t")
    chunk = read(path, schema=EXAMPLE)
    assert chunk.waveforms.shape == (n * 16, ns)
    assert chunk.sampling_ns == pytest.approx(0.2)
    assert chunk.meta.channel.tolist() == list(range(16)) * n
    assert chunk.meta.event.tolist() == list(np.repeat(np.arange(100, 103), 16))
    assert set(chunk.meta.run.tolist()) == {42}
    np.testing.assert_allclose(chunk.waveforms.reshape(n, 16, ns), pulse_mv, atol=0.01)
    assert chunk.truth is None


def test_toml_overrides_and_errors(tmp_path):
    m = mapping_from_dict({"preset": "cepc", "tree": "T", "candidates": {"time_unit": "ns"}})
    assert (m.tree, m.cand_time_unit, m.waveforms) == ("T", "ns", ("wf_i",))
    with pytest.raises(ConfigError, match="unknown key 'tre'; closest: \\['tree'"):
        mapping_from_dict({"tre": "x"})
    with pytest.raises(ConfigError, match="unknown key 'unti' in \\[sampling\\]"):
        mapping_from_dict({"sampling": {"unti": "ns"}})
    with pytest.raises(ConfigError, match="unknown preset 'cepc2'"):
        mapping_from_dict({"preset": "cepc2"})
    with pytest.raises(ConfigError, match="sampling_unit"):
        mapping_from_dict({"sampling": {"unit": "GSps"}})
    with pytest.raises(ConfigError, match="polarity"):
        Mapping(polarity=2)
    bad = tmp_path / "bad.toml"
    bad.write_text("tree = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_mapping(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_mapping(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="unknown schema 'cpec'; presets: \\['cepc'"):
        resolve_schema("cpec")


def test_multichannel_nan_names_channel_branch(tmp_path):
    from ccreco.errors import NonFiniteWaveformError

    br = {f"Waveform{c}": np.zeros((4, 16)) for c in range(3)}
    br["Waveform2"][3, 5] = np.inf
    path = write_raw(tmp_path / "mc.root", br, tree="t")
    mapping = mapping_from_dict({"tree": "t", "waveforms": {"pattern": "Waveform{}", "channels": [0, 1, 2]},
                                 "sampling": {"value": 1.0}})
    with pytest.raises(NonFiniteWaveformError) as info:
        read(path, schema=mapping)
    assert (info.value.branch, info.value.entry) == ("Waveform2", 3)
