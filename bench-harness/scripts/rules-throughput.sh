#!/usr/bin/env bash
# What 100 routing rules cost the router in the pipeline: syslog TCP throughput with no rules
# and with 100 rules (mixed matchers: equality, regex, numeric, CIDR, `in`; none of them
# matches the traffic, so every event is checked against all 100, the worst case), in one
# run, interleaved (none, rules, none, rules, ...); prints each run, the medians and the ratio.
# Scoring is off in both, so the router is the stage that differs.
#
# usage: bench-harness/scripts/rules-throughput.sh [RUNS] [LINES]   (defaults 3 and 2000000)
# Needs the release binaries: make build
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3} lines=${2:-2000000}
bench=./target/release/tocsin-bench engine=./target/release/tocsin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/rules.toml" <<'PY'
import sys
out = []
for i in range(100):
    kind = i % 5
    if kind == 0:
        m = [f'device.hostname = "edge-{i:03d}.example.net"', 'severity_id >= 3']
    elif kind == 1:
        m = [f'message =~ "^(?:panic|oops) code {i}.*"', 'metadata.product.name != "none"']
    elif kind == 2:
        m = [f'src_endpoint.ip in ["198.51.{i}.0/24", "2001:db8:{i:x}::/48"]']
    elif kind == 3:
        m = [f'metadata.event_code in ["X{i}", "Y{i}", "Z{i}"]', 'class_uid >= 1000']
    else:
        m = [f'tocsin.entity = "core-{i}"', f'severity_id <= 6']
    quoted = ", ".join("'" + x + "'" for x in m)
    out.append(f'[[rules]]\nname = "rule-{i:03d}"\npriority = {i + 1}\nmatchers = [{quoted}]\nset_priority = "P{1 + i % 4}"\n')
open(sys.argv[1], "w").write("\n".join(out))
PY
printf '[score]\nenabled = false\n' > "$work/none.toml"
printf '[score]\nenabled = false\n[router]\nrules_file = "%s"\n' "$work/rules.toml" > "$work/rules.toml.cfg"
mv "$work/rules.toml.cfg" "$work/rules-cfg.toml"
for i in $(seq "$runs"); do
  for mode in none rules; do
    cfg="$work/none.toml"; [ "$mode" = rules ] && cfg="$work/rules-cfg.toml"
    "$bench" --spawn --engine-bin "$engine" --engine-config "$cfg" \
      --transport tcp --count "$lines" --rate max --quiet --run-dir "$work/$mode-$i" >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], round(r["throughput_eps"]), "ev/s, lost", r["lost"])' \
      "$work/$mode-$i/report.json" "$mode" "$i"
  done
done | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
runs = {"none": [], "rules": []}
for line in open(sys.argv[1]):
    mode, _, eps = line.split()[:3]
    runs[mode].append(float(eps))
a, b = statistics.median(runs["none"]), statistics.median(runs["rules"])
print(f"median no rules {a:,.0f} ev/s, 100 rules {b:,.0f} ev/s, rules/none {b / a:.3f}")
PY
