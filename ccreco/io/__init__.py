"""ROOT ntuple I/O: ccreco's native schema, branch mappings, validated reading, atomic writing."""

from __future__ import annotations

from ccreco.io.chunk import ChunkSource, WaveformChunk
from ccreco.io.inspection import InspectReport, inspect_file
from ccreco.io.reader import ChunkIterator, SkipRecord, iterate, read
from ccreco.io.schema import PRESETS, Mapping, load_mapping
from ccreco.io.writer import NtupleWriter, default_compression, write_ntuple

__all__ = [
    "PRESETS",
    "ChunkIterator",
    "ChunkSource",
    "InspectReport",
    "Mapping",
    "NtupleWriter",
    "SkipRecord",
    "WaveformChunk",
    "default_compression",
    "inspect_file",
    "iterate",
    "load_mapping",
    "read",
    "write_ntuple",
]


def __dir__() -> list[str]:
    return __all__
