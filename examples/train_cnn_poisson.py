"""Train the step-2 CNN with a Poisson output and a stored calibration line (formulation (a)).

    ccreco simulate --randomize -n 8000 --seed 7 -o train_random.root
    python examples/train_cnn_poisson.py train_random.root -o cnn_poisson_random.onnx \
        --epochs 25 --seed 1 --threads 2

The CNN reads the (1024, 1) binary encoding of the step-1 peak times and the track length,
returns a Poisson rate (``output="exp"``, ``loss="poisson"``); the line mean N_pred vs N_true
fitted on the validation waveforms is stored as ``calibration`` and inverted at inference.
``--loss mse`` trains the same network with the standardised MSE instead (for comparison).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from ccreco.models.config import CLUSTER_PRESETS, CLUSTER_TRAIN
from ccreco.models.dataset import cluster_sample
from ccreco.models.inference import PeakModel
from ccreco.models.shipped import shipped_model
from ccreco.models.train_clusters import train_cluster_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", metavar="FILE", help="ROOT files with MC truth")
    ap.add_argument("--data", nargs="+", default=[], help=argparse.SUPPRESS)  # old spelling
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--peak-model", default=None)
    ap.add_argument("--loss", choices=("poisson", "mse"), default="poisson")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-calibration", action="store_true")
    args = ap.parse_args()
    args.data = [*args.files, *args.data]
    if not args.data:
        ap.error("give at least one input FILE")
    pm = PeakModel(args.peak_model or shipped_model("lstm_compact_tb2023_untuned"))
    cfg = dataclasses.replace(CLUSTER_PRESETS["ihep"], extra=("track_length_cm",),
                              output="exp" if args.loss == "poisson" else "linear")
    sample = cluster_sample(args.data, pm, cfg)
    train = dataclasses.replace(CLUSTER_TRAIN, loss=args.loss, epochs=args.epochs, patience=args.patience,
                                seed=args.seed, threads=args.threads,
                                optimizer="adam" if args.loss == "poisson" else CLUSTER_TRAIN.optimizer)
    res = train_cluster_model(sample.peak_times, sample.n_true, cfg, train, extra=sample.extra,
                              sampling_ns=sample.sampling_ns, sample=sample.info, calibrate=not args.no_calibration)
    res.export(args.output)
    res.save_history(str(args.output) + ".history")
    print(json.dumps(res.metrics, indent=1, default=str))
    print("calibration", res.metadata.get("calibration"), "epochs", len(res.history), "best", res.fit.best_epoch,
          "seconds", round(res.fit.seconds, 1))


if __name__ == "__main__":
    main()
