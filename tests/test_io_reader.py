"""Reading native files: round trip, chunking, many files, skip mode."""

from __future__ import annotations

import logging

import awkward as ak
import numpy as np
import pytest
from io_helpers import N_SAMPLES_TEST, make_chunk, write_native, write_raw

from ccreco.errors import MissingBranchError, NonFiniteWaveformError, SamplingMismatchError
from ccreco.io import SkipRecord, iterate, read


def test_round_trip_native(tmp_path):
    path = write_native(tmp_path / "a.root", 30, chunks=2)
    chunk = read(path)
    ref = [make_chunk(30, seed=1), make_chunk(30, seed=2, first_event=30)]
    assert chunk.waveforms.dtype == np.float32 and chunk.waveforms.flags.c_contiguous
    assert chunk.waveforms.shape == (60, N_SAMPLES_TEST)
    np.testing.assert_array_equal(chunk.waveforms, np.concatenate([c.waveforms for c in ref]))
    assert chunk.sampling_ns == 1.0
    assert chunk.meta.event.tolist() == list(range(60))
    assert ak.all(chunk.truth.cluster_time_ns == ak.concatenate([c.truth.cluster_time_ns for c in ref]))
    assert chunk.truth.n_clusters.tolist() == ak.num(chunk.truth.cluster_time_ns).tolist()
    assert chunk.source.entry_start == 0 and chunk.source.entry_stop == 60


def test_chunks_cover_file_in_order(tmp_path):
    path = write_native(tmp_path / "a.root", 25, chunks=4)
    chunks = list(iterate(path, step_size=30))
    assert sum(len(c) for c in chunks) == 100
    assert all(len(c) <= 50 for c in chunks)
    starts = [c.source.entry_start for c in chunks]
    assert starts == sorted(starts) and starts[0] == 0
    assert np.concatenate([c.meta.event for c in chunks]).tolist() == list(range(100))


def test_many_files_and_glob(tmp_path):
    for i in range(3):
        write_native(tmp_path / f"f{i}.root", 10, seed=i + 10)
    chunks = list(iterate(str(tmp_path / "f*.root")))
    assert [c.source.file.rsplit("/", 1)[1] for c in chunks] == ["f0.root", "f1.root", "f2.root"]


def test_data_without_truth(tmp_path):
    path = write_native(tmp_path / "d.root", 10, truth=False)
    assert read(path).truth is None


def test_skip_mode_reports_every_skip(tmp_path, caplog):
    good = write_native(tmp_path / "good.root", 10)
    nobranch = write_raw(tmp_path / "nobranch.root", {"wave": np.zeros((3, 8), np.float32)})
    wf = make_chunk(20).waveforms
    wf[15, 3] = np.nan
    nan = write_raw(tmp_path / "nan.root", {"waveform": wf, "sampling_ns": np.ones(20)})
    seen: list[SkipRecord] = []
    with caplog.at_level(logging.WARNING, logger="ccreco.io.reader"):
        it = iterate([good, nobranch, nan, tmp_path / "missing.root"], on_error="skip", report=seen.append)
        chunks = list(it)
    assert sum(len(c) for c in chunks) == 10
    assert it.skipped == seen and len(seen) == 3
    assert isinstance(seen[0].error, MissingBranchError) and seen[0].entry_start is None
    assert isinstance(seen[1].error, NonFiniteWaveformError) and seen[1].error.entry == 15
    assert seen[2].file.endswith("missing.root")
    assert len([r for r in caplog.records if "skipping" in r.getMessage()]) == 3


def test_raise_mode_is_default(tmp_path):
    good = write_native(tmp_path / "good.root", 10)
    other = write_native(tmp_path / "other.root", 10, sampling_ns=0.5)
    with pytest.raises(SamplingMismatchError) as info:
        list(iterate([good, other]))
    assert info.value.file == str(other)


def test_large_basket_split_into_steps(tmp_path):
    path = write_native(tmp_path / "big.root", 100)
    sizes = [len(c) for c in iterate(path, step_size=30)]
    assert sizes == [30, 30, 40]
