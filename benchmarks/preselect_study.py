"""Step-1 pre-selection by a tiny first-stage classifier: windows per waveform vs candidate recall.

Issue 17 item 2 asks for at most about 40 windows per waveform at >= 99% of the bare ``d2``
rule's candidate recall. The region of interest (``CandidateConfig.roi_threshold``) already drops
the baseline noise before and after the track; this study asks whether a logistic regression on
cheap per-candidate features (computable from the raw samples around the candidate, no LSTM)
can drop the rest of the noise inside the region of interest (duplicates on one pulse top,
noise wiggles on pulse tails) while keeping the signal windows.

For a base selection (``d2`` + amplitude cut + region of interest) on a training sample:

1. features of every base candidate (:func:`features`, RMS units);
2. label: matched one-to-one to a true electron peak within the tolerance (the windows' labels);
3. logistic regression (scikit-learn, standardised features, L2), coefficients folded back to
   raw features;
4. operating point: the highest score threshold whose training-sample candidate recall (after
   re-matching the kept candidates) is >= ``--target`` (0.993) x the bare rule's recall.

Then on independent test samples (``tb2023-untuned`` seed 1001, the same at S/N 20,
``heed-tube``) it reports windows / waveform and candidate recall / bare at that threshold and
along a threshold scan (the curve), plus the feature time.

Usage::

    python benchmarks/preselect_study.py -n 2000 -o preselect_out
    python benchmarks/preselect_study.py --fit 40 -n 2000 --train-seed 1   # weights for a model
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np

from ccreco.io.chunk import WaveformChunk
from ccreco.kernels import CandidateConfig, match_peaks, truth_peak_samples
from ccreco.kernels.candidates import PRESELECT_FEATURES, candidate_features, find_candidates
from ccreco.sim import SimConfig, simulate
from ccreco.sim.snr import config_at_snr

#: Feature names (RMS units unless noted), in the order :func:`features` returns them (the
#: library's :data:`ccreco.kernels.candidates.PRESELECT_FEATURES`: one definition).
FEATURES: tuple[str, ...] = PRESELECT_FEATURES

#: Base selections (CandidateConfig fields) the classifier thins.
BASES: dict[str, dict[str, Any]] = {
    "k2.5+roi6/20": {"threshold": 2.5, "roi_threshold": 6.0, "roi_margin": 20},
    "k1.5+roi5/20": {"threshold": 1.5, "roi_threshold": 5.0, "roi_margin": 20},
    "k1.5+roi6/20": {"threshold": 1.5, "roi_threshold": 6.0, "roi_margin": 20},
}


def features(wf: np.ndarray, index: np.ndarray, offsets: np.ndarray, baseline: np.ndarray,
             rms: np.ndarray) -> np.ndarray:
    """Per-candidate features ``(m, len(FEATURES))`` float64 (:func:`ccreco.kernels.candidates.candidate_features`)."""
    return candidate_features(wf, index, offsets, baseline, rms)


def sample(n: int, seed: int, preset: str = "tb2023-untuned", snr: float | None = None) -> WaveformChunk:
    """One in-memory simulated chunk (both noise terms scaled to ``snr`` if given)."""
    cfg = config_at_snr(snr, preset) if snr is not None else SimConfig.from_preset(preset)
    return next(iter(simulate(cfg, n, seed=seed, chunk_size=n)))


class Prepared:
    """Base candidates of one sample, their features and labels, and the bare rule's recall."""

    def __init__(self, chunk: WaveformChunk, base: dict[str, Any]) -> None:
        cfg = CandidateConfig(**base)
        wf = chunk.waveforms
        ns = chunk.n_samples
        lo, hi = cfg.window_left, ns - 1 - cfg.window_right
        self.n = len(chunk)
        self.ref, self.ref_off, _ = truth_peak_samples(chunk.truth, chunk.sampling_ns, ns)
        bare_idx, bare_off, _, _ = find_candidates(wf, CandidateConfig(threshold=None), lo=lo, hi=hi,
                                                   sampling_ns=chunk.sampling_ns)
        rm, _ = match_peaks(self.ref, self.ref_off, bare_idx, bare_off, cfg.tolerance)
        self.bare_recall = float(np.mean(rm >= 0))
        self.bare_windows = bare_idx.size / self.n
        self.index, self.offsets, bl, rms = find_candidates(wf[:1], cfg, lo=lo, hi=hi, sampling_ns=chunk.sampling_ns)
        features(wf[:1], self.index, self.offsets, bl, rms)  # compile before timing
        t0 = time.perf_counter()
        self.index, self.offsets, bl, rms = find_candidates(wf, cfg, lo=lo, hi=hi, sampling_ns=chunk.sampling_ns)
        t1 = time.perf_counter()
        self.X = features(wf, self.index, self.offsets, bl, rms)
        t2 = time.perf_counter()
        self.cand_ms = 1e6 * (t1 - t0) / self.n
        self.feat_ms = 1e6 * (t2 - t1) / self.n
        _, dm = match_peaks(self.ref, self.ref_off, self.index, self.offsets, cfg.tolerance)
        self.y = (dm >= 0).astype(np.int8)
        self.wave = np.repeat(np.arange(self.n), np.diff(self.offsets))
        self.tol = cfg.tolerance
        self.sampling_ns = chunk.sampling_ns

    def recall_windows(self, keep: np.ndarray) -> tuple[float, float]:
        """Candidate recall (re-matched) and windows / waveform of the kept base candidates."""
        idx = self.index[keep]
        off = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.wave[keep], minlength=self.n), out=off[1:])
        rm, _ = match_peaks(self.ref, self.ref_off, idx, off, self.tol)
        return float(np.mean(rm >= 0)), idx.size / self.n


