#!/usr/bin/env bash
# What anomaly scoring costs end to end: syslog TCP throughput with scoring off and on, in one
# run, interleaved (off, on, off, on, ...) so that both see the same machine; prints each run,
# the medians and the ratio on / off.
#
# usage: bench-harness/scripts/scoring-cost.sh [RUNS] [LINES]   (defaults 3 and 2000000)
# Needs the release binaries: make build
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3} lines=${2:-2000000}
bench=./target/release/tocsin-bench engine=./target/release/tocsin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[score]\nenabled = false\n' > "$work/off.toml"
printf '[score]\nenabled = true\n' > "$work/on.toml"
for i in $(seq "$runs"); do
  for mode in off on; do
    "$bench" --spawn --engine-bin "$engine" --engine-config "$work/$mode.toml" \
      --transport tcp --count "$lines" --rate max --quiet --run-dir "$work/$mode-$i" >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], round(r["throughput_eps"]), "ev/s, lost", r["lost"], ", peak RSS", r["resources"]["peak_rss_mib"], "MiB")' \
      "$work/$mode-$i/report.json" "$mode" "$i"
  done
done | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
runs = {"off": [], "on": []}
for line in open(sys.argv[1]):
    mode, _, eps = line.split()[:3]
    runs[mode].append(float(eps))
off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
print(f"median off {off:,.0f} ev/s, on {on:,.0f} ev/s, on/off {on / off:.3f}")
PY
