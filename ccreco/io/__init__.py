"""ROOT ntuple I/O: ccreco's native schema, branch mappings, validated reading, atomic writing."""

from __future__ import annotations

from ccreco.io.chunk import ChunkSource, WaveformChunk
from ccreco.io.writer import NtupleWriter, write_ntuple

__all__ = ["ChunkSource", "NtupleWriter", "WaveformChunk", "write_ntuple"]
