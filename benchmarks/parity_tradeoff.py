"""Electron efficiency versus fakes per waveform of the models of ``parity_candidates.py``.

The window F1 depends on the candidate definition (which windows exist and how they are
labelled); the electron-level figures (true electron peaks matched one-to-one within the
tolerance, unmatched detected peaks per waveform) do not. For every model that
``benchmarks/parity_candidates.py`` exported, this scans the decision threshold on the
independent test sample (candidates as the model's metadata says) and reports electron
efficiency and fakes per waveform at each threshold, so that the rules can be compared at equal
fakes. Inference runs once per model; the matching is redone per threshold.

Usage::

    python benchmarks/parity_tradeoff.py OUT [WORKDIR]   # OUT = parity_candidates.py -o (WORKDIR its --workdir)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

#: Decision thresholds scanned.
THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def scan(model_path: str, test_file: str, threads: int = 1) -> list[dict[str, float]]:
    """Electron efficiency and fakes per waveform at each of :data:`THRESHOLDS`.

    Parameters
    ----------
    model_path : str
        Step-1 ONNX model (its ``candidates`` metadata selects the windows).
    test_file : str
        Simulated test file with truth.
    threads : int
        ONNX Runtime intra-op threads.

    Returns
    -------
    list of dict
        ``threshold``, ``electron_efficiency``, ``fakes_per_waveform``, ``peaks_per_waveform``.
    """
    from ccreco.analysis.metrics import electron_matching
    from ccreco.io import iterate
    from ccreco.kernels import truth_peak_samples
    from ccreco.models.dataset import candidate_config, chunk_windows
    from ccreco.models.inference import PeakModel
    from ccreco.reco.stages import select_peaks

    model = PeakModel(model_path, intra_op_num_threads=threads)
    cfg = candidate_config(model.window_left, model.window_right, model.candidates)
    tot = {t: {"n_true": 0, "n_matched": 0, "n_detected": 0, "n_fakes": 0, "n_waveforms": 0} for t in THRESHOLDS}
    for chunk in iterate(test_file):
        cw, _ = chunk_windows(chunk, cfg, with_labels=False)
        p = model.predict(cw.windows, sampling_ns=chunk.sampling_ns)
        ti, to, tt = truth_peak_samples(chunk.truth, chunk.sampling_ns, chunk.n_samples)
        for t in THRESHOLDS:
            sel = select_peaks(p >= t, cw.sample_index, cw.waveform_index, cw.n_waveforms)
            idx, off = sel.index, sel.offsets
            c = electron_matching(ti, to, idx, off, cfg.tolerance, sampling_ns=chunk.sampling_ns, true_times_ns=tt)
            for k in tot[t]:
                tot[t][k] += c[k]
    return [{"threshold": t, "electron_efficiency": c["n_matched"] / c["n_true"],
             "fakes_per_waveform": c["n_fakes"] / c["n_waveforms"],
             "peaks_per_waveform": c["n_detected"] / c["n_waveforms"]} for t, c in tot.items()]


def at_fakes(rows: list[dict[str, float]], fakes: float) -> dict[str, float]:
    """The scanned point with the highest efficiency at no more than ``fakes`` per waveform
    (the lowest-fake point when none qualifies)."""
    ok = [r for r in rows if r["fakes_per_waveform"] <= fakes]
    if not ok:
        return min(rows, key=lambda r: r["fakes_per_waveform"])
    return max(ok, key=lambda r: r["electron_efficiency"])


def main(argv: list[str] | None = None) -> int:
    """Scan every model of a ``parity_candidates.py`` output directory."""
    os.environ.setdefault("CCRECO_NO_PROGRESS", "1")
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0])
    data = json.loads((out / "parity_candidates.json").read_text())
    work = Path(argv[1]) if len(argv) > 1 else out / "work"
    results: list[dict[str, Any]] = []
    for r in sorted(data["points"], key=lambda r: (r["snr"], r["rule"])):
        d = work / f"snr{r['snr']:g}"
        model = d / f"lstm_compact_{r['rule'].replace(':', 's')}.onnx"
        test = d / f"test_{r['n_waveforms']['test']}_s{r['seeds']['test']}.root"
        rows = scan(str(model), str(test))
        results.append({"snr": r["snr"], "rule": r["rule"], "scan": rows})
        print(f"S/N {r['snr']:g} {r['rule']}: " + "; ".join(
            f"{x['threshold']:g}: {x['electron_efficiency']:.3f} @ {x['fakes_per_waveform']:.2f}" for x in rows),
            flush=True)
    lines = ["| S/N | rule | threshold | e-eff | fakes/wf |", "|---|---|---|---|---|"]
    for res in results:
        for x in res["scan"]:
            lines.append(f"| {res['snr']:g} | {res['rule']} | {x['threshold']:g} | {x['electron_efficiency']:.3f} "
                         f"| {x['fakes_per_waveform']:.2f} |")
    (out / "parity_tradeoff.json").write_text(json.dumps({"points": results, "thresholds": THRESHOLDS}, indent=1))
    (out / "parity_tradeoff.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
