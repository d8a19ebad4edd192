#!/usr/bin/env bash
# Issue 5 parity (window F1 >= 0.95, AUC >= 0.99 at single-electron S/N >= 20), reproduced with
# one candidate per local maximum (CandidateConfig(rule="max")) instead of the shipped d2 rule.
# Results and caveats (electron efficiency halves): docs/MODELS.md, "Parity: the candidate rule".
#
#   bash examples/parity_sn20.sh [DIR]          S/N 20, rule max only (about 3 minutes on one core)
#   FULL=1 bash examples/parity_sn20.sh [DIR]   the whole table: S/N 20, 30, 6.3 x rules d2, max, max:1
#                                               (about 18 minutes with 2 jobs on 2 shared cores)
#
# Samples: tb2023-untuned with both noise terms scaled (as benchmarks/sn_scan.py), 6,000 training
# waveforms (simulator seed 1000+i) and an independent test sample of 2,000 (seed 3000+i), with
# i = 5, 6, 7 for S/N 20, 30, 6.325 (the indices of the sn_scan curve); compact LSTM, training seed
# 1, 20 epochs (patience 10), auto_threshold, threads=1. The windows are evaluated on the same
# candidate definition as the model was trained on (its `candidates` metadata).
#
# The CLI (`ccreco train peaks`) has no candidate-rule option; the script uses the library:
#   sample = peak_sample(files, PEAK_PRESETS["compact"], candidates={"rule": "max"})
#   res = train_peak_model(sample.windows, sample.labels, "compact", TrainConfig(...),
#                          sampling_ns=sample.sampling_ns, sample=sample.info,
#                          candidates=sample.info["candidates"])
#   evaluate_peaks(test, "lstm", options={"model": path}, candidates=CandidateConfig(rule="max"))
# (without `candidates=` evaluate_peaks / `ccreco evaluate peaks` score the default d2 windows).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-parity-sn20}"
export CCRECO_NO_PROGRESS="${CCRECO_NO_PROGRESS:-1}"
py="${PYTHON:-python}"
if [[ "${FULL:-0}" == 1 ]]; then
    "$py" "$here/benchmarks/parity_candidates.py" -o "$out" --snr 20,30,6.325 --index 5,6,7 \
        --rules max,d2,max:1 --n-train 6000 --n-test 2000 --epochs 20 --threads 1 --jobs 2
else
    "$py" "$here/benchmarks/parity_candidates.py" -o "$out" --snr 20 --index 5 --rules max \
        --n-train 6000 --n-test 2000 --epochs 20 --threads 1
fi
# electron efficiency versus fakes per waveform (threshold scan) of the same models
"$py" "$here/benchmarks/parity_tradeoff.py" "$out"
