"""Inference throughput of the step-1 LSTM and step-2 CNN: ONNX Runtime vs PyTorch eager.

Windows (arrays) per second for both LSTM presets and the IHEP CNN at 1 and 2 threads and two
batch sizes, plus ONNX Runtime session options (graph optimization level, execution mode,
thread spinning). Every figure is also given as a ratio to PyTorch eager measured in the same
run with the same threads and batch. Weights are random: throughput does not depend on them.

A last section measures the runtime settings of the *shipped* step-1 LSTM on real candidate
windows of simulated waveforms, in CPU time per window (robust on a shared machine), with the
window F1 each setting gives: graph optimization levels, batch sizes, and int8 dynamic
quantization (adopted only if F1 moves by less than 0.005 and it is clearly faster).

Usage: ``python benchmarks/bench_models.py [--quick]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_META = {"sampling_ns": 1.0, "model_config": {}, "train_config": {}, "train_sample": {"source": "benchmark"},
         "metrics": {}}


def _rates(fns: dict[str, object], n: int, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` rate of each callable, measured interleaved.

    The machine is shared: interleaving the contenders (A B A B ...) exposes them to the same
    background load, so their ratio is more stable than either absolute figure.
    """
    for fn in fns.values():
        fn()  # warm-up (session creation, allocator, ORT kernels)
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    return {k: n / t for k, t in best.items()}


def _export(kind: str, preset: str, directory: Path) -> tuple[object, Path]:
    from ccreco.models.config import CLUSTER_PRESETS, PEAK_PRESETS
    from ccreco.models.export import export_onnx
    from ccreco.models.model import build_cluster_model, build_peak_model

    if kind == "peaks":
        cfg = PEAK_PRESETS[preset]
        model, info = build_peak_model(cfg)
        meta = dict(_META, window_left=cfg.window_left, window_right=cfg.window_right, normalization={}, threshold=0.5)
    else:
        cfg = CLUSTER_PRESETS[preset]
        model, info = build_cluster_model(cfg)
        meta = dict(_META, encoding={"kind": cfg.encoding, "bins": cfg.bins, "window_ns": cfg.window_ns},
                    extra_inputs=[], target="n_clusters", normalization={})
    return model.eval(), export_onnx(model, info, directory / f"{kind}_{preset}.onnx", meta)


def _eager(model, x: np.ndarray, batch: int, threads: int):  # noqa: ANN001, ANN202
    import torch

    def run() -> None:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            for s in range(0, x.shape[0], batch):
                model(torch.from_numpy(x[s : s + batch]))

    return run


def _ort(cls, path: Path, x: np.ndarray, batch: int, threads: int, **opts):  # noqa: ANN001, ANN202
    model = cls(path, intra_op_num_threads=threads, batch_size=batch, **opts)
    if cls.__name__ == "PeakModel":
        return lambda: model.predict(x, sampling_ns=1.0)
    return lambda: model.predict_encoded(x)


def _cpu_rates(fns: dict[str, object], n: int, repeats: int) -> dict[str, float]:
    """Like :func:`_rates` but in CPU seconds of this process (one onnxruntime thread)."""
    for fn in fns.values():
        fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            c0 = time.process_time()
            fn()
            best[key] = min(best[key], time.process_time() - c0)
    return {k: n / t for k, t in best.items()}


