"""Every constant shared between ccreco modules, defined once.

Values that belong to a trained model (window length, normalization, decision threshold,
CNN binning) are *not* here: they live in the model's ONNX metadata and are read from there.
The numbers below are defaults for simulation and data reading only.
"""

from __future__ import annotations

#: Default sampling period of the digitizer in ns (1 GHz, PHYSICS.md "detector case").
SAMPLING_NS: float = 1.0
#: Default acquisition window in ns (PHYSICS.md "detector case").
WINDOW_NS: float = 2000.0
#: Default number of samples per waveform (WINDOW_NS / SAMPLING_NS).
N_SAMPLES: int = 2000

#: Default tree name of ccreco's native schema.
TREE: str = "sim"
#: Name of the TObjString holding ccreco's JSON metadata in files it writes.
META_KEY: str = "ccreco_meta"
#: Version of the native ntuple schema written by ccreco.
SCHEMA_VERSION: int = 1

#: Default peak-candidate window: samples [t - WINDOW_LEFT, t + WINDOW_RIGHT] (IHEP reference).
WINDOW_LEFT: int = 5
WINDOW_RIGHT: int = 9

#: Number of bins of the step-2 CNN encoding of detected peak times (IHEP reference).
CNN_BINS: int = 1024

#: Default entries per chunk when reading/writing (about 80 MB of 2000-sample float32).
STEP_SIZE: int = 10_000

#: Default length in ns of the pre-signal region (from the window start) used for the baseline
#: and noise RMS (PHYSICS.md "Algorithms": first 25 ns).
BASELINE_NS: float = 25.0

#: Most entries in one reconstruction block (``run_reco``): about 40 MB of 2000-sample float32
#: waveforms plus their candidate windows, so a worker's peak memory stays well under 1 GB.
BLOCK_ENTRIES_MAX: int = 5000
#: Fewest entries in a block when a run is split for parallel workers: below this the per-block
#: cost (coffea task, part file, histogram accumulator) starts to show against the ~1 s of work.
BLOCK_ENTRIES_MIN: int = 500
#: Blocks per worker the automatic block size aims at: every worker gets work even from a single
#: file, and the last blocks to finish are small enough that workers end together.
BLOCKS_PER_WORKER: int = 4
#: Entries per TTree basket in files ccreco writes: 8 MB of 2000-sample float32 waveforms per
#: basket (uproot decompresses whole baskets, so this bounds what a reader of any block size holds;
#: ``benchmarks/bench_baskets.py`` measures the read-speed cost against 10,000-entry baskets).
BASKET_ENTRIES: int = 1000
