"""Step-2 formulations side by side: bias, slope, calibrated resolution, time per waveform.

    python benchmarks/step2_compare.py --sample untuned=untuned_s4242.root --sample tube=tube_s4343.root \
        --method deriv --method cnn --method perpeak:model=perpeak.onnx -o step2_compare.json

``--method NAME[:key=value,...]`` is a registered ``ccreco evaluate clusters`` method with its
options; a label can be given as ``LABEL=NAME[:...]``. Times are wall seconds of the whole
evaluation (step 1 included), comparable only within one run.
"""

from __future__ import annotations

import argparse
import json
import time

from ccreco.analysis.evaluate import evaluate_clusters
from ccreco.analysis.metrics import jsonable

KEYS = ("n_waveforms", "mean_true", "bias", "rms_over_sqrt_n", "slope", "slope_err", "intercept",
        "calibrated_rms_over_sqrt_n", "calibrated_resolution")


def _method(spec: str) -> tuple[str, str, dict[str, str]]:
    label, _, rest = spec.partition("=") if "=" in spec.split(":")[0] else ("", "", spec)
    if not rest:
        rest = spec
    name, _, opts = rest.partition(":")
    options = dict(kv.split("=", 1) for kv in opts.split(",") if kv)
    return label or rest, name, options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", action="append", required=True, metavar="LABEL=FILE")
    ap.add_argument("--method", action="append", required=True)
    ap.add_argument("--max-waveforms", type=int, default=None)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    rows = []
    for s in args.sample:
        label, _, path = s.partition("=")
        for spec in args.method:
            mlabel, name, options = _method(spec)
            t0 = time.perf_counter()
            m = evaluate_clusters(path, name, options=options, max_waveforms=args.max_waveforms)
            dt = time.perf_counter() - t0
            row = {"sample": label, "method": mlabel, **{k: m[k] for k in KEYS}, "seconds": dt,
                   "bias_pct": 100 * m["bias"] / m["mean_true"]}
            rows.append(jsonable(row))
            print(json.dumps(rows[-1]), flush=True)
    with open(args.output, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
