#!/usr/bin/env bash
# The main job on an embedded default (run by `make demo`): simulate a small beam-test-like run,
# inspect it, and reconstruct it. Outputs go to demo-output/.
set -euo pipefail
out=${CCRECO_DEMO_OUT:-demo-output}
mkdir -p "$out"
echo "== simulate: 2000 waveforms of the tb2023-untuned preset (180 GeV/c muons, 0.8 cm cell)"
ccreco simulate --preset tb2023-untuned -n 2000 --seed 1 -o "$out/untuned.root" --plots "$out/sim-plots"
echo "== inspect"
ccreco inspect "$out/untuned.root"
echo "== classical reconstruction (DERIV + sqrt(t) clusterization) against MC truth"
ccreco evaluate peaks --method deriv --data "$out/untuned.root" --json "$out/deriv-peaks.json"
ccreco evaluate clusters --method deriv --data "$out/untuned.root" --json "$out/deriv-clusters.json"
echo "== outputs in $out/"
