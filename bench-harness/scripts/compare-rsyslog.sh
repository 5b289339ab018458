#!/usr/bin/env bash
# Runs the same TCP workload against a running tocsin engine and against rsyslog (started here,
# on loopback, with a minimal imtcp -> omfile config), then prints both reports.
#
#   compare-rsyslog.sh [--tocsin-target 127.0.0.1:5514] [--api http://127.0.0.1:8080]
#                      [--count 1000000] [--connections 4] [--rate max]
#                      [--rsyslog-port 10514 | PORT] [--skip-tocsin] [--out DIR]
#                      [-- extra tocsin-bench args]
#
# tocsin must already be running. rsyslog is installed from Debian (apt-get, as root) when
# rsyslogd is missing. Delivery to rsyslog is measured by counting the lines its omfile action
# appends (tocsin-bench --count-file); latency is n/a there.
set -euo pipefail

TOCSIN_TARGET=127.0.0.1:5514
API=http://127.0.0.1:8080
COUNT=1000000
CONNECTIONS=4
RATE=max
RSYSLOG_PORT=10514
SKIP_TOCSIN=0
OUT=""
EXTRA=()

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --tocsin-target) TOCSIN_TARGET=$2; shift 2 ;;
        --api) API=$2; shift 2 ;;
        --count) COUNT=$2; shift 2 ;;
        --connections) CONNECTIONS=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --rsyslog-port) RSYSLOG_PORT=$2; shift 2 ;;
        --skip-tocsin) SKIP_TOCSIN=1; shift ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        [0-9]*) RSYSLOG_PORT=$1; shift ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
BENCH=${TOCSIN_BENCH:-}
if [[ -z "$BENCH" ]]; then
    BENCH="${CARGO_TARGET_DIR:-$REPO/target}/release/tocsin-bench"
    if [[ ! -x "$BENCH" ]]; then
        echo "building tocsin-bench (release)..." >&2
        (cd "$REPO" && cargo build --release -p tocsin-bench)
    fi
fi

# --- rsyslog: install if missing ------------------------------------------------------------
RSYSLOGD=$(command -v rsyslogd || true)
[[ -z "$RSYSLOGD" && -x /usr/sbin/rsyslogd ]] && RSYSLOGD=/usr/sbin/rsyslogd
if [[ -z "$RSYSLOGD" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "rsyslogd is missing; run as root (or apt-get install -y rsyslog first)" >&2
        exit 1
    fi
    echo "installing rsyslog from Debian..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q rsyslog >&2
    RSYSLOGD=/usr/sbin/rsyslogd
fi

WORK=$(mktemp -d /tmp/tocsin-compare.XXXXXX)
OUT=${OUT:-$WORK}
mkdir -p "$WORK/spool" "$OUT"
RS_PID=""
cleanup() {
    if [[ -n "$RS_PID" ]] && kill -0 "$RS_PID" 2>/dev/null; then
        kill -TERM "$RS_PID" 2>/dev/null || true
        wait "$RS_PID" 2>/dev/null || true
    fi
    rm -f "$WORK/rsyslog-out.log"
}
trap cleanup EXIT

# Minimal config: imtcp on loopback only, one omfile action writing the raw message. The input
# has its own ruleset so rsyslogd's own messages never reach the counted file.
cat > "$WORK/rsyslog.conf" <<EOF
global(workDirectory="$WORK/spool" maxMessageSize="64k")
module(load="imtcp" maxSessions="1024")
template(name="rawline" type="string" string="%rawmsg%\n")
ruleset(name="bench") {
    action(type="omfile" file="$WORK/rsyslog-out.log" template="rawline")
}
input(type="imtcp" address="127.0.0.1" port="$RSYSLOG_PORT" ruleset="bench")
EOF

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

RESULT=0
run_bench() { # name, args...
    local name=$1; shift
    echo "== $name: tocsin-bench $* ==" >&2
    if "$BENCH" "$@" --json "$OUT/$name.json" > "$OUT/$name.txt"; then
        return 0
    else
        local rc=$?
        echo "tocsin-bench against $name exited with $rc" >> "$OUT/$name.txt"
        RESULT=1
    fi
}

COMMON=(--transport tcp --count "$COUNT" --connections "$CONNECTIONS" --rate "$RATE" --quiet)

# --- tocsin first ---------------------------------------------------------------------------
if [[ $SKIP_TOCSIN -eq 0 ]]; then
    run_bench tocsin "${COMMON[@]}" --target "$TOCSIN_TARGET" --api "$API" --reset-latency \
        ${EXTRA[@]+"${EXTRA[@]}"}
fi

# --- then rsyslog ---------------------------------------------------------------------------
if port_open "$RSYSLOG_PORT"; then
    echo "port $RSYSLOG_PORT is already in use; pick another with --rsyslog-port" >&2
    exit 1
fi
"$RSYSLOGD" -N1 -f "$WORK/rsyslog.conf" >"$WORK/rsyslog-check.log" 2>&1 || {
    cat "$WORK/rsyslog-check.log" >&2
    exit 1
}
"$RSYSLOGD" -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslogd.pid" >"$WORK/rsyslogd.log" 2>&1 &
RS_PID=$!
for _ in $(seq 1 100); do
    port_open "$RSYSLOG_PORT" && break
    kill -0 "$RS_PID" 2>/dev/null || { cat "$WORK/rsyslogd.log" >&2; exit 1; }
    sleep 0.1
done
port_open "$RSYSLOG_PORT" || { echo "rsyslogd did not open port $RSYSLOG_PORT" >&2; exit 1; }
echo "rsyslogd $("$RSYSLOGD" -v | head -1 | awk '{print $2}') pid $RS_PID on 127.0.0.1:$RSYSLOG_PORT" >&2

run_bench rsyslog "${COMMON[@]}" --target "127.0.0.1:$RSYSLOG_PORT" \
    --count-file "$WORK/rsyslog-out.log" ${EXTRA[@]+"${EXTRA[@]}"}

kill -TERM "$RS_PID" 2>/dev/null || true
wait "$RS_PID" 2>/dev/null || true
RS_PID=""

# --- both tables ----------------------------------------------------------------------------
for name in tocsin rsyslog; do
    [[ -f "$OUT/$name.txt" ]] || continue
    echo "=== $name ==="
    cat "$OUT/$name.txt"
    echo
done
echo "JSON reports in $OUT" >&2
exit $RESULT
