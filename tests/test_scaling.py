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
    # blocks of 10: files of 7 entries are not small (half a block), so coffea's runner reads them
    s = run_reco(files, tmp_path / "out", status=False, plots=False, chunk_size=10)
    assert s.counters["waveforms_reconstructed"] == 21 and s.counters["chunks"] == 3


def test_group_small_files_packs_consecutive_small_files_in_order() -> None:
    from ccreco.reco.batch import SMALL_FILE_FRACTION, group_small_files

    assert SMALL_FILE_FRACTION == 0.5
    sizes = {"a": 7, "b": 7, "c": 15, "d": 7, "e": 7, "f": 7, "g": 3}
    n = {k: {"numentries": v} for k, v in sizes.items()}
    runner, groups = group_small_files(list(sizes), n, 20)
    # a file of >= 10 entries (half a block) goes to coffea's runner and ends a run of small ones;
    # a group holds at most a block; a group of one file is no group
    assert [g.files for g in groups] == [("a", "b"), ("d", "e"), ("f", "g")]
    assert [g.n_entries for g in groups] == [14, 14, 10] and groups[0].entries == (7, 7)
    assert runner == ["c"]
    runner, groups = group_small_files(["a", "c", "d"], n, 20)
    assert runner == ["a", "c", "d"] and groups == []
    # every file in exactly one place, whatever the block size
    for chunk in (1, 8, 14, 15, 30, 1000):
        runner, groups = group_small_files(list(sizes), n, chunk)
        placed = runner + [f for g in groups for f in g.files]
        assert sorted(placed) == sorted(sizes)
        assert all(g.n_entries <= chunk and len(g.files) >= 2 for g in groups)
        assert all(sizes[f] < chunk / 2 for g in groups for f in g.files)


def _small_files(tmp_path, sizes):  # noqa: ANN001, ANN202
    files = []
    for i, n in enumerate(sizes):
        files.append(tmp_path / f"f{i}.root")
        simulate_to_file(files[-1], SimConfig.from_preset("tb2023-untuned"), n, 40 + i, progress=False)
    return files


def test_small_files_read_as_one_block_give_what_one_block_per_file_gives(tmp_path, monkeypatch) -> None:
    """Runs of small files are reconstructed as one block each (fewer part files, fixed costs
    paid once); reco.root (file_index included), the per-file summary, data checks and checksum
    verification are those of one block per file."""
    import json

    files = _small_files(tmp_path, [7, 7, 15, 7, 7, 7])
    grouped = run_reco(files, tmp_path / "g", status=False, plots=False, chunk_size=20)
    monkeypatch.setattr(batch, "SMALL_FILE_FRACTION", 0.0)  # every file through coffea's runner
    single = run_reco(files, tmp_path / "s", status=False, plots=False, chunk_size=20)
    # (f0, f1) and (f3, f4) are groups; f2 is not small; f5 would overflow the block -> runner
    assert grouped.counters["chunks"] == 4 and single.counters["chunks"] == 6
    assert grouped.counters["waveforms_reconstructed"] == single.counters["waveforms_reconstructed"] == 50
    with uproot.open(grouped.outdir / "reco.root") as fg, uproot.open(single.outdir / "reco.root") as fs:
        a, b = fg["reco"].arrays(library="np"), fs["reco"].arrays(library="np")
    assert set(a) == set(b)
    np.testing.assert_array_equal(a["file_index"], np.repeat(np.arange(6), [7, 7, 15, 7, 7, 7]))
    for k in a:
        if a[k].dtype == object:
            assert all(np.array_equal(x, y) for x, y in zip(a[k], b[k], strict=True)), k
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    sg, ss = (json.loads((r.outdir / "summary.json").read_text()) for r in (grouped, single))
    assert sg["files"] == ss["files"] and [f["entries"] for f in sg["files"]] == [7, 7, 15, 7, 7, 7]
    assert sg["data_checks"] == ss["data_checks"]
    assert sg["integrity"] == ss["integrity"] and sg["integrity"]["verified"] == sg["integrity"]["recorded"] > 0


def test_a_bad_small_file_in_a_group_is_named_or_skipped_alone(tmp_path) -> None:
    """A file of a group that fails past its first entry (which the input check reads) raises
    naming it, or with on_error="skip" is listed while the rest of its group is reconstructed."""
    from ccreco.errors import NonFiniteWaveformError

    files = _small_files(tmp_path, [6, 6, 6])
    chunk = read(files[1])
    chunk.waveforms[3, 500] = np.nan
    with NtupleWriter(tmp_path / "nan.root") as w:
        w.write(chunk)
    (tmp_path / "nan.root").replace(files[1])
    with pytest.raises(NonFiniteWaveformError) as err:
        run_reco(files, tmp_path / "out", status=False, plots=False, chunk_size=20)
    assert "f1.root" in str(err.value) and not (tmp_path / "out").exists()
    s = run_reco(files, tmp_path / "out", status=False, plots=False, chunk_size=20, on_error="skip")
    assert s.counters["chunks"] == 1 and s.counters["chunks_skipped"] == 1
    assert s.counters["waveforms_reconstructed"] == 12 and s.counters["waveforms_skipped"] == 6
    assert [(r["file"].endswith("f1.root"), r["entry_start"], r["error"]) for r in s.data["skipped"]] == [
        (True, 0, "NonFiniteWaveformError")]
    with uproot.open(s.outdir / "reco.root") as f:
        np.testing.assert_array_equal(f["reco"]["file_index"].array(library="np"), [0] * 6 + [2] * 6)


