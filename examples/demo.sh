#!/usr/bin/env bash
# The main job on an embedded default (run by `make demo`): simulate a small beam-test-like run
# of each tb2023 preset (perpendicular tracks, and 45-degree tracks with a tuned gas), reconstruct
# both with the shipped ONNX models (step-1 LSTM peak finder, step-2 ML cluster counter) on an
# embedded dask cluster of 2 workers through coffea, once more with the opt-in run-level correction
# of the count's level, compare the two reconstructions, and print a summary table. Outputs go to demo-output/ (or $CCRECO_DEMO_OUT); each run's OUTDIR holds
# hists.root, reco.root, plots/ and summary.json.
set -euo pipefail
out=${CCRECO_DEMO_OUT:-demo-output}
n=${CCRECO_DEMO_N:-5000}
workers=${CCRECO_DEMO_WORKERS:-2}
mkdir -p "$out"
for preset in tb2023-untuned tb2023-tuned; do
  echo "== simulate: $n waveforms of the $preset preset (seed 1)"
  ccreco simulate --preset "$preset" -n "$n" --seed 1 -o "$out/$preset.root"
  echo "== reconstruct on a dask LocalCluster with $workers workers"
  ccreco reco "$out/$preset.root" -o "$out/reco-$preset" --executor dask --workers "$workers" \
    --chunk-size 1000 --overwrite
done
echo "== both runs again with the run-level correction (each file divided by the level its statistics predict)"
ccreco reco "$out/tb2023-untuned.root" "$out/tb2023-tuned.root" -o "$out/reco-run-level" \
  --set run_level=run_level_perpeak_random_wide --set deriv=false --no-plots --overwrite >/dev/null
echo "== compare the two reconstructions (no truth used)"
ccreco compare "$out/reco-tb2023-untuned" "$out/reco-tb2023-tuned" -o "$out/compare" \
  --labels untuned,tuned-45deg >/dev/null
python examples/demo_table.py "$out"
echo "== outputs in $out/: reco-*/ (hists.root, reco.root, plots/, summary.json), compare/"
