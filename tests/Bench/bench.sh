#!/usr/bin/env bash
# The relay benchmark (issue 3, "Benchmark"): wrk -> relay -> a local TLS intake (nginx answering
# 202), for our relay (A) and HAProxy 2.6 (B) with the same cfg, measured in the same run with
# alternating A/B runs, reported as ours | haproxy | ratio. A measurement, not a test: it fails
# only when the harness itself cannot run (no intake, HAProxy not relaying).
#
#   tests/Bench/bench.sh            (normally through ./build.sh bench, which builds first)
#
# Environment (defaults keep the whole run under ~6 minutes):
#   BENCH_DURATION=12      seconds measured per run          BENCH_WARMUP=3   seconds before each run
#   BENCH_ROUNDS=3         A/B rounds per body size (median)  BENCH_IDLE=30    idle observation, seconds
#   BENCH_SIZES="1024 262144"  body sizes in bytes           BENCH_CONNECTIONS=64  BENCH_THREADS=2
#   BENCH_NGINX_WORKERS=auto   intake worker processes       BENCH_PORT_OFFSET=20000 (98xx -> 298xx)
#   BENCH_OURS=artifacts/bin/datadog-fips-proxy   BENCH_HAPROXY=/usr/sbin/haproxy
#   (BENCH_OURS=tests/Bench/haproxy-as-ours.sh is an A/A control: the ratios then measure noise)
#   BENCH_EXAMPLE=<file>   the cfg to derive from (default src/dist/datadog-fips-proxy.cfg.example;
#                          tests/Bench/relay.cfg.in stands in while that file is absent)
#   BENCH_CFG=<file>       a cfg template used as is (@INTAKE_PORT@ @CA@ @FRONT_PORT@)
#   BENCH_KEEP=1           keep the run directory (logs, cfg, certificates) for inspection
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/Bench"
OUT="$ROOT/artifacts/bench"
DURATION=${BENCH_DURATION:-12}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE=${BENCH_IDLE:-30}
SIZES=${BENCH_SIZES:-"1024 262144"}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-auto}
OFFSET=${BENCH_PORT_OFFSET:-20000}
OURS=${BENCH_OURS:-$ROOT/artifacts/bin/datadog-fips-proxy}
HAPROXY=${BENCH_HAPROXY:-/usr/sbin/haproxy}
EXAMPLE=${BENCH_EXAMPLE:-$ROOT/src/dist/datadog-fips-proxy.cfg.example}
TCK=$(getconf CLK_TCK)
export DD_FIPS_LOCAL_ADDRESS=127.0.0.1   # what the shipped cfg's presetenv means; never a wildcard here

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

for tool in nginx wrk curl openssl awk; do
  command -v "$tool" >/dev/null || die "$tool is missing (./build.sh bench installs it)"
done
[ -x "$HAPROXY" ] || die "no haproxy at $HAPROXY"

RUN=$(mktemp -d /tmp/fips-bench.XXXXXX)
STARTED=()          # every process this script started, stopped by pid at exit

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
  if [ -n "${BENCH_KEEP:-}" ]; then log "run directory kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- ports ----------------------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The relay ports are the product ports moved by OFFSET; the intake sits just above them.
for ((try = 0; try < 20; try++)); do
  busy=""
  for p in $(seq $((9803 + OFFSET)) $((9818 + OFFSET))) $((9900 + OFFSET)); do
    port_busy "$p" && { busy=$p; break; }
  done
  [ -z "$busy" ] && break
  OFFSET=$((OFFSET + 1000))
done
[ -z "$busy" ] || die "no free port range found (last busy: $busy)"
FRONT_PORT=$((9804 + OFFSET))
INTAKE_PORT=$((9900 + OFFSET))

# --- a CA made for this run, and the intake certificate for the *.ddog-gov.com names -------
log "making a per-run CA and the intake certificate (P-256)"
(
  cd "$RUN"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 2 \
    -keyout ca.key -out ca.pem -subj "/O=FipsAppliance bench/CN=FipsAppliance Bench Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout intake.key -out intake.csr -subj "/CN=metrics.agent.ddog-gov.com" 2>/dev/null
  printf '%s\n' \
    "subjectAltName=DNS:*.ddog-gov.com,DNS:*.agent.ddog-gov.com,DNS:*.logs.ddog-gov.com,DNS:*.profile.ddog-gov.com" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > leaf.ext
  openssl x509 -req -in intake.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
    -extfile leaf.ext -out intake.crt 2>/dev/null
)

