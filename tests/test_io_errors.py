"""Bad input: each failure mode raises a clear error naming file, tree, branch and entry."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from io_helpers import make_chunk, make_truth, write_native, write_raw

from ccreco.errors import (
    EmptyTreeError,
    InputFileError,
    MissingBranchError,
    MissingTreeError,
    NonFiniteWaveformError,
    SamplingMismatchError,
    TruthInconsistencyError,
    WaveformLengthError,
)
from ccreco.io import Mapping, read


def _native_branches(n: int = 20, seed: int = 3) -> dict:
    c = make_chunk(n, seed=seed, truth=False)
    return {"waveform": c.waveforms, "sampling_ns": np.ones(n)}


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file") as info:
        read(tmp_path / "nope.root")
    assert info.value.file.endswith("nope.root")


def test_not_root(tmp_path):
    path = tmp_path / "text.root"
    path.write_text("hello, not ROOT\n" * 20)
    with pytest.raises(InputFileError, match="not a readable ROOT file"):
        read(path)


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated(tmp_path, keep):
    path = write_native(tmp_path / "t.root", 200)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputFileError, match="truncated") as info:
        read(path)
    assert info.value.file == str(path)


def test_corrupt_basket(tmp_path):
    import uproot

    path = write_native(tmp_path / "c.root", 200, truth=False)
    with uproot.open(path) as f:
        seek = int(f["sim"]["waveform"].member("fBasketSeek")[0])
    data = bytearray(path.read_bytes())
    data[seek : seek + 100] = bytes(100)  # the basket's key and compression header
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="truncated or corrupt") as info:
        read(path)
    assert info.value.tree == "sim" and info.value.entry == 0


def test_missing_tree_lists_trees(tmp_path):
    path = write_raw(tmp_path / "x.root", _native_branches(), tree="events")
    with pytest.raises(MissingTreeError, match="trees present: events") as info:
        read(path)
    assert info.value.tree == "sim" and isinstance(info.value, KeyError)


def test_missing_branch_closest_first(tmp_path):
    path = write_raw(tmp_path / "x.root", {"wavefrom": np.zeros((4, 8), np.float32),
                                           "sampling_ns": np.ones(4), "run": np.ones(4)})
    with pytest.raises(MissingBranchError, match=r"closest first: wavefrom, ") as info:
        read(path)
    assert info.value.branch == "waveform" and info.value.file == str(path)


def test_empty_tree(tmp_path):
    import uproot

    path = tmp_path / "e.root"
    with uproot.recreate(path) as f:
        f.mktree("sim", {"waveform": (np.float32, (8,)), "sampling_ns": np.float64})
    with pytest.raises(EmptyTreeError, match="no entries"):
        read(path)


def test_unequal_lengths(tmp_path):
    rng = np.random.default_rng(5)
    lengths = np.full(10, 16)
    lengths[7] = 15
    wf = ak.unflatten(rng.normal(size=lengths.sum()).astype(np.float32), lengths)
    path = write_raw(tmp_path / "j.root", {"waveform": wf, "sampling_ns": np.ones(10)})
    with pytest.raises(WaveformLengthError, match="15 samples") as info:
        read(path)
    assert (info.value.branch, info.value.entry) == ("waveform", 7)


def test_unexpected_length(tmp_path):
    path = write_native(tmp_path / "n.root", 10)
    with pytest.raises(WaveformLengthError, match="expected 100"):
        read(path, schema=Mapping(n_samples=100))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite(tmp_path, bad):
    br = _native_branches(30)
    br["waveform"][12, 5] = bad
    br["waveform"][20, 1:3] = bad
    path = write_raw(tmp_path / "nan.root", br)
    with pytest.raises(NonFiniteWaveformError, match="3 NaN/inf samples in 2 waveforms") as info:
        read(path)
    assert (info.value.branch, info.value.entry) == ("waveform", 12)


def test_sampling_disagrees_with_request(tmp_path):
    path = write_native(tmp_path / "s.root", 10, sampling_ns=0.8)
    with pytest.raises(SamplingMismatchError, match="0.8 ns, expected 1 ns") as info:
        read(path, expected_sampling_ns=1.0)
    assert info.value.branch == "sampling_ns"
    assert read(path, expected_sampling_ns=0.8).sampling_ns == pytest.approx(0.8)


def test_sampling_changes_within_file(tmp_path):
    br = _native_branches(10)
    br["sampling_ns"][6:] = 0.5
    path = write_raw(tmp_path / "s.root", br)
    with pytest.raises(SamplingMismatchError, match="changes within the file") as info:
        read(path)
    assert info.value.entry == 6


def _truth_file(tmp_path, edit):
    rng = np.random.default_rng(9)
    truth = make_truth(12, rng)
    fields = {f: truth[f] for f in truth.fields}
    edit(fields)
    return write_raw(tmp_path / "t.root", {**_native_branches(12), **fields})


def test_electron_cluster_out_of_range(tmp_path):
    def edit(f):
        ec = ak.to_list(f["electron_cluster"])
        ec[4][0] = 99
        f["electron_cluster"] = ak.values_astype(ak.Array(ec), np.int32)

    with pytest.raises(TruthInconsistencyError, match="electron_cluster out of range") as info:
        read(_truth_file(tmp_path, edit))
    assert (info.value.branch, info.value.entry) == ("electron_cluster", 4)


def test_cluster_size_sum_mismatch(tmp_path):
    def edit(f):
        cs = ak.to_list(f["cluster_size"])
        cs[8][0] += 1
        f["cluster_size"] = ak.values_astype(ak.Array(cs), np.int32)

    with pytest.raises(TruthInconsistencyError, match="sum of cluster_size") as info:
        read(_truth_file(tmp_path, edit))
    assert info.value.entry == 8


def test_cluster_count_mismatch(tmp_path):
    def edit(f):
        n = np.asarray(ak.num(f["cluster_time_ns"])).astype(np.int32)
        n[2] += 1
        f["n_clusters"] = n

    with pytest.raises(TruthInconsistencyError, match="n_clusters differs") as info:
        read(_truth_file(tmp_path, edit))
    assert (info.value.branch, info.value.entry) == ("n_clusters", 2)
