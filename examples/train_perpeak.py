"""Train the per-peak step-2 model (ccreco.models.train_clusters.train_peak_cluster_model).

The command line does the same: ``ccreco train perpeak train_wide.root --set epochs=20
--set threads=1 -o perpeak_random_wide.onnx`` (byte-identical output); this script shows the
library calls.

    # the shipped default step 2 (perpeak_random_wide): cluster density x 0.5-2.0
    ccreco simulate --randomize -n 8000 --seed 9 --set density_scale=0.5,2.0 -o train_wide.root
    python examples/train_perpeak.py --data train_wide.root -o perpeak_random_wide.onnx \
        --epochs 20 --seed 1 --threads 1

``--waveform-channels`` picks the waveform-level channels (default: all of
``ccreco.models.encoding.WAVEFORM_CHANNELS``; ``""`` for none, as ``perpeak_tb2023_random``).

Candidates and scores come from the step-1 model (default: the shipped LSTM).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from ccreco.models.config import PeakClusterConfig
from ccreco.models.dataset import peak_cluster_sample
from ccreco.models.inference import PeakModel
from ccreco.models.shipped import shipped_model
from ccreco.models.train_clusters import PEAK_CLUSTER_TRAIN, train_peak_cluster_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True, help="ROOT files with MC truth")
    ap.add_argument("-o", "--output", required=True, help="output .onnx")
    ap.add_argument("--peak-model", default=None, help="step-1 ONNX (default: shipped LSTM)")
    ap.add_argument("--context", type=int, default=PeakClusterConfig().context)
    ap.add_argument("--waveform-channels", default=",".join(PeakClusterConfig().waveform_channels),
                    help="comma-separated waveform-level channels ('' for none)")
    ap.add_argument("--epochs", type=int, default=PEAK_CLUSTER_TRAIN.epochs)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-waveforms", type=int, default=None)
    args = ap.parse_args()
    pm = PeakModel(args.peak_model or shipped_model("lstm_compact_tb2023_untuned"))
    cfg = PeakClusterConfig(context=args.context,
                            waveform_channels=tuple(c for c in args.waveform_channels.split(",") if c))
    sample = peak_cluster_sample(args.data, pm, cfg.context, max_waveforms=args.max_waveforms, channels=cfg.channels)
    train = dataclasses.replace(PEAK_CLUSTER_TRAIN, epochs=args.epochs, seed=args.seed, threads=args.threads)
    res = train_peak_cluster_model(sample, cfg, train)
    res.export(args.output)
    res.save_history(str(args.output) + ".history")
    print(json.dumps({k: v for k, v in res.metrics.items()}, indent=1, default=str))
    print("calibration", res.metadata["calibration"], "epochs", len(res.history), "best", res.fit.best_epoch,
          "seconds", round(res.fit.seconds, 1))


if __name__ == "__main__":
    main()