fill() {  # template -> file, replacing @NAME@ placeholders
  sed -e "s#@RUN@#$RUN#g" -e "s#@INTAKE_PORT@#$INTAKE_PORT#g" -e "s#@FRONT_PORT@#$FRONT_PORT#g" \
      -e "s#@CA@#$RUN/ca.pem#g" -e "s#@NGINX_WORKERS@#$NGINX_WORKERS#g" "$1" > "$2"
}

# --- the cfg both relays get ----------------------------------------------------------------
CFG="$RUN/relay.cfg"
if [ -n "${BENCH_CFG:-}" ]; then
  fill "$BENCH_CFG" "$CFG"; CFG_ORIGIN="$BENCH_CFG (template)"
elif [ -f "$EXAMPLE" ]; then
  awk -v PORT_OFFSET="$OFFSET" -v INTAKE_PORT="$INTAKE_PORT" -v CA="$RUN/ca.pem" \
      -f "$HERE/derive-cfg.awk" "$EXAMPLE" > "$CFG"
  CFG_ORIGIN="${EXAMPLE#"$ROOT"/}, derived by tests/Bench/derive-cfg.awk"
else
  fill "$HERE/relay.cfg.in" "$CFG"
  CFG_ORIGIN="tests/Bench/relay.cfg.in (the shipped example is not in this tree yet)"
fi
"$HAPROXY" -c -q -f "$CFG" >"$RUN/haproxy-check.log" 2>&1 \
  || { cat "$RUN/haproxy-check.log" >&2; die "haproxy rejects the bench cfg"; }

# --- the intake -----------------------------------------------------------------------------
mkdir -p "$RUN"/nginx-{body,proxy,fastcgi,uwsgi,scgi}
fill "$HERE/nginx.conf.in" "$RUN/nginx.conf"
touch "$RUN/handshakes.log"
nginx -c "$RUN/nginx.conf" -p "$RUN" >"$RUN/nginx.out" 2>&1 &
STARTED+=($!)
NGINX_PID=$!
for ((i = 0; i < 100; i++)); do port_busy "$INTAKE_PORT" && break; sleep 0.1; done
port_busy "$INTAKE_PORT" || { cat "$RUN/nginx.out" "$RUN/nginx-error.log" >&2 2>/dev/null; die "the intake did not start"; }
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$RUN/ca.pem" \
  --resolve "metrics.agent.ddog-gov.com:$INTAKE_PORT:127.0.0.1" -X POST --data-binary '{}' \
  "https://metrics.agent.ddog-gov.com:$INTAKE_PORT/api/v2/series") || true
[ "$code" = 202 ] || die "the intake answers $code, not 202"
log "intake: nginx on 127.0.0.1:$INTAKE_PORT (pid $NGINX_PID); relay frontend on 127.0.0.1:$FRONT_PORT"

