"""Simulated files written through NtupleWriter read back with uproot and ccreco.io."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import uproot

from ccreco.sim import SimConfig, simulate, simulate_to_file

CFG = SimConfig.from_preset("tb2023-untuned")


def test_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sim.root"
    n = simulate_to_file(path, CFG, 250, seed=7, chunk_size=100, progress=False)
    assert n == 250
    ref = next(simulate(CFG, 250, seed=7, chunk_size=250))
    with uproot.open(path) as f:
        tree = f["sim"]
        assert tree.num_entries == 250
        arr = tree.arrays()
        meta = json.loads(str(f["ccreco_meta"]))
    assert meta["seed"] == 7 and meta["sim_config"] == CFG.to_dict() and meta["preset"] == CFG.name
    assert np.array_equal(ak.to_numpy(arr.waveform), ref.waveforms)
    for field in ref.truth.fields:
        assert ak.to_list(arr[field]) == ak.to_list(ref.truth[field]), field
    assert ak.to_list(arr.n_electrons) == ak.to_list(ak.num(ref.truth.electron_time_ns))


def test_read_back_with_ccreco_io(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ccreco.io import read

    path = tmp_path / "sim.root"
    simulate_to_file(path, CFG, 120, seed=8, chunk_size=50, progress=False)
    ref = next(simulate(CFG, 120, seed=8, chunk_size=120))
    chunk = read(path)
    assert np.array_equal(chunk.waveforms, ref.waveforms)
    assert chunk.sampling_ns == CFG.sampling_ns
    for field in ("n_clusters", "cluster_time_ns", "electron_peak_ns", "electron_cluster"):
        assert ak.to_list(chunk.truth[field]) == ak.to_list(ref.truth[field]), field
