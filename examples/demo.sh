#!/usr/bin/env bash
# The main job on an embedded default (run by `make demo`): simulate a small beam-test-like run
# of each tb2023 preset, inspect it, and reconstruct it with the classical chain (DERIV +
# sqrt(t) clusterization) and the shipped ONNX models (LSTM peak finder + CNN cluster counter),
# scored against MC truth. Outputs go to demo-output/ (or $CCRECO_DEMO_OUT).
set -euo pipefail
out=${CCRECO_DEMO_OUT:-demo-output}
n=${CCRECO_DEMO_N:-2000}
mkdir -p "$out"
for preset in tb2023-untuned tb2023-tuned; do
  echo "== simulate: $n waveforms of the $preset preset"
  ccreco simulate --preset "$preset" -n "$n" --seed 1 -o "$out/$preset.root" --plots "$out/$preset-plots"
  echo "== inspect"
  ccreco inspect "$out/$preset.root"
  for method in deriv lstm; do
    ccreco evaluate peaks --method "$method" --data "$out/$preset.root" --json "$out/$preset-peaks-$method.json" >/dev/null
  done
  for method in deriv cnn; do
    ccreco evaluate clusters --method "$method" --data "$out/$preset.root" --json "$out/$preset-clusters-$method.json" >/dev/null
  done
done
python examples/demo_table.py "$out"
echo "== outputs in $out/"
