#!/usr/bin/env bash
# Counts per request for one running relay (issue 9), steadier than req/s on a shared 2-core
# machine: syscalls, context switches and CPU from perf stat, and on-CPU / run-queue wait time
# from the threads' schedstat, over a 6 s window of `wrk -t2 -c64` 1 KiB POSTs.
#
#   tests/Bench/per-request.sh <relay pid> <label> [frontend port, default 29804]
#
# The relay needs its intake and its log sink: run the bench once with BENCH_KEEP=1 (and
# BENCH_SHAPES=2x2 BENCH_SIZES=1024 BENCH_ROUNDS=1 BENCH_LONG_RUNS=0 BENCH_CHURN=0 BENCH_IDLE=1 for
# a quick one), then in the kept directory start `nginx -c $PWD/nginx.conf -p $PWD &` (it has
# `daemon off`), a UDP sink on 127.0.0.1:<9514 + offset> that never reads, and the relay with
# `-f relay.cfg` (ours) or `haproxy -f relay.cfg -db`. Needs perf (linux-perf) and bc.
set -euo pipefail
PID=$1 LABEL=$2 PORT=${3:-29804}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export BENCH_BODY_BYTES=1024
URL="http://127.0.0.1:$PORT/"
sched() { cat /proc/"$PID"/task/*/schedstat 2>/dev/null | awk '{r+=$1; w+=$2} END{printf "%.0f %.0f\n", r, w}'; }

wrk -t2 -c64 -d2s -s "$HERE/post.lua" "$URL" >/dev/null
wrk -t2 -c64 -d9s -s "$HERE/post.lua" "$URL" >"$OUT/wrk.txt" &
WRK=$!
sleep 1
read -r run0 wait0 < <(sched)
perf stat -p "$PID" -x, -o "$OUT/perf.txt" -e 'syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_getpid,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield,context-switches,task-clock' -- sleep 6
read -r run1 wait1 < <(sched)
wait "$WRK"

requests=$(grep -o 'requests=[0-9]*' "$OUT/wrk.txt" | cut -d= -f2)
duration=$(grep -o 'duration_us=[0-9]*' "$OUT/wrk.txt" | cut -d= -f2)
n=$(echo "$requests * 6000000 / $duration" | bc -l)   # requests in the 6 s window, at the run's mean rate
printf '%s: %.0f req/s, p99 %s us\n' "$LABEL" "$(echo "$requests * 1000000 / $duration" | bc -l)" "$(grep -o 'p99_us=[0-9]*' "$OUT/wrk.txt" | cut -d= -f2)"
awk -F, -v n="$n" '$1 ~ /^[0-9.]+$/ { v = $1 / n; if ($3 == "task-clock") printf "  %-32s %8.1f us per request\n", "cpu (task-clock)", v * 1000; else printf "  %-32s %8.3f per request\n", $3, v }' "$OUT/perf.txt"
printf '  %-32s %8.1f us per request\n' "on cpu (schedstat)" "$(echo "($run1 - $run0) / 1000 / $n" | bc -l)"
printf '  %-32s %8.1f us per request (a thread spinning in sched_yield counts here too)\n' "run-queue wait (schedstat)" "$(echo "($wait1 - $wait0) / 1000 / $n" | bc -l)"
