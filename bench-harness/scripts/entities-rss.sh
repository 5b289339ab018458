#!/usr/bin/env bash
# Resident memory of the engine holding N active scoring entities: starts `tocsin run` with
# scoring on (or off, for the baseline), sends lines from DEVICES devices per vendor (18
# vendors), waits for delivery, then reads the entity count from the API and VmRSS from /proc.
#
# usage: bench-harness/scripts/entities-rss.sh on|off [DEVICES] [LINES]
#        (defaults 6000 devices per vendor = 108,000 entities, 1,000,000 lines)
# Needs the release binaries: make build
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?on or off} devices=${2:-6000} lines=${3:-1000000}
work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(port) tcp=$(port)
cat > "$work/tocsin.toml" <<TOML
[engine]
data_dir = "$work/data"
vendors_dir = "$PWD/config/vendors"
[api]
listen = "127.0.0.1:$api"
[[sources]]
type = "syslog_tcp"
name = "tcp"
listen = "127.0.0.1:$tcp"
vendor = "auto"
[[targets]]
type = "blackhole"
name = "void"
[router]
default_targets = ["void"]
[score]
enabled = $([ "$mode" = on ] && echo true || echo false)
max_entities = 400000
TOML
./target/release/tocsin run --config "$work/tocsin.toml" > "$work/engine.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api/ready" >/dev/null && break; sleep 0.1; done
./target/release/tocsin-bench --target "127.0.0.1:$tcp" --api "http://127.0.0.1:$api" \
  --devices "$devices" --pool-size $((devices * 18 * 2)) --count "$lines" --rate max --quiet \
  --run-dir "$work/run" >/dev/null
curl -s "http://127.0.0.1:$api/api/v1/pipeline" > "$work/pipeline.json"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
python3 - "$work/pipeline.json" "$rss" "$mode" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
s = p.get("scoring") or {}
print(f"scoring {sys.argv[3]}: {p['totals']['received']:,} lines, {s.get('entities', 0):,} entities, "
      f"{s.get('windows', 0):,} windows scored, RSS {int(sys.argv[2]) / 1024:.1f} MiB")
PY