def fit(X: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, float]:
    """Logistic regression on standardised features; returns raw-feature weights and intercept."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000).fit((X - mu) / sd, y)
    w = lr.coef_[0] / sd
    return w, float(lr.intercept_[0] - np.sum(w * mu))


def fit_preselection(chunk: WaveformChunk, config: CandidateConfig, target_windows: float = 40.0,
                     c: float = 1.0) -> tuple[tuple[float, ...], float]:
    """Fit the first-stage pre-selection of ``config``'s selection on a simulated training chunk.

    The start selection is ``config`` without any pre-selection of its own (its rule, amplitude
    cut and region of interest; candidates as :func:`ccreco.kernels.candidate_windows` makes
    them, i.e. with room for the window). Each candidate is labelled signal when matched
    one-to-one to a true electron peak within ``config.tolerance``; a logistic regression
    (:func:`fit`) on :data:`FEATURES` gives the weights, and the threshold is the logit of the
    ``round(target_windows * n)``-th best candidate, so that about ``target_windows`` windows per
    waveform are kept on this sample (all of them when the start selection has fewer).

    Parameters
    ----------
    chunk : WaveformChunk
        Training waveforms with MC truth.
    config : CandidateConfig
        The start selection (e.g. a step-1 model's stored ``candidates`` with its window).
    target_windows : float
        Windows per waveform to keep on the training sample.
    c : float
        Inverse L2 strength of the logistic regression.

    Returns
    -------
    weights : tuple of float
        ``CandidateConfig.preselect_weights``: the weights of :data:`FEATURES`, then the intercept.
    threshold : float
        ``CandidateConfig.preselect_threshold``.
    """
    if chunk.truth is None:
        raise ValueError("fit_preselection needs a chunk with MC truth")
    if not target_windows > 0:
        raise ValueError(f"target_windows must be > 0, got {target_windows!r}")
    cfg = dataclasses.replace(config, preselect_weights=None)
    wf, ns = chunk.waveforms, chunk.n_samples
    idx, off, bl, rms = find_candidates(wf, cfg, lo=cfg.window_left, hi=ns - 1 - cfg.window_right,
                                        sampling_ns=chunk.sampling_ns)
    X = features(wf, idx, off, bl, rms)
    ref, ref_off, _ = truth_peak_samples(chunk.truth, chunk.sampling_ns, ns)
    _, dm = match_peaks(ref, ref_off, idx, off, cfg.tolerance)
    w, b0 = fit(X, (dm >= 0).astype(np.int8), c)
    weights = (*(float(v) for v in w), float(b0))
    # the logits as the library's cut computes them (same summation order)
    logit = np.full(idx.size, b0)
    for j in range(w.size):
        logit += w[j] * X[:, j]
    keep = int(round(target_windows * len(chunk)))
    if keep >= idx.size:
        return weights, (float(logit.min()) - 1.0 if idx.size else 0.0)
    return weights, float(np.sort(logit)[::-1][max(keep, 1) - 1])


def preselection_summary(chunk: WaveformChunk, config: CandidateConfig) -> dict[str, float]:
    """Windows per waveform and candidate recall of ``config`` with and without its pre-selection.

    Parameters
    ----------
    chunk : WaveformChunk
        Waveforms with MC truth.
    config : CandidateConfig
        A selection with ``preselect_weights``.

    Returns
    -------
    dict
        ``windows``, ``recall`` (with the cut, through :func:`find_candidates`), ``windows_start``,
        ``recall_start`` (without), ``recall_relative`` (ratio of the recalls).
    """
    ns = chunk.n_samples
    ref, ref_off, _ = truth_peak_samples(chunk.truth, chunk.sampling_ns, ns)
    out: dict[str, float] = {}
    for key, cfg in (("", config), ("_start", dataclasses.replace(config, preselect_weights=None))):
        idx, off, _, _ = find_candidates(chunk.waveforms, cfg, lo=cfg.window_left, hi=ns - 1 - cfg.window_right,
                                         sampling_ns=chunk.sampling_ns)
        rm, _ = match_peaks(ref, ref_off, idx, off, cfg.tolerance)
        out["windows" + key] = idx.size / len(chunk)
        out["recall" + key] = float(np.mean(rm >= 0))
    out["recall_relative"] = out["recall"] / out["recall_start"]
    return out


def main_fit(args: argparse.Namespace) -> int:
    """``--fit``: fit the shipped step-1 model's pre-selection and print weights and numbers."""
    from ccreco.models.dataset import candidate_config
    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model

    model = PeakModel(shipped_model(DEFAULT_PEAK_MODEL))
    start = candidate_config(model.window_left, model.window_right, model.candidates, preselect=False)
    chunk = sample(args.n, args.train_seed, preset=args.preset)
    weights, thr = fit_preselection(chunk, start, args.fit)
    res = preselection_summary(chunk, dataclasses.replace(start, preselect_weights=weights, preselect_threshold=thr))
    result = {"preset": args.preset, "n": args.n, "seed": args.train_seed, "target_windows": args.fit,
              "start": {k: v for k, v in dataclasses.asdict(start).items() if not k.startswith("preselect")},
              "features": list(FEATURES), "preselect_weights": list(weights), "preselect_threshold": thr, **res}
    print(f"training sample: {args.preset}, {args.n} waveforms, seed {args.train_seed}; start selection: "
          f"{os.path.basename(str(model.path))}'s stored candidates")
    print("preselect_weights = " + ", ".join(f"{v:.6g}" for v in weights)
          + "  # " + ", ".join(FEATURES) + ", intercept")
    print(f"preselect_threshold = {thr:.6g}")
    print(f"windows / wf {res['windows']:.2f} (start {res['windows_start']:.2f}); candidate recall "
          f"{res['recall']:.4f} (start {res['recall_start']:.4f}; ratio {res['recall_relative']:.4f})")
    print(json.dumps(result))
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "preselect_fit.json"), "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    return 0