def quantized_copy(path: Path, out: Path) -> Path:
    """int8 dynamic quantization (weights int8, activations quantized on the fly) of an ONNX file."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(path))
    del model.graph.value_info[:]  # stale shape annotations of the exporter break the quantizer's shape inference
    clean = out.with_suffix(".clean.onnx")
    onnx.save(model, str(clean))
    quantize_dynamic(str(clean), str(out), weight_type=QuantType.QInt8)
    return out


def step1_settings(quick: bool, repeats: int) -> list[str]:
    """Runtime settings of the shipped step-1 model on real windows: speed (CPU) and window F1."""
    import logging

    from ccreco.analysis.metrics import window_metrics
    from ccreco.models.dataset import chunk_windows
    from ccreco.models.onnx_wrapper import onnx_wrapper
    from ccreco.reco import Reconstructor
    from ccreco.sim import SimConfig, simulate

    n_wf = 300 if quick else 2000
    reco = Reconstructor()
    chunk = next(iter(simulate(SimConfig.from_preset("tb2023-untuned"), n_wf, 11, chunk_size=n_wf)))
    cw, labels = chunk_windows(chunk, reco.candidates)
    x = np.ascontiguousarray(np.asarray(cw.windows, dtype=np.float32).reshape(len(cw), -1, 1))
    path = reco.peak_model.path
    variants: dict[str, tuple[Path, dict]] = {
        f"optimization {lvl}, batch 128": (path, {"optimization": lvl, "batch_size": 128})
        for lvl in ("all", "extended", "basic", "disable")}
    for b in (32, 64, 256, 512, 1024, 4096):
        variants[f"optimization all, batch {b}"] = (path, {"batch_size": b})
    with tempfile.TemporaryDirectory() as tmp:
        logging.getLogger().setLevel(logging.ERROR)  # the quantizer's pre-processing advice
        try:
            q = quantized_copy(path, Path(tmp) / "int8.onnx")
            variants["int8 dynamic quantization, batch 128"] = (q, {"batch_size": 128})
        except Exception as exc:  # noqa: BLE001 - reported in the table
            q = None
            note = f"int8 dynamic quantization failed: {type(exc).__name__}: {exc}"
        wrappers = {k: onnx_wrapper(p, **o) for k, (p, o) in variants.items()}
        scores = {k: w(x)[:, 0] for k, w in wrappers.items()}
        rates = _cpu_rates({k: (lambda w=w: w(x)) for k, w in wrappers.items()}, len(x), repeats)
    base_key = "optimization all, batch 128"
    f1_base = window_metrics(labels, scores=scores[base_key], threshold=reco.threshold)["f1"]
    lines = [
        "",
        f"Runtime settings of the shipped step-1 model `{path.name}` on the {len(x):,} real candidate windows of "
        f"{n_wf} `tb2023-untuned` waveforms (seed 11; {len(x) / n_wf:.0f} windows/waveform), 1 thread, no spinning; "
        f"windows per CPU second, best of {repeats}, interleaved; window F1 at the model's threshold "
        f"{reco.threshold:.3f} against the truth labels:",
        "",
        "| setting | windows / CPU s | ratio to the default | window F1 | F1 change | max score change |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k in variants:
        f1 = window_metrics(labels, scores=scores[k], threshold=reco.threshold)["f1"]
        lines.append(f"| {k}{' (default)' if k == base_key else ''} | {rates[k]:,.0f} "
                     f"| {rates[k] / rates[base_key]:.2f} "
                     f"| {f1:.4f} | {f1 - f1_base:+.4f} | {np.max(np.abs(scores[k] - scores[base_key])):.1e} |")
    if q is None:
        lines += ["", note]
    return lines


def main(quick: bool = False) -> str:
    """Run the benchmark and return a markdown section.

    Parameters
    ----------
    quick : bool
        Smaller samples and a single repeat (smoke check).

    Returns
    -------
    str
        The markdown section.
    """
    import torch

    from ccreco.models.inference import ClusterModel, PeakModel

    n_windows = 20_000 if quick else 100_000
    n_arrays = 1_000 if quick else 4_000
    repeats = 1 if quick else 5
    rng = np.random.default_rng(0)
    lines = [
        "## Models: ONNX Runtime vs PyTorch eager (bench_models.py)",
        "",
        f"CPU inference, random weights; best of {repeats} after a warm-up, contenders interleaved. "
        "Ratio = ONNX Runtime / "
        "PyTorch eager at the same threads and batch (> 1: ONNX Runtime faster). "
        f"torch {torch.__version__}, onnxruntime {__import__('onnxruntime').__version__}, "
        f"{os.cpu_count()} CPUs visible (shared machine: figures vary by ~10-20 %).",
        "",
        "| model | threads | batch | ORT [/s] | eager [/s] | ratio |",
        "|---|---|---|---|---|---|",
    ]
    prev_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        peak_paths = {}
        for preset in ("compact", "anwar2024"):
            model, path = _export("peaks", preset, tmpdir)
            peak_paths[preset] = path
            x = rng.normal(20, 3, (n_windows, model.cfg.window_length, 1)).astype(np.float32)
            for threads in (1, 2):
                for batch in (256, 4096):
                    r = _rates({"ort": _ort(PeakModel, path, x, batch, threads),
                                "eager": _eager(model, x, batch, threads)}, n_windows, repeats)
                    r_ort, r_eag = r["ort"], r["eager"]
                    lines.append(f"| LSTM {preset} (windows) | {threads} | {batch} | {r_ort:,.0f} | {r_eag:,.0f} "
                                 f"| {r_ort / r_eag:.2f} |")
        cnn, cpath = _export("clusters", "ihep", tmpdir)
        enc = (rng.random((n_arrays, cnn.cfg.bins, 1)) < 0.01).astype(np.float32)
        for threads in (1, 2):
            for batch in (64, 256):
                r = _rates({"ort": _ort(ClusterModel, cpath, enc, batch, threads),
                            "eager": _eager(cnn, enc, batch, threads)}, n_arrays, repeats)
                r_ort, r_eag = r["ort"], r["eager"]
                lines.append(f"| CNN ihep (arrays) | {threads} | {batch} | {r_ort:,.0f} | {r_eag:,.0f} "
                             f"| {r_ort / r_eag:.2f} |")

        lines += [
            "",
            "ONNX Runtime session options, LSTM compact, 1 thread (2 for spinning), batch 256; ratio to the "
            "ccreco default (optimization all, sequential, spinning off):",
            "",
            "| options | windows/s | ratio to default |",
            "|---|---|---|",
        ]
        x = rng.normal(20, 3, (n_windows, 15, 1)).astype(np.float32)
        variants = [
            ("default (all, sequential, no spinning)", 1, {}),
            ("optimization extended", 1, {"optimization": "extended"}),
            ("optimization basic", 1, {"optimization": "basic"}),
            ("optimization disabled", 1, {"optimization": "disable"}),
            ("parallel execution mode", 1, {"sequential": False}),
            ("2 threads, spinning on", 2, {"spinning": True}),
            ("2 threads, spinning off", 2, {"spinning": False}),
        ]
        rates = _rates({label: _ort(PeakModel, peak_paths["compact"], x, 256, threads, **opts)
                        for label, threads, opts in variants},
                       n_windows, repeats)
        base = rates[variants[0][0]]
        for label, _, _ in variants:
            lines.append(f"| {label} | {rates[label]:,.0f} | {rates[label] / base:.2f} |")

        lines += ["", "Batch size scan, LSTM compact, ONNX Runtime, 1 thread:", "",
                  "| batch | windows/s | ratio to 256 |", "|---|---|---|"]
        rates = _rates({b: _ort(PeakModel, peak_paths["compact"], x, b, 1) for b in (64, 256, 1024, 4096, 16384)},
                       n_windows, repeats)
        for b, rate in rates.items():
            lines.append(f"| {b} | {rate:,.0f} | {rate / rates[256]:.2f} |")
    torch.set_num_threads(prev_threads)
    lines += step1_settings(quick, repeats if not quick else 2)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(main(quick="--quick" in sys.argv[1:]))