# --- process accounting (the relay and every process under it) ------------------------------
proc_tree() {
  local p=$1 c
  [ -d "/proc/$p" ] || return 0
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do proc_tree "$c"; done
}
cpu_ticks() {  # utime+stime of the tree, plus reaped children (cutime+cstime)
  local total=0 p s
  for p in $(proc_tree "$1"); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    set -- $s
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "$total"
}
status_kb() {  # sum of a /proc/<pid>/status field (VmHWM, VmRSS) over the tree, in KiB
  local total=0 p v
  for p in $(proc_tree "$1"); do
    v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
threads_of() { awk '$1 == "Threads:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
handshakes() { wc -l < "$RUN/handshakes.log"; }
resumed() { awk '$2 == "r"' "$RUN/handshakes.log" | wc -l; }

# --- relays ---------------------------------------------------------------------------------
RELAY_PID=""
WHY=""
start_relay() {  # start_relay ours|haproxy ; sets RELAY_PID; on failure returns non-zero, reason in WHY
  local which=$1 i
  WHY=""
  if [ "$which" = ours ]; then
    [ -x "$OURS" ] || { WHY="no binary at $OURS"; RELAY_PID=""; return 1; }
    "$OURS" -f "$CFG" >"$RUN/ours.log" 2>&1 &
  else
    # -db: foreground, one process (no master), HAProxy's default nbthread (= usable CPUs).
    "$HAPROXY" -db -f "$CFG" >"$RUN/haproxy.log" 2>&1 &
  fi
  RELAY_PID=$!
  STARTED+=("$RELAY_PID")
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$RELAY_PID" 2>/dev/null; then
      local rc=0; wait "$RELAY_PID" 2>/dev/null || rc=$?
      WHY="exited at start with status $rc: $(grep -v '^[[:space:]]*$' "$RUN/$which.log" 2>/dev/null | tail -n2 | tr '\n' ' ')"
      [ -s "$RUN/$which.log" ] || WHY="${WHY}(no output)"
      return 1
    fi
    port_busy "$FRONT_PORT" && return 0
    sleep 0.1
  done
  WHY="not listening on $FRONT_PORT after 10 s"
  return 1
}
probe_relay() {  # one POST through the relay must come back 202
  curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST --data-binary '{}' \
    "http://127.0.0.1:$FRONT_PORT/api/v2/series" 2>/dev/null || true
}

declare -A BROKEN=()     # relay -> why it could not be measured
declare -A THREADS_SEEN=()
RESULTS="$RUN/runs.tsv"
printf 'relay\tsize\tround\trps\tp50_ms\tp99_ms\tcpu_s_per_10k\thandshakes_per_10k\tresumed_per_10k\tpeak_rss_mb\tnon2xx\tsocket_errors\n' > "$RESULTS"

# --- idle: no traffic for IDLE seconds ------------------------------------------------------
declare -A IDLE_RSS=() IDLE_CPU=()
for relay in ours haproxy; do
  log "idle: $relay for ${IDLE}s"
  if ! start_relay "$relay"; then
    [ "$relay" = haproxy ] && die "haproxy did not start: $WHY"
    BROKEN[$relay]=$WHY; log "ours: n/a ($WHY)"; [ -z "$RELAY_PID" ] || stop_pid "$RELAY_PID"; continue
  fi
  sleep 1                       # let start-up work (FIPS self-test, CA load) finish
  c0=$(cpu_ticks "$RELAY_PID")
  sleep "$IDLE"
  c1=$(cpu_ticks "$RELAY_PID")
  IDLE_RSS[$relay]=$(awk -v k="$(status_kb "$RELAY_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
  IDLE_CPU[$relay]=$(awk -v t=$((c1 - c0)) -v h="$TCK" 'BEGIN { printf "%.2f", t / h }')
  THREADS_SEEN[$relay]=$(threads_of "$RELAY_PID")
  stop_pid "$RELAY_PID"
done

# --- load: A B A B ... per size, a fresh relay per run --------------------------------------
run_one() {  # run_one relay size round
  local relay=$1 size=$2 round=$3 code
  if ! start_relay "$relay"; then
    [ "$relay" = haproxy ] && die "haproxy did not start: $WHY"
    BROKEN[$relay]=$WHY; [ -z "$RELAY_PID" ] || stop_pid "$RELAY_PID"; return
  fi
  code=$(probe_relay)
  if [ "$code" != 202 ]; then
    [ "$relay" = haproxy ] && die "haproxy does not relay (probe answered $code)"
    BROKEN[$relay]="probe POST answered ${code:-nothing}, not 202"; stop_pid "$RELAY_PID"; return
  fi
  local url="http://127.0.0.1:$FRONT_PORT/"
  BENCH_BODY_BYTES=$size timeout $((WARMUP + 30)) \
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$HERE/post.lua" "$url" >/dev/null 2>&1 || true
  local c0 h0 r0 c1 h1 r1 out="$RUN/wrk-$relay-$size-$round.txt"
  c0=$(cpu_ticks "$RELAY_PID"); h0=$(handshakes); r0=$(resumed)
  BENCH_BODY_BYTES=$size timeout $((DURATION + 30)) \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$HERE/post.lua" "$url" >"$out" 2>&1 || true
  c1=$(cpu_ticks "$RELAY_PID"); h1=$(handshakes); r1=$(resumed)
  local hwm; hwm=$(status_kb "$RELAY_PID" VmHWM)
  local alive=1; kill -0 "$RELAY_PID" 2>/dev/null || alive=0
  stop_pid "$RELAY_PID"
  local line; line=$(grep '^BENCH ' "$out" || true)
  if [ -z "$line" ] || [ "$alive" = 0 ]; then
    [ "$relay" = haproxy ] && { cat "$out" >&2; die "the haproxy run produced no result"; }
    BROKEN[$relay]="run failed (relay alive=$alive; wrk: $(tail -n1 "$out"))"; return
  fi
  awk -v relay="$relay" -v size="$size" -v round="$round" -v dt=$((c1 - c0)) -v tck="$TCK" \
      -v hs=$((h1 - h0)) -v rs=$((r1 - r0)) -v hwm="$hwm" -v line="$line" 'BEGIN {
    n = split(line, kv, " ")
    for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    req = v["requests"]; per10k = req > 0 ? 10000 / req : 0
    printf "%s\t%d\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t%.1f\t%d\t%d\n", relay, size, round,
      req / (v["duration_us"] / 1e6), v["p50_us"] / 1000, v["p99_us"] / 1000,
      dt / tck * per10k, hs * per10k, rs * per10k, hwm / 1024, v["non2xx"],
      v["err_connect"] + v["err_read"] + v["err_write"] + v["err_timeout"]
  }' >> "$RESULTS"
  tail -n1 "$RESULTS" | awk -F'\t' '{ printf "==>   %-8s %7s B  round %d: %8s req/s  p50 %s ms  p99 %s ms  non-2xx %s\n", $1, $2, $3, $4, $5, $6, $11 }' >&2
}

T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
  for size in $SIZES; do
    log "round $round/$ROUNDS, ${size}-byte POSTs, ${CONNS} connections, ${DURATION}s each"
    for relay in ours haproxy; do
      [ -n "${BROKEN[$relay]:-}" ] && continue
      run_one "$relay" "$size" "$round"
    done
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------------
median() {  # median relay size column
  awk -F'\t' -v r="$1" -v s="$2" -v c="$3" 'NR > 1 && $1 == r && $2 == s { v[n++] = $c }
    END { if (!n) { print "n/a"; exit }
          for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
          m = (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
          print m }' "$RESULTS"
}
spread() {  # min–max of a column over the runs
  awk -F'\t' -v r="$1" -v s="$2" -v c="$3" 'NR > 1 && $1 == r && $2 == s { if (!n++ || $c < lo) lo = $c; if ($c > hi) hi = $c }
    END { if (!n) print "n/a"; else printf "%.0f–%.0f", lo, hi }' "$RESULTS"
}
total() {  # total relay size column, over all runs
  awk -F'\t' -v r="$1" -v s="$2" -v c="$3" 'NR > 1 && $1 == r && $2 == s { t += $c; n++ }
    END { if (!n) print "n/a"; else print t }' "$RESULTS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "n/a") print x; else printf "%.*f", d, x }'; }
human_size() { awk -v b="$1" 'BEGIN { if (b >= 1024 && b % 1024 == 0) printf "%d KiB", b / 1024; else printf "%d B", b }'; }

row() {  # row label ours haproxy decimals better target
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(fmt "$2" "$4")" "$(fmt "$3" "$4")" "$(ratio "$2" "$3")" "$5" "$6"
}

version_of() { "$@" 2>&1 | head -n1 || true; }
REPORT="$RUN/report.md"
{
  echo "# Relay benchmark: datadog-fips-proxy vs HAProxy 2.6"
  echo
  echo "Command: \`${BENCH_COMMAND:-tests/Bench/bench.sh}\` with BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP" \
       "BENCH_ROUNDS=$ROUNDS BENCH_IDLE=$IDLE BENCH_CONNECTIONS=$CONNS BENCH_THREADS=$THREADS BENCH_NGINX_WORKERS=$NGINX_WORKERS"
  echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); load run took $(( $(date +%s) - T0 )) s"
  echo
  echo "wrk ($THREADS threads, $CONNS keep-alive connections, POST bodies of $(for s in $SIZES; do human_size "$s"; echo -n ', '; done | sed 's/, $//'))" \
       "-> relay on 127.0.0.1:$FRONT_PORT (mode http) -> TLS 1.2 -> nginx intake on 127.0.0.1:$INTAKE_PORT answering 202."
  echo "Each figure is the median of $ROUNDS runs of ${DURATION} s (after ${WARMUP} s warm-up), runs alternating ours/haproxy, a fresh relay process per run."
  echo "Ratio = ours / haproxy. cfg: $CFG_ORIGIN."
  echo "Upstream handshakes are counted at the intake (one log line per new TLS connection) over the measured window;"
  echo "each run's $CONNS new client connections can each open one (HAProxy's default \`http-reuse safe\` sends a session's first request on its own connection), so short runs show more per 10k."
  echo
  echo "| metric | ours | haproxy | ratio | better | target |"
  echo "|---|---|---|---|---|---|"
  for size in $SIZES; do
    h=$(human_size "$size")
    row "requests/s, $h" "$(median ours "$size" 4)" "$(median haproxy "$size" 4)" 0 "higher" "ratio >= 1"
    printf '| requests/s spread (min–max of runs), %s | %s | %s |  |  |  |\n' "$h" "$(spread ours "$size" 4)" "$(spread haproxy "$size" 4)"
    row "p50 latency ms, $h" "$(median ours "$size" 5)" "$(median haproxy "$size" 5)" 2 "lower" ""
    row "p99 latency ms, $h" "$(median ours "$size" 6)" "$(median haproxy "$size" 6)" 2 "lower" "ratio <= 1"
    row "CPU s per 10k requests, $h" "$(median ours "$size" 7)" "$(median haproxy "$size" 7)" 3 "lower" ""
    row "upstream TLS handshakes per 10k requests, $h" "$(median ours "$size" 8)" "$(median haproxy "$size" 8)" 2 "lower" ""
    row "… of which resumed (abbreviated), $h" "$(median ours "$size" 9)" "$(median haproxy "$size" 9)" 2 "" ""
    row "peak RSS MB, $h" "$(median ours "$size" 10)" "$(median haproxy "$size" 10)" 1 "lower" "ours < 50"
    row "non-2xx responses, all runs, $h" "$(total ours "$size" 11)" "$(total haproxy "$size" 11)" 0 "" "0"
    row "socket errors (connect/read/write/timeout), all runs, $h" "$(total ours "$size" 12)" "$(total haproxy "$size" 12)" 0 "" "0"
  done
  row "idle RSS MB (after ${IDLE} s)" "${IDLE_RSS[ours]:-n/a}" "${IDLE_RSS[haproxy]:-n/a}" 1 "lower" ""
  row "idle CPU s over ${IDLE} s" "${IDLE_CPU[ours]:-n/a}" "${IDLE_CPU[haproxy]:-n/a}" 2 "lower" "~0"
  echo
  if [ -n "${BROKEN[ours]:-}" ]; then echo "**ours: n/a** — ${BROKEN[ours]}"; echo; fi
  echo "## Machine"
  echo
  echo "- nproc: $(nproc); CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- kernel: $(uname -sr); memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- load average at start / end of the load runs: $LOAD0 / $LOAD1 (everything shares these cores: wrk, relay, intake, and any other work on the machine)"
  echo "- threads of the relay process: ours ${THREADS_SEEN[ours]:-n/a}, haproxy ${THREADS_SEEN[haproxy]:-n/a} (both at their defaults; HAProxy 2.6's nbthread defaults to the usable CPUs)"
  echo "- haproxy: $(version_of "$HAPROXY" -v)"
  echo "- ours: $(if [ -x "$OURS" ]; then version_of "$OURS" -v; else echo "not built"; fi)"
  echo "- nginx: $(version_of nginx -v), $NGINX_WORKERS worker(s); wrk: $(version_of wrk -v | awk '{ print $1, $2 }'); openssl: $(version_of openssl version)"
  echo
  echo "## Runs"
  echo
  echo '```'
  column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
  echo '```'
  echo
  echo "## The cfg both relays ran"
  echo
  echo '```'
  sed "s#$RUN#<run>#g" "$CFG"
  echo '```'
} > "$REPORT"

mkdir -p "$OUT"
cp "$REPORT" "$OUT/report.md"
cp "$RESULTS" "$OUT/runs.tsv"
cat "$REPORT"
log "written to ${OUT#"$ROOT"/}/report.md"