def operating_point(p: Prepared, score: np.ndarray, target: float) -> float:
    """Highest score threshold keeping candidate recall >= target x bare on ``p`` (bisection)."""
    lo, hi = float(score.min()) - 1.0, float(score.max()) + 1.0  # keep-all, keep-none
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        r, _ = p.recall_windows(score > mid)
        if r >= target * p.bare_recall:
            lo = mid
        else:
            hi = mid
    return lo


def scan(p: Prepared, score: np.ndarray, steps: int = 99) -> list[tuple[float, float, float]]:
    """``(threshold, windows / wf, recall / bare)`` at score quantiles 0 .. 0.98 (keep ``score >= t``)."""
    out = []
    for t in np.quantile(score, np.linspace(0.0, 0.98, steps)):
        r, w = p.recall_windows(score >= t)
        out.append((float(t), w, r / p.bare_recall))
    return out


def summary(points: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Fewest windows / wf at recall >= 0.99 x bare (nan: never), best recall / bare at <= 40 and <= 45."""
    ok = [w for _, w, r in points if r >= 0.99]
    at40 = max([r for _, w, r in points if w <= 40.0] or [math.nan])
    at45 = max([r for _, w, r in points if w <= 45.0] or [math.nan])
    return (min(ok) if ok else math.nan), at40, at45


def lstm_scores(model: Any, chunk: WaveformChunk, p: Prepared) -> np.ndarray:
    """The step-1 model's score of every base candidate (its own window and scaling)."""
    from ccreco.kernels.windows import extract_windows

    cfg = CandidateConfig(window_left=model.window_left, window_right=model.window_right)
    windows, _, _, kept = extract_windows(chunk.waveforms, p.index, p.offsets, cfg)
    if not kept.all():
        raise RuntimeError("base candidates outside the model's window range")
    return np.asarray(model.predict(windows, sampling_ns=chunk.sampling_ns), dtype=np.float64).reshape(-1)


def lstm_metrics(p: Prepared, scores: np.ndarray, keep: np.ndarray, cut: float, fakes_max: float = 3.0
                 ) -> dict[str, float]:
    """Window F1 / AUC on the kept windows (labels re-matched), electron efficiency and fakes at
    ``cut`` and at the lowest threshold with <= ``fakes_max`` fakes per waveform."""
    from ccreco.analysis.metrics import electron_matching, window_metrics

    idx = p.index[keep]
    off = np.zeros(p.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(p.wave[keep], minlength=p.n), out=off[1:])
    _, dm = match_peaks(p.ref, p.ref_off, idx, off, p.tol)
    y = (dm >= 0).astype(np.int8)
    s = scores[keep]
    wave = p.wave[keep]

    def electrons(t: float) -> tuple[float, float]:
        sel = s >= t
        poff = np.zeros(p.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(wave[sel], minlength=p.n), out=poff[1:])
        c = electron_matching(p.ref, p.ref_off, idx[sel], poff, p.tol, sampling_ns=p.sampling_ns)
        return c["n_matched"] / c["n_true"], c["n_fakes"] / c["n_waveforms"]

    wm = window_metrics(y, scores=s, selected=s >= cut, threshold=cut)
    eff, fakes = electrons(cut)
    best = (math.nan, math.nan, math.nan)
    for t in np.linspace(0.05, 0.99, 95):
        e, f = electrons(float(t))
        if f <= fakes_max:
            best = (float(t), e, f)
            break
    return {"windows": idx.size / p.n, "f1": float(wm["f1"]), "auc": float(wm["auc"]),
            "electron_efficiency": eff, "fakes_per_waveform": fakes, "threshold_3fakes": best[0],
            "efficiency_3fakes": best[1], "fakes_3fakes": best[2]}


def main(argv: list[str] | None = None) -> int:
    """Train on one sample, report the curves, bounds, operating points and the LSTM's metrics."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="waveforms per sample")
    ap.add_argument("--train-seed", type=int, default=1)
    ap.add_argument("--test-seed", type=int, default=1001)
    ap.add_argument("--target", type=float, default=0.993, help="training recall / bare at the operating point")
    ap.add_argument("--bases", default=",".join(BASES), help="comma-separated keys of BASES")
    ap.add_argument("-o", "--output", default=None, help="directory for preselect_study.json/.md")
    ap.add_argument("--fit", type=float, default=None, metavar="WINDOWS",
                    help="only fit the shipped step-1 model's pre-selection to keep WINDOWS windows / wf on the "
                    "training sample (-n, --train-seed, --preset) and print its weights and threshold")
    ap.add_argument("--preset", default="tb2023-untuned", help="simulation preset of the --fit training sample")
    args = ap.parse_args(argv)
    if args.fit is not None:
        return main_fit(args)
    from sklearn.ensemble import HistGradientBoostingClassifier

    from ccreco.models.inference import PeakModel
    from ccreco.models.shipped import DEFAULT_PEAK_MODEL, shipped_model

    model = PeakModel(shipped_model(DEFAULT_PEAK_MODEL), intra_op_num_threads=1, batch_size=256)
    stored = dict(model.candidates or {})
    chunks = {
        "train tb2023-untuned": sample(args.n, args.train_seed),
        "test tb2023-untuned": sample(args.n, args.test_seed),
        "test S/N 20": sample(args.n, args.test_seed, snr=20.0),
        "test heed-tube": sample(args.n, args.test_seed, preset="heed-tube"),
    }
    result: dict[str, Any] = {"n": args.n, "train_seed": args.train_seed, "test_seed": args.test_seed,
                              "target": args.target, "features": list(FEATURES), "bases": {}}
    lines = ["## Step-1 pre-selection by a first-stage classifier (`benchmarks/preselect_study.py`)", "",
             f"{args.n} waveforms per sample; train: `tb2023-untuned` seed {args.train_seed}; test: seed "
             f"{args.test_seed} (`tb2023-untuned`, the same at S/N 20, `heed-tube`). Recall: candidate recall "
             "(one-to-one matching within 2 samples, re-matched after the pre-selection) / the bare `d2` rule's.", ""]
    for key in args.bases.split(","):
        prepared = {name: Prepared(ch, BASES[key]) for name, ch in chunks.items()}
        tr = prepared["train tb2023-untuned"]
        w, b0 = fit(tr.X, tr.y)
        gbt = HistGradientBoostingClassifier(max_iter=200, max_depth=4, random_state=0).fit(tr.X, tr.y)
        logit = {name: p.X @ w + b0 for name, p in prepared.items()}
        thr = operating_point(tr, logit["train tb2023-untuned"], args.target)
        entry: dict[str, Any] = {"weights": dict(zip(FEATURES, w.tolist(), strict=True)), "intercept": b0,
                                 "threshold": thr, "samples": {}}
        lines += [f"### base `{key}` (d2, {BASES[key]})", "",
                  "logistic weights (raw features): "
                  + ", ".join(f"{f} {v:+.4f}" for f, v in zip(FEATURES, w, strict=True))
                  + f"; intercept {b0:+.4f}; operating threshold {thr:+.4f} (highest with train recall >= "
                  f"{args.target} x bare, or keep-all when the base is already below)", "",
                  "| sample | bare windows / wf | bare recall | base windows / wf | base recall / bare | "
                  "logistic windows / wf | recall / bare | cand. ms / 1000 wf | feature ms / 1000 wf |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        bounds = ["", "Fewest windows / wf at recall >= 0.99 x bare, and best recall / bare at <= 40 and <= 45 "
                  "windows / wf (threshold scan of each scorer; GBT = gradient-boosted trees, depth 4, on the same "
                  "features: the most these features give; LSTM = the shipped step-1 model's own score: the most "
                  "any first stage as good as the LSTM gives):", "",
                  "| sample | scorer | windows at 0.99 | recall at <= 40 | recall at <= 45 |",
                  "|---|---|---:|---:|---:|"]
        for name, p in prepared.items():
            s = logit[name]
            base_r, base_w = p.recall_windows(np.ones(s.size, bool))
            r, wn = p.recall_windows(s > thr)
            samp: dict[str, Any] = {"bare_windows": p.bare_windows, "bare_recall": p.bare_recall,
                                    "base_windows": base_w, "base_recall": base_r, "windows": wn, "recall": r,
                                    "relative": r / p.bare_recall, "cand_ms_per_1000": p.cand_ms,
                                    "feat_ms_per_1000": p.feat_ms, "curves": {}}
            lines.append(f"| {name} | {p.bare_windows:.1f} | {p.bare_recall:.3f} | {base_w:.1f} | "
                         f"{base_r / p.bare_recall:.3f} | {wn:.1f} | {r / p.bare_recall:.3f} | "
                         f"{p.cand_ms:.1f} | {p.feat_ms:.1f} |")
            scorers = {"logistic": s, "GBT": gbt.predict_proba(p.X)[:, 1]}
            if name != "train tb2023-untuned":
                scorers["LSTM"] = lstm_scores(model, chunks[name], p)
            for sname, sc in scorers.items():
                pts = scan(p, sc)
                samp["curves"][sname] = pts
                a, b40, b45 = summary(pts)
                bounds.append(f"| {name} | {sname} | {a:.1f} | {b40:.3f} | {b45:.3f} |")
            entry["samples"][name] = samp
        lines += bounds
        cv = entry["samples"]["test tb2023-untuned"]["curves"]["logistic"]
        lines += ["", "Logistic curve on the test sample (windows / wf : recall / bare): "
                  + ", ".join(f"{w_:.1f} : {r_:.3f}" for _, w_, r_ in cv[::7]), ""]
        result["bases"][key] = entry
    # the LSTM with and without a logistic pre-selection after its stored selection
    base_key = next((k for k, v in BASES.items() if all(stored.get(f) == x for f, x in v.items())), None)
    if base_key is not None:
        tr = Prepared(chunks["train tb2023-untuned"], BASES[base_key])
        w, b0 = fit(tr.X, tr.y)
        st = tr.X @ w + b0
        lines += [f"### The shipped `{os.path.basename(str(model.path))}` (its stored selection `{base_key}`) with a "
                  "logistic pre-selection after it", "",
                  "Window F1 and AUC on the windows offered (labels re-matched), electron efficiency and "
                  "fakes / wf at "
                  f"the model's threshold {model.threshold:g} and at the lowest threshold with <= 3 fakes / wf. "
                  "Pre-selection thresholds from the training sample: keep-all, and the train quantiles leaving "
                  "about 55 and 40 windows / wf.", "",
                  "| sample | pre-selection | windows / wf | recall / bare | F1 | AUC | eff. | fakes / wf | "
                  "thr. at <= 3 fakes | eff. there | fakes there |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        cuts = {"none": -math.inf}
        for target_w in (55.0, 40.0):
            cuts[f"logistic, ~{target_w:g} train windows"] = float(np.quantile(st, 1.0 - target_w * tr.n / st.size))
        result["lstm"] = {"base": base_key, "weights": w.tolist(), "intercept": b0, "cuts": cuts, "rows": []}
        for name in ("test tb2023-untuned", "test S/N 20", "test heed-tube"):
            p = Prepared(chunks[name], BASES[base_key])
            ls = lstm_scores(model, chunks[name], p)
            sc = p.X @ w + b0
            for cname, c in cuts.items():
                keep = sc >= c
                r, _ = p.recall_windows(keep)
                m: dict[str, Any] = dict(lstm_metrics(p, ls, keep, float(model.threshold)))
                m.update(sample=name, preselection=cname, relative=r / p.bare_recall)
                result["lstm"]["rows"].append(m)
                lines.append(f"| {name} | {cname} | {m['windows']:.1f} | {m['relative']:.3f} | {m['f1']:.3f} | "
                             f"{m['auc']:.3f} | {m['electron_efficiency']:.3f} | {m['fakes_per_waveform']:.2f} | "
                             f"{m['threshold_3fakes']:.2f} | {m['efficiency_3fakes']:.3f} | {m['fakes_3fakes']:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "preselect_study.json"), "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
        with open(os.path.join(args.output, "preselect_study.md"), "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
