#!/usr/bin/env bash
# Debian packages the tests need, installed when missing (CI and users start from a fresh
# machine): rsyslog, the peer `tocsin-bench --peer rsyslog` is tested against.
set -euo pipefail
if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need rsyslogd (Debian/Ubuntu package rsyslog); install it and run again" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "the tests need rsyslog: run 'apt-get install -y rsyslog' as root, then again" >&2
        exit 1
    fi
    SUDO=(sudo -n)
fi
echo "installing rsyslog (for the tocsin-bench peer test)..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q >&2
"${SUDO[@]}" apt-get install -y -q --no-install-recommends rsyslog >&2
