"""Your own coffea processor running an ONNX model through ccreco's ONNX Runtime wrapper.

coffea's ``ml_tools`` has wrappers for TorchScript, TensorFlow, xgboost and Triton; for an
``.onnx`` file use :class:`ccreco.models.onnx_wrapper.onnx_wrapper` the same way: subclass it,
say in ``prepare_awkward`` how your columns become the model's input, and call it on awkward
arrays inside ``process``. The wrapper opens its onnxruntime session lazily on whichever
process runs the chunk (the processor pickles to dask workers), with one thread and no idle
spinning, on CUDA when ``onnxruntime-gpu`` offers it and on CPU otherwise.

This example is a plain analysis, not ccreco's reconstruction: for every waveform it cuts the
window around the highest sample (awkward only, no loop) and asks the shipped step-1 LSTM how
signal-like that pulse is; it histograms the score::

    python examples/onnx_in_coffea.py run.root               # iterative executor
    python examples/onnx_in_coffea.py run.root --dask 2      # dask LocalCluster, 2 workers
    python examples/onnx_in_coffea.py --simulate 500         # make a small run first

Any ONNX model works the same way; only ``prepare_awkward`` changes.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema

from ccreco.models.onnx_wrapper import onnx_wrapper


class MaxPulseTagger(onnx_wrapper):
    """Score the window ``[peak - left, peak + right]`` around each waveform's highest sample.

    Parameters
    ----------
    path : str
        The ``.onnx`` file (every worker must see it).
    left, right : int
        Samples before and after the highest sample (the model's window).
    """

    def __init__(self, path: str, left: int, right: int) -> None:
        super().__init__(path, batch_size=1024)
        self.left, self.right = int(left), int(right)

    def prepare_awkward(self, waveform: ak.Array) -> tuple[tuple[Any, ...], dict[str, Any]]:
        n = ak.num(waveform, axis=1)
        peak = ak.argmax(waveform, axis=1, keepdims=True)
        peak = np.clip(peak, self.left, n[:, np.newaxis] - self.right - 1)  # keep the window inside
        index = ak.local_index(waveform, axis=1)
        window = waveform[(index >= peak - self.left) & (index <= peak + self.right)]
        window = ak.to_regular(window, axis=1)
        return (window[:, :, np.newaxis],), {}  # (n, left + right + 1, 1): the model's input

    def postprocess_awkward(self, out: ak.Array, waveform: ak.Array) -> ak.Array:
        return ak.flatten(out, axis=1)  # (n, 1) -> one score per waveform


class MaxPulseProcessor(processor.ProcessorABC):
    """A user's processor: a score histogram and a count of signal-like waveforms."""

    def __init__(self, tagger: MaxPulseTagger, threshold: float = 0.5) -> None:
        self.tagger = tagger
        self.threshold = float(threshold)

    def process(self, events: Any) -> dict[str, Any]:
        score = self.tagger(events.waveform)
        h = hist.Hist.new.Reg(20, 0.0, 1.0, name="score", label="LSTM score of the highest pulse").Double()
        h.fill(score=ak.to_numpy(score))
        return {"score": h, "waveforms": len(events), "signal_like": int(ak.sum(score >= self.threshold))}

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        return accumulator


def default_tagger() -> MaxPulseTagger:
    """The tagger on ccreco's shipped step-1 LSTM (window read from its metadata)."""
    from ccreco.models.inference import read_metadata
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model

    path = shipped_model(DEFAULT_PEAK_MODEL)
    meta = read_metadata(path)
    return MaxPulseTagger(str(path), meta["window_left"], meta["window_right"])


def run(files: list[str], tree: str = "sim", workers: int = 0, chunksize: int = 2000) -> dict[str, Any]:
    """Run the processor on ``files`` with coffea's iterative executor (or dask with ``workers``).

    Parameters
    ----------
    files : list of str
        ROOT files with a fixed-length ``waveform`` branch.
    tree : str
        Tree name.
    workers : int
        0: iterative executor; otherwise a dask ``LocalCluster`` of that many workers.
    chunksize : int
        Entries per chunk.

    Returns
    -------
    dict
        ``score`` (hist), ``waveforms``, ``signal_like``.
    """
    proc = MaxPulseProcessor(default_tagger())
    fileset = {"sample": {"files": {f: tree for f in files}}}
    if workers:
        import logging

        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            runner = processor.Runner(processor.DaskExecutor(client=client, status=False), schema=BaseSchema,
                                      chunksize=chunksize)
            return runner(fileset, proc, treename=tree)
    runner = processor.Runner(processor.IterativeExecutor(status=False), schema=BaseSchema, chunksize=chunksize)
    return runner(fileset, proc, treename=tree)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--dask", type=int, default=0, metavar="N", help="dask LocalCluster with N workers")
    ap.add_argument("--simulate", type=int, default=0, metavar="N", help="simulate N waveforms first (seed 1)")
    args = ap.parse_args()
    files = list(args.files)
    if args.simulate or not files:
        from ccreco.sim import SimConfig, simulate_to_file

        path = Path(tempfile.mkdtemp(prefix="onnx-coffea-")) / "run.root"
        simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), args.simulate or 500, 1)
        files.append(str(path))
    out = run(files, workers=args.dask)
    print(f"{out['waveforms']} waveforms, {out['signal_like']} with a signal-like highest pulse")
    print(out["score"])


if __name__ == "__main__":
    main()