def test_a_custom_processor_sees_every_file(tmp_path) -> None:
    """Grouping is ccreco's own reading: with a user's processor every file goes through coffea."""
    from ccreco.reco.processor import ClusterCountingProcessor

    class Mine(ClusterCountingProcessor):
        pass

    files = _small_files(tmp_path, [5, 5, 5])
    s = run_reco(files, tmp_path / "out", status=False, plots=False, processor_factory=Mine)
    assert s.counters["chunks"] == 3 and s.counters["waveforms_reconstructed"] == 15


def test_checking_many_inputs_reports_progress(tmp_path, monkeypatch, capsys) -> None:
    """Thousands of small files take a while to check: from CHECK_BAR_MIN_FILES files on a run
    says how far the input check is (progress lines when stderr is a log, not a terminal)."""
    monkeypatch.delenv("CCRECO_NO_PROGRESS", raising=False)
    files = _small_files(tmp_path, [3] * batch.CHECK_BAR_MIN_FILES)
    run_reco(files[:2], tmp_path / "few", status=False, plots=False)
    assert "Checking inputs" not in capsys.readouterr().err
    s = run_reco(files, tmp_path / "many", status=False, plots=False)
    assert f"Checking inputs: {len(files)}/{len(files)} file (100 %)" in capsys.readouterr().err
    assert s.counters["waveforms_reconstructed"] == 3 * len(files) and s.counters["chunks"] == 1


def test_small_garfield_style_files_are_grouped_through_their_mapping(tmp_path, monkeypatch) -> None:
    """Many small files in another layout (jagged waveforms, sampling rate in GS/s: the ``cepc``
    mapping) read together give what one block per file gives."""
    import awkward as ak

    from ccreco.reco import RecoConfig

    files = []
    for i, chunk in enumerate(simulate(SimConfig.from_preset("tb2023-untuned"), 20, 7, chunk_size=5)):
        branches = {"wf_i": ak.Array(list(chunk.waveforms)), "sampling_rate": np.full(len(chunk), 1.0),
                    "ncls": np.asarray(chunk.truth["n_clusters"], dtype=np.int32)}
        files.append(tmp_path / f"garfield_{i}.root")
        with uproot.recreate(files[-1]) as f:
            types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in branches.items()}
            f.mktree("sim", types).extend(branches)
    assert len(files) == 4
    cfg = RecoConfig(angle_deg=0.0)
    grouped = run_reco(files, tmp_path / "g", schema="cepc", config=cfg, status=False, plots=False, chunk_size=20)
    monkeypatch.setattr(batch, "SMALL_FILE_FRACTION", 0.0)
    single = run_reco(files, tmp_path / "s", schema="cepc", config=cfg, status=False, plots=False, chunk_size=20)
    assert grouped.counters["chunks"] == 1 and single.counters["chunks"] == 4
    with uproot.open(grouped.outdir / "reco.root") as fg, uproot.open(single.outdir / "reco.root") as fs:
        a, b = fg["reco"].arrays(library="np"), fs["reco"].arrays(library="np")
    for k in ("file_index", "event", "n_peaks", "n_clusters", "n_clusters_true", "track_length_cm"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    np.testing.assert_array_equal(a["event"], np.tile(np.arange(5), 4))  # entry numbers per file


def test_a_group_splits_where_the_truth_fields_change(tmp_path) -> None:
    """Small files whose truth fields differ (one lacks ``angle_deg``) cannot be concatenated:
    each stretch with the same fields is one block; every waveform is reconstructed."""
    import dataclasses

    import awkward as ak

    files = _small_files(tmp_path, [4, 4, 4, 4])
    chunk = read(files[2])
    with NtupleWriter(tmp_path / "other.root") as w:
        w.write(dataclasses.replace(chunk, truth=ak.without_field(chunk.truth, "angle_deg")))
    (tmp_path / "other.root").replace(files[2])
    s = run_reco(files, tmp_path / "out", status=False, plots=False, chunk_size=100)
    assert s.counters["chunks"] == 3 and s.counters["waveforms_reconstructed"] == 16
    with uproot.open(s.outdir / "reco.root") as f:
        t = f["reco"].arrays(["file_index", "n_clusters_true"], library="np")
    np.testing.assert_array_equal(t["file_index"], np.repeat(np.arange(4), 4))
    assert [f["entries"] for f in s.data["files"]] == [4, 4, 4, 4]


def test_files_with_and_without_truth_are_refused_before_any_work(tmp_path) -> None:
    """reco.root has one set of branches per run: a run mixing files with and without MC truth
    used to reconstruct everything and then fail in the merge (an uproot error naming no file);
    the input check now refuses it, naming a file of each kind."""
    import dataclasses

    from ccreco.errors import ConfigError

    files = _small_files(tmp_path, [4, 4])
    big = tmp_path / "big.root"
    simulate_to_file(big, SimConfig.from_preset("tb2023-untuned"), 30, 3, progress=False)
    with NtupleWriter(tmp_path / "data.root") as w:
        w.write(dataclasses.replace(read(big), truth=None))
    for chunk_size in (100, 10):  # the data file grouped or read by coffea's runner
        with pytest.raises(ConfigError, match="differ in MC truth") as err:
            run_reco([*files, tmp_path / "data.root"], tmp_path / "out", status=False, plots=False,
                     chunk_size=chunk_size)
        assert "data.root gives none" in str(err.value) and "f0.root gives n_clusters_true" in str(err.value)
        assert not (tmp_path / "out").exists()
