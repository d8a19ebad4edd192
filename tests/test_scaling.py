"""Scaling and memory defaults: automatic block size (work for every worker on one file) and the
basket size of files ccreco writes (bounded reads)."""

from __future__ import annotations

import numpy as np
import pytest
import uproot

from ccreco import constants
from ccreco.io import NtupleWriter, iterate, read
from ccreco.reco import batch
from ccreco.reco.batch import auto_chunk_size, run_reco
from ccreco.sim import SimConfig, simulate, simulate_to_file


def test_auto_chunk_size_gives_every_worker_blocks_within_bounds() -> None:
    lo, hi, k = constants.BLOCK_ENTRIES_MIN, constants.BLOCK_ENTRIES_MAX, constants.BLOCKS_PER_WORKER
    assert auto_chunk_size(1_000_000, 1) == hi  # iterative: largest blocks
    assert auto_chunk_size(10, 1) == hi
    for n, workers in ((5000, 2), (20_000, 2), (20_000, 8), (1_000_000, 4), (100, 2), (0, 3)):
        size = auto_chunk_size(n, workers)
        assert lo <= size <= hi
        blocks = -(-n // size)
        if lo < size < hi:  # not clamped: at least k blocks per worker
            assert blocks >= workers * k
    # the case: one 5000-waveform file, 2 workers -> more than one block each
    assert -(-5000 // auto_chunk_size(5000, 2)) >= 2 * k


def test_run_reco_splits_a_single_file_for_two_workers(tmp_path, monkeypatch) -> None:
    path = tmp_path / "one.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), 160, 5, progress=False)
    monkeypatch.setattr(constants, "BLOCK_ENTRIES_MIN", 10)  # tiny file: allow tiny blocks
    # the block size is chosen for 2 futures workers; the blocks then run in this process
    # (starting a process pool costs ~30 s here, and tests/test_reco_batch.py covers that path)
    from coffea import processor

    monkeypatch.setattr(batch, "_executor", lambda *a: (processor.IterativeExecutor(status=False, retries=0), None))
    s = run_reco([path], tmp_path / "fut", executor="futures", workers=2, status=False, plots=False)
    assert s.data["executor"]["chunk_size"] == 20  # 160 / (2 workers x 4)
    assert s.counters["chunks"] == 8 and s.counters["waveforms_reconstructed"] == 160
    it = run_reco([path], tmp_path / "it", status=False, plots=False)
    assert it.data["executor"]["chunk_size"] == constants.BLOCK_ENTRIES_MAX and it.counters["chunks"] == 1


def test_writer_bounds_basket_size(tmp_path) -> None:
    cfg = SimConfig.from_preset("tb2023-untuned")
    chunk = next(iter(simulate(cfg, 250, 3, chunk_size=250)))
    path = tmp_path / "b.root"
    with NtupleWriter(path, basket_entries=100) as w:
        w.write(chunk)  # one 250-entry chunk -> baskets of 100, 100, 50
    with uproot.open(path) as f:
        tree = f["sim"]
        for name in ("waveform", "run", "cluster_time_ns"):
            branch = tree[name]
            spans = [tuple(int(v) for v in branch.basket_entry_start_stop(i)) for i in range(branch.num_baskets)]
            assert spans == [(0, 100), (100, 200), (200, 250)], name
    back = read(path)
    np.testing.assert_array_equal(back.waveforms, chunk.waveforms)
    # default: constants.BASKET_ENTRIES, also for the simulator's 10,000-entry chunks
    default = tmp_path / "d.root"
    simulate_to_file(default, cfg, 250, 3, progress=False)
    with uproot.open(default) as f:
        assert max(b - a for a, b in (f["sim"]["waveform"].basket_entry_start_stop(i)
                                      for i in range(f["sim"]["waveform"].num_baskets))) <= constants.BASKET_ENTRIES
    with pytest.raises(Exception, match="basket_entries"):
        NtupleWriter(tmp_path / "x.root", basket_entries=0)


def test_reading_big_baskets_in_small_steps_is_complete(tmp_path) -> None:
    cfg = SimConfig.from_preset("tb2023-untuned")
    chunk = next(iter(simulate(cfg, 300, 4, chunk_size=300)))
    path = tmp_path / "big.root"
    with NtupleWriter(path, basket_entries=300) as w:  # someone else's file: one big basket
        w.write(chunk)
    steps = [len(c) for c in iterate(path, step_size=70)]
    assert max(steps) <= 2 * 70 and sum(steps) == 300  # memory follows the step, not the file


def test_run_reco_hands_coffea_the_file_metadata_it_already_read(tmp_path, monkeypatch) -> None:
    from coffea.processor import Runner

    files = []
    for i in range(3):
        files.append(tmp_path / f"small{i}.root")
        simulate_to_file(files[-1], SimConfig.from_preset("tb2023-untuned"), 7, 10 + i, progress=False)

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("coffea re-opened a file for its metadata")

    monkeypatch.setattr(Runner, "metadata_fetcher_root", staticmethod(boom))
    s = run_reco(files, tmp_path / "out", status=False, plots=False)
    assert s.counters["waveforms_reconstructed"] == 21 and s.counters["chunks"] == 3
