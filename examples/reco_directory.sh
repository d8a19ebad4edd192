#!/usr/bin/env bash
# Reconstruct every run (*.root) in a directory with `ccreco reco`: one OUTDIR per run plus one
# combined OUTDIR over all of them, then print a table from each summary.json.
#
#   examples/reco_directory.sh RUNDIR OUTBASE [extra `ccreco reco` options...]
#   examples/reco_directory.sh data/ reco/ --executor dask --workers 4 --schema cepc
#
# Layout written:  OUTBASE/<run name>/   (hists.root, reco.root, plots/, summary.json) per run
#                  OUTBASE/combined/     the same over every run
# Bad blocks or files are skipped (--on-error skip) and listed in each summary.json. An OUTDIR
# only appears once its run is complete, so running the script again redoes only the runs without
# one (delete an OUTDIR, or pass --overwrite, to redo it). Environment: CCRECO (the ccreco
# command, default `ccreco`), PYTHON (for the table, default `python`).
# Table columns: waveforms reconstructed, skipped files/blocks, mean n_peaks, N_cl (step-2 ML), N_cl
# (MC truth, when present), dN/dx [1/cm], throughput [waveforms/s].
# Exit status: 0 when every run completed, 1 when one failed (the others still ran).
set -uo pipefail

if [[ $# -lt 2 ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
rundir=$1
outbase=$2
shift 2
ccreco=${CCRECO:-ccreco}
python=${PYTHON:-python}

shopt -s nullglob
runs=("$rundir"/*.root)
if [[ ${#runs[@]} -eq 0 ]]; then
  echo "reco_directory: no *.root files in $rundir" >&2
  exit 2
fi
mkdir -p "$outbase"

failed=()
reco() {  # reco OUTDIR FILE... ; ccreco reco exits 0 (all good), 1 (something skipped), 2 (error)
  local outdir=$1
  shift
  if [[ -d $outdir && " $* " != *" --overwrite "* ]]; then
    echo "== $outdir exists (a completed run): skipped"
    return
  fi
  echo "== ccreco reco ${*} -o $outdir"
  "$ccreco" reco "$@" -o "$outdir" --on-error skip
  local rc=$?
  if [[ $rc -gt 1 ]]; then
    echo "reco_directory: FAILED (exit $rc): $outdir" >&2
    failed+=("$outdir")
  fi
}

for run in "${runs[@]}"; do
  name=$(basename "$run" .root)
  reco "$outbase/$name" "$run" "$@"
done
if [[ ${#runs[@]} -gt 1 ]]; then
  reco "$outbase/combined" "${runs[@]}" "$@"
fi

"$python" - "$outbase" <<'EOF'
import json
import sys
from pathlib import Path

rows = []
for path in sorted(Path(sys.argv[1]).glob("*/summary.json"), key=lambda p: (p.parent.name == "combined", p)):
    s = json.loads(path.read_text())
    c, st = s["counters"], s["stats"]

    def mean(name: str) -> str:
        v = st.get(name, {}).get("mean")
        return f"{v:8.2f}" if v is not None else f"{'-':>8s}"

    rate = s["throughput"]["waveforms_per_s"] or 0.0
    rows.append(f"{path.parent.name:24.24s} {c['waveforms_reconstructed']:9d} {len(s['skipped']):7d} "
                f"{mean('n_peaks')} {mean('n_clusters')} {mean('n_clusters_true')} {mean('dndx')} {rate:8.0f}")
print(f"{'run':24s} {'waveforms':>9s} {'skipped':>7s} {'n_peaks':>8s} {'N_cl':>8s} {'N_true':>8s} "
      f"{'dN/dx':>8s} {'wf/s':>8s}")
print("\n".join(rows) if rows else "(no completed run)")
EOF
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'FAILED (no OUTDIR written; see the messages above): %s\n' "${failed[@]}"
  exit 1
fi
