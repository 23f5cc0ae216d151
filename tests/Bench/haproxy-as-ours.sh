#!/bin/sh
# An A/A control: BENCH_OURS=tests/Bench/haproxy-as-ours.sh runs HAProxy in the "ours" slot, so the
# ratios show the machine's own noise (on a shared 2-core box they swung 0.6-1.8 between identical relays).
exec "${BENCH_HAPROXY:-/usr/sbin/haproxy}" -db "$@"
