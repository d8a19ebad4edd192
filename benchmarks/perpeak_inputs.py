"""What moves the per-peak step 2's level: the one-electron probability, and inputs that did not help.

Two measurements behind docs/MODELS.md, "What did not move the level or the slope":

``--p1-scan DIR``
    simulates the ``heed-tube`` preset with ``cluster_p1`` set to each value of ``--p1`` (same
    seed, nothing else changed) and evaluates a per-peak model on each (default: the shipped
    one): bias, slope, RMS and calibrated RMS per value::

        python benchmarks/perpeak_inputs.py --p1-scan DIR [--p1 0.88,0.90,0.911,0.927,0.95] [-n 3000]

``--variant NAME --train FILE``
    trains the per-peak recipe of the default (20 epochs, the shipped LSTM) with one input
    replaced *in this process only* (an experiment, not a library feature), then evaluates it on
    ``--samples``: ``area`` and ``fwhm`` put a candidate's pulse width (area over height of its
    15-sample window; contiguous samples above half its height) in place of
    ``height_over_mean_mv``; ``runratio`` puts the ratio of gaps of 3-6 ns to gaps of 6-12 ns
    between consecutive confident candidates, pooled over groups of ``--group`` consecutive
    waveforms, in place of ``wf_close_fraction`` (train on a randomized sample whose blocks are
    those groups, e.g. ``ccreco simulate --randomize -n 32000 --seed 21 --set block=128 --set
    density_scale=0.5,2.0``); ``none`` is the unchanged recipe::

        python benchmarks/perpeak_inputs.py --variant area --train train_wide.root --seed 1 \\
            --samples untuned.root,heed.root -o area_s1.onnx

    ``--set FIELD=VALUE`` (repeatable) changes the network instead (``PeakClusterConfig``, e.g.
    ``--variant none --set dense=128,64 --set dropout=0.1``) and ``--epochs`` the training length:
    the capacity probe of the same section.

``--ensemble A.onnx,B.onnx,...``
    evaluates the mean of several per-peak models' counts (rounded, as ``evaluate clusters``
    does) on ``--samples``, with the shipped LSTM::

        python benchmarks/perpeak_inputs.py --ensemble s1.onnx,s2.onnx,s3.onnx --samples heed.root

Results go to stdout and, with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

VARIANTS = ("none", "area", "fwhm", "runratio")
DEFAULT_P1 = (0.88, 0.90, 0.911, 0.927, 0.95)


def _summary(m: dict[str, Any]) -> dict[str, float]:
    """The reported figures of a ``cluster_metrics`` / ``evaluate_clusters`` result."""
    return {"mean_true": m["mean_true"], "bias_pct": 100 * m["bias"] / m["mean_true"], "slope": m["slope"],
            "rms_over_sqrt_n": m["rms_over_sqrt_n"], "calibrated_rms_over_sqrt_n": m["calibrated_rms_over_sqrt_n"]}


def _metrics(path: str | Path, model: str | None) -> dict[str, float]:
    from ccreco.analysis.evaluate import evaluate_clusters

    return _summary(evaluate_clusters(str(path), "perpeak", options={"model": model} if model else {}))


def p1_scan(directory: str | Path, values: tuple[float, ...] = DEFAULT_P1, n: int = 3000, seed: int = 4444,
            model: str | None = None) -> dict[str, dict[str, float]]:
    """Simulate the heed-tube preset at each ``cluster_p1`` and evaluate a per-peak model."""
    from ccreco.sim import SimConfig, simulate_to_file

    out = {}
    Path(directory).mkdir(parents=True, exist_ok=True)
    for p1 in values:
        path = Path(directory) / f"heed_p1_{p1:g}.root"
        if not path.exists():
            simulate_to_file(path, SimConfig.from_preset("heed-tube", cluster_p1=p1), n, seed, progress=False)
        out[f"{p1:g}"] = _metrics(path, model)
    return out


def _width_area(w: np.ndarray, left: int) -> np.ndarray:
    lo = w.min(axis=1)
    return ((w - lo[:, None]).sum(axis=1) / np.maximum(w[:, left] - lo, 1e-3)).astype(np.float32)


def _width_half(w: np.ndarray, left: int) -> np.ndarray:
    lo = w.min(axis=1)
    above = w >= (lo + 0.5 * (w[:, left] - lo))[:, None]
    width = np.ones(w.shape[0], np.float32)
    for side in (range(left + 1, w.shape[1]), range(left - 1, -1, -1)):
        alive = np.ones(w.shape[0], bool)
        for k in side:
            alive &= above[:, k]
            width += alive
    return width


@contextlib.contextmanager
def variant_inputs(variant: str, group: int = 128) -> Iterator[None]:
    """Replace one per-peak input in ``ccreco.models.encoding`` for the duration (experiment only)."""
    import ccreco.models.dataset as dataset
    import ccreco.models.encoding as enc

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    saved = (enc.peak_features, enc._waveform_quantities, dataset._chunks)
    if variant in ("area", "fwhm"):
        base = enc.peak_features
        width = _width_area if variant == "area" else _width_half

        def peak_features(windows: Any, time_ns: Any, scores: Any, window_left: int) -> np.ndarray:
            f = base(windows, time_ns, scores, window_left)
            w = np.asarray(windows, dtype=np.float32)
            w = w[:, :, 0] if w.ndim == 3 else w
            if f.shape[0]:
                f[:, 2] = width(w, window_left)  # in place of height_over_mean_mv
            return f

        enc.peak_features = peak_features
    elif variant == "runratio":
        base_q = enc._waveform_quantities

        def quantities(f: np.ndarray, wf: np.ndarray, n: int, conf: np.ndarray, first: np.ndarray) -> dict:
            out = base_q(f, wf, n, conf, first)
            cw, ct = wf[conf], f[conf, 0].astype(np.float64)
            same = cw[1:] == cw[:-1]
            grp, gaps = cw[1:][same] // group, np.diff(ct)[same]
            ng = (n + group - 1) // group
            a = np.bincount(grp[(gaps >= 3) & (gaps < 6)], minlength=ng).astype(float)
            b = np.bincount(grp[(gaps >= 6) & (gaps < 12)], minlength=ng).astype(float)
            ratio = np.where(b > 0, a / np.maximum(b, 1), 1.5)
            out["wf_close_fraction"] = ratio[np.arange(n) // group].astype(np.float32)
            return out

        def chunks(files: Any, schema: str, max_waveforms: int | None) -> Iterator[Any]:
            from ccreco.io import iterate  # chunks aligned with the groups (the sample's blocks)

            seen = 0
            for chunk in iterate(files, schema=schema, step_size=78 * group):
                if max_waveforms is not None and seen >= max_waveforms:
                    return
                seen += len(chunk)
                yield chunk

        enc._waveform_quantities = quantities
        dataset._chunks = chunks
    try:
        yield
    finally:
        enc.peak_features, enc._waveform_quantities, dataset._chunks = saved


def ensemble_metrics(path: str | Path, models: list[str]) -> dict[str, float]:
    """Metrics of the mean count of several per-peak models (shipped LSTM and its candidates)."""
    from ccreco.analysis.metrics import cluster_metrics
    from ccreco.io import iterate
    from ccreco.models.dataset import candidate_config, scored_windows
    from ccreco.models.inference import PeakClusterModel, PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model
    from ccreco.reco.stages import score_windows

    peak_model = PeakModel(shipped_model(DEFAULT_PEAK_MODEL))
    cands = candidate_config(peak_model.window_left, peak_model.window_right, peak_model.candidates)
    nets = [PeakClusterModel(m) for m in models]
    true, counts = [], []
    for chunk in iterate(str(path)):
        cw, scored = scored_windows(chunk, cands)
        scores = score_windows(peak_model, cw.windows, chunk.sampling_ns, scored)
        counts.append(np.mean([n.count(cw, scores, sampling_ns=chunk.sampling_ns) for n in nets], axis=0))
        true.append(chunk.truth["n_clusters"])
    return _summary(cluster_metrics(np.concatenate(true), np.round(np.concatenate(counts))))


def train_variant(train: str, variant: str, seed: int, output: str, *, group: int = 128, epochs: int = 20,
                  max_waveforms: int | None = None, model_set: dict[str, str] | None = None) -> str:
    """The default per-peak recipe with ``variant`` inputs (and ``model_set`` network fields); returns the ONNX path."""
    from ccreco.models.config import PeakClusterConfig, with_overrides
    from ccreco.models.dataset import peak_cluster_sample
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model
    from ccreco.models.train_clusters import PEAK_CLUSTER_TRAIN, train_peak_cluster_model

    cfg = with_overrides((PeakClusterConfig(),), dict(model_set or {}))[0]
    with variant_inputs(variant, group):
        sample = peak_cluster_sample([train], PeakModel(shipped_model(DEFAULT_PEAK_MODEL)), cfg.context,
                                     channels=cfg.channels, max_waveforms=max_waveforms)
        res = train_peak_cluster_model(sample, cfg, dataclasses.replace(PEAK_CLUSTER_TRAIN, epochs=epochs,
                                                                        seed=seed, threads=1))
    res.export(output)
    return output


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--p1-scan", metavar="DIR", help="simulate the heed-tube P(1) samples here and evaluate")
    ap.add_argument("--p1", default=",".join(f"{v:g}" for v in DEFAULT_P1), help="cluster_p1 values")
    ap.add_argument("-n", type=int, default=3000, help="waveforms per P(1) sample")
    ap.add_argument("--model", default=None, help="per-peak model to evaluate (default: the shipped one)")
    ap.add_argument("--variant", choices=VARIANTS, help="train with this input variant")
    ap.add_argument("--train", help="training sample (ROOT, randomized)")
    ap.add_argument("--seed", type=int, default=1, help="training seed")
    ap.add_argument("--group", type=int, default=128, help="waveforms per group (runratio)")
    ap.add_argument("--samples", default="", help="comma-separated held-out files to evaluate the variant on")
    ap.add_argument("-o", "--output", default="variant.onnx", help="the variant's ONNX file")
    ap.add_argument("--epochs", type=int, default=20, help="training epochs of the variant")
    ap.add_argument("--ensemble", default="", help="comma-separated per-peak models whose mean count is evaluated")
    ap.add_argument("--set", dest="set_", action="append", default=[], metavar="FIELD=VALUE",
                    help="PeakClusterConfig field for the variant's network (repeatable), e.g. dense=128,64")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    if any("=" not in item for item in args.set_):
        ap.error("--set expects FIELD=VALUE")
    model_set = dict(item.split("=", 1) for item in args.set_)
    logging.disable(logging.WARNING)
    results: dict[str, Any] = {}
    if args.p1_scan:
        values = tuple(float(v) for v in args.p1.split(","))
        results["p1_scan"] = p1_scan(args.p1_scan, values, args.n, model=args.model)
        for p1, m in results["p1_scan"].items():
            print(f"P(1) {p1}: bias {m['bias_pct']:+.1f} % slope {m['slope']:.3f} RMS/sqrt(N) "
                  f"{m['rms_over_sqrt_n']:.3f} calibrated {m['calibrated_rms_over_sqrt_n']:.3f}", flush=True)
    if args.variant:
        if not args.train:
            ap.error("--variant needs --train")
        path = train_variant(args.train, args.variant, args.seed, args.output, group=args.group, epochs=args.epochs,
                             model_set=model_set)
        results["variant"] = {"variant": args.variant, "set": model_set, "seed": args.seed, "model": path,
                              "epochs": args.epochs, "samples": {}}
        with variant_inputs(args.variant, args.group):
            for sample in (s for s in args.samples.split(",") if s):
                m = _metrics(sample, path)
                results["variant"]["samples"][sample] = m
                print(f"{args.variant} seed {args.seed} {Path(sample).name}: bias {m['bias_pct']:+.1f} % slope "
                      f"{m['slope']:.3f} calibrated {m['calibrated_rms_over_sqrt_n']:.3f}", flush=True)
    if args.ensemble:
        models = [m for m in args.ensemble.split(",") if m]
        results["ensemble"] = {"models": models, "samples": {}}
        for sample in (s for s in args.samples.split(",") if s):
            m = ensemble_metrics(sample, models)
            results["ensemble"]["samples"][sample] = m
            print(f"mean of {len(models)} models {Path(sample).name}: bias {m['bias_pct']:+.1f} % slope "
                  f"{m['slope']:.3f} RMS/sqrt(N) {m['rms_over_sqrt_n']:.3f} calibrated "
                  f"{m['calibrated_rms_over_sqrt_n']:.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
