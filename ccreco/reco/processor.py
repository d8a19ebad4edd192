"""The coffea processor of the two-step cluster-counting reconstruction.

A thin :class:`coffea.processor.ProcessorABC`: it hands each block of events (``BaseSchema``:
one field per branch, mapped to ccreco's in-memory form by the run's schema) to
:func:`ccreco.reco.batch.process_events`, which validates the columns, runs the step-1 LSTM
and the step-2 model (ONNX, one session per worker process), fills the histograms and writes the
block's per-waveform part file. No logic lives here.

It is defined in the ``reco`` layer because :func:`ccreco.reco.run_reco` instantiates it; the
public name is :class:`ccreco.processors.ClusterCountingProcessor` (the package built from the
repository's top-level ``processors/`` folder, docs/ARCHITECTURE.md).

Examples
--------
>>> from coffea import processor  # doctest: +SKIP
>>> from coffea.nanoevents import BaseSchema  # doctest: +SKIP
>>> from ccreco.processors import ClusterCountingProcessor  # doctest: +SKIP
>>> runner = processor.Runner(processor.IterativeExecutor(), schema=BaseSchema)  # doctest: +SKIP
>>> out, metrics = runner(fileset, ClusterCountingProcessor(task), treename="sim")  # doctest: +SKIP

In practice ``ccreco reco`` / :func:`ccreco.reco.run_reco` build the ``task`` and the runner.
"""

from __future__ import annotations

from typing import Any

from coffea import processor

from ccreco.reco.accumulator import RecoAccumulator
from ccreco.reco.batch import BlockTask, process_events


class ClusterCountingProcessor(processor.ProcessorABC):
    """Reconstruct peaks, cluster counts and dN/dx of every waveform in a block.

    Parameters
    ----------
    task : ccreco.reco.batch.BlockTask
        Models, schema, staging directory and error policy of the run.
    """

    def __init__(self, task: BlockTask) -> None:
        self.task = task

    def process(self, events: Any) -> RecoAccumulator:
        """Accumulator of one block (see :mod:`ccreco.reco.batch`)."""
        return process_events(events, self.task)

    def postprocess(self, accumulator: RecoAccumulator) -> RecoAccumulator:
        """Nothing to do: outputs are written by the driver after the merge."""
        return accumulator


__all__ = ["ClusterCountingProcessor"]
