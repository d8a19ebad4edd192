"""The atomic writer: crash safety, metadata, field consistency."""

from __future__ import annotations

import json

import pytest
import uproot
from io_helpers import make_chunk

from ccreco.constants import META_KEY, SCHEMA_VERSION
from ccreco.errors import ConfigError
from ccreco.io import NtupleWriter, read, write_ntuple


def test_crash_mid_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.root"
    with pytest.raises(RuntimeError, match="boom"):
        with NtupleWriter(target) as w:
            w.write(make_chunk(10))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_crash_keeps_previous_file(tmp_path):
    target = tmp_path / "out.root"
    write_ntuple(target, [make_chunk(5)])
    before = target.read_bytes()
    with pytest.raises(ConfigError, match="differ from the first chunk"):
        with NtupleWriter(target) as w:
            w.write(make_chunk(10))
            w.write(make_chunk(10, truth=False))  # different fields: refused
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.root"]


def test_metadata_and_entries(tmp_path):
    target = tmp_path / "out.root"
    n = write_ntuple(target, [make_chunk(10), make_chunk(7, seed=3)], metadata={"preset": "x"})
    assert n == 17
    with uproot.open(target) as f:
        meta = json.loads(str(f[META_KEY]))
    assert meta["preset"] == "x" and meta["n_entries"] == 17 and meta["schema_version"] == SCHEMA_VERSION
    assert len(read(target)) == 17
