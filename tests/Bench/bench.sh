#!/usr/bin/env bash
# The relay benchmark (issues 3 and 9): wrk -> relay -> a local TLS intake (nginx answering 202),
# for our relay (A) and HAProxy 2.6 (B) with the same cfg, measured in the same run with
# alternating A/B runs, reported as ours | haproxy | ratio, every ratio of every pair of runs
# (never only the best). A measurement, not a test: it fails only when the harness itself cannot
# run (no intake, HAProxy not relaying).
#
#   tests/Bench/bench.sh            (normally through ./build.sh bench, which builds first)
#
# Four parts, in this order (the defaults keep the whole run under 10 minutes on 2 cores):
#   shapes      for each load shape in BENCH_SHAPES and each body size: ROUNDS pairs of runs,
#               a fresh relay process per run (A B, B A, A B ...: the order turns every pair.
#               An A/A control, HAProxy in both slots, gave the slot that always ran first 0.95
#               of the other over 8 pairs and 0.92 over the long-lived part's 5: within the
#               noise, but a lean no relay should get from its place in the order. With the
#               order turned, the same control gave 1.04 and 0.99).
#   long-lived  both relays started once and kept: idle first (RSS, CPU), then BENCH_LONG_RUNS
#               short runs alternating A/B on the same two processes (what an appliance lives
#               through: connections come and go, the process stays), then idle again.
#   churn       `Connection: close` at full rate for BENCH_CHURN seconds, a fresh relay each:
#               peak fds and RSS during the run and what is left after it.
# The report also pools every pair's ratio of all shapes per body size (req/s, CPU per request,
# p99) into a geometric mean with a 95 % interval and says whether the gap is larger than the noise.
#
# Environment:
#   BENCH_SHAPES="1x1 1x2 2x1 2x2"   load shapes <wrk threads>x<nginx workers>
#                                     (when unset, BENCH_THREADS x BENCH_NGINX_WORKERS if either is set)
#   BENCH_SIZES="1024 262144"        POST body sizes in bytes       BENCH_CONNECTIONS=64  keep-alive connections
#   BENCH_DURATION=8  seconds measured per run   BENCH_WARMUP=2  seconds before each run   BENCH_ROUNDS=2 pairs per shape and size
#   BENCH_LONG_RUNS=5 short runs per relay and size on one process (0 skips)   BENCH_LONG_DURATION=3 seconds each
#   BENCH_IDLE=15     idle observation, seconds, before and after the long-lived runs
#   BENCH_CHURN=8     seconds of `Connection: close` per relay (0 skips)   BENCH_CHURN_CONNECTIONS=16
#   BENCH_PORT_OFFSET=20000 (98xx -> 298xx; the long-lived pair uses two ranges above it)
#   BENCH_OURS=artifacts/bin/datadog-fips-proxy   BENCH_HAPROXY=/usr/sbin/haproxy
#   (BENCH_OURS=tests/Bench/haproxy-as-ours.sh is an A/A control: the ratios then measure noise)
#   BENCH_EXAMPLE=<file>   the cfg to derive from (default src/dist/datadog-fips-proxy.cfg.example;
#                          tests/Bench/relay.cfg.in stands in while that file is absent)
#   BENCH_CFG=<file>       a cfg template used as is (@INTAKE_PORT@ @CA@ @FRONT_PORT@ @PORT_OFFSET@)
#   BENCH_KEEP=1           keep the run directory (logs, cfg, certificates) for inspection
#   BENCH_LOG=sink         where the cfg's global `log` lines send access lines (derived cfg only):
#                          sink   = a UDP socket of this run that never reads (every line is sent
#                                   and costs both relays the same; the kernel drops it at the sink);
#                          none   = no log line (the relay alone);
#                          as-is  = the shipped 127.0.0.1 local0 (port 514). Where nothing listens
#                                   there, HAProxy still sends every line and the kernel answers each
#                                   with an ICMP port unreachable (measured: 24 us of HAProxy's CPU
#                                   per 1 KiB request), while ours stops sending for a second after a
#                                   refusal: the ratio then measures mostly that, not the relay.
#
# Counts per request that do not depend much on the machine's load are reported next to the
# rates: CPU time (utime+stime from /proc), context switches (voluntary + involuntary, summed
# over the relay's threads from /proc/<pid>/task/*/status; a thread that exits during a run
# takes its count with it), threads, upstream TLS handshakes and how many were resumed (nginx
# logs $ssl_session_reused for each new connection).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/Bench"
OUT="$ROOT/artifacts/bench"
DURATION=${BENCH_DURATION:-8}
WARMUP=${BENCH_WARMUP:-2}
ROUNDS=${BENCH_ROUNDS:-2}
IDLE=${BENCH_IDLE:-15}
SIZES=${BENCH_SIZES:-"1024 262144"}
CONNS=${BENCH_CONNECTIONS:-64}
if [ -n "${BENCH_SHAPES:-}" ]; then SHAPES=$BENCH_SHAPES
elif [ -n "${BENCH_THREADS:-}${BENCH_NGINX_WORKERS:-}" ]; then SHAPES="${BENCH_THREADS:-2}x${BENCH_NGINX_WORKERS:-2}"
else SHAPES="1x1 1x2 2x1 2x2"; fi
LONG_RUNS=${BENCH_LONG_RUNS:-5}
LONG_DURATION=${BENCH_LONG_DURATION:-3}
CHURN=${BENCH_CHURN:-8}
CHURN_CONNS=${BENCH_CHURN_CONNECTIONS:-16}
LOG_MODE=${BENCH_LOG:-sink}
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
[[ $LOG_MODE =~ ^(sink|none|as-is)$ ]] || die "BENCH_LOG: '$LOG_MODE' is not sink, none or as-is"
for shape in $SHAPES; do
  [[ $shape =~ ^[0-9]+x([0-9]+|auto)$ ]] || die "BENCH_SHAPES: '$shape' is not <wrk threads>x<nginx workers>"
done

RUN=$(mktemp -d /tmp/fips-bench.XXXXXX)
STARTED=()          # every process this script started, stopped by pid at exit
T_START=$(date +%s)

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
# Three relay port ranges (the product's 9803-9818 moved): the per-run relays, and the long-lived
# pair (ours, haproxy), which run side by side. The intake sits at 9900 + OFFSET.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
LONG_OURS_SHIFT=40 LONG_HAPROXY_SHIFT=60
for ((try = 0; try < 20; try++)); do
  busy=""
  for base in $OFFSET $((OFFSET + LONG_OURS_SHIFT)) $((OFFSET + LONG_HAPROXY_SHIFT)); do
    for p in $(seq $((9803 + base)) $((9818 + base))); do port_busy "$p" && { busy=$p; break 2; }; done
  done
  port_busy $((9900 + OFFSET)) && busy=$((9900 + OFFSET))
  [ -z "$busy" ] && break
  OFFSET=$((OFFSET + 1000))
done
[ -z "$busy" ] || die "no free port range found (last busy: $busy)"
INTAKE_PORT=$((9900 + OFFSET))
LOG_PORT=$((9514 + OFFSET))

# --- the syslog sink: bound, never read (BENCH_LOG=sink) -------------------------------------
LOG_TARGET=""
case $LOG_MODE in
  none) LOG_TARGET=none ;;
  sink)
    command -v python3 >/dev/null || die "python3 is missing (the syslog sink; or run with BENCH_LOG=none)"
    python3 -c 'import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
signal.pause()' "$LOG_PORT" &
    STARTED+=("$!")
    sleep 0.3
    kill -0 "$!" 2>/dev/null || die "the syslog sink could not bind 127.0.0.1:$LOG_PORT (udp)"
    LOG_TARGET=127.0.0.1:$LOG_PORT ;;
esac
front_port() { echo $((9804 + $1)); }   # the metrics frontend of a range

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

fill() {  # fill template file offset [workers]: replaces @NAME@ placeholders
  sed -e "s#@RUN@#$RUN#g" -e "s#@INTAKE_PORT@#$INTAKE_PORT#g" -e "s#@FRONT_PORT@#$(front_port "$3")#g" \
      -e "s#@PORT_OFFSET@#$3#g" -e "s#@CA@#$RUN/ca.pem#g" -e "s#@NGINX_WORKERS@#${4:-auto}#g" "$1" > "$2"
}

# --- the cfg both relays get (one per port range) -------------------------------------------
make_cfg() {  # make_cfg offset file
  if [ -n "${BENCH_CFG:-}" ]; then
    fill "$BENCH_CFG" "$2" "$1"; CFG_ORIGIN="$BENCH_CFG (template)"
  elif [ -f "$EXAMPLE" ]; then
    awk -v PORT_OFFSET="$1" -v INTAKE_PORT="$INTAKE_PORT" -v CA="$RUN/ca.pem" -v LOG="$LOG_TARGET" \
        -f "$HERE/derive-cfg.awk" "$EXAMPLE" > "$2"
    CFG_ORIGIN="${EXAMPLE#"$ROOT"/}, derived by tests/Bench/derive-cfg.awk; access log: BENCH_LOG=$LOG_MODE$([ "$LOG_MODE" != sink ] || echo " (127.0.0.1:$LOG_PORT, bound and never read: both relays send every line)")"
  else
    fill "$HERE/relay.cfg.in" "$2" "$1"
    CFG_ORIGIN="tests/Bench/relay.cfg.in (the shipped example is not in this tree yet)"
  fi
}
CFG="$RUN/relay.cfg";               make_cfg "$OFFSET" "$CFG"
CFG_LONG_OURS="$RUN/relay-long-ours.cfg"; make_cfg $((OFFSET + LONG_OURS_SHIFT)) "$CFG_LONG_OURS"
CFG_LONG_HAPROXY="$RUN/relay-long-haproxy.cfg"; make_cfg $((OFFSET + LONG_HAPROXY_SHIFT)) "$CFG_LONG_HAPROXY"
"$HAPROXY" -c -q -f "$CFG" >"$RUN/haproxy-check.log" 2>&1 \
  || { cat "$RUN/haproxy-check.log" >&2; die "haproxy rejects the bench cfg"; }

# --- the intake: one nginx at a time, restarted when the shape needs another worker count ---
NGINX_PID=""
NGINX_WORKERS_NOW=""
mkdir -p "$RUN"/nginx-{body,proxy,fastcgi,uwsgi,scgi}
touch "$RUN/handshakes.log"
start_nginx() {  # start_nginx workers
  [ "$NGINX_WORKERS_NOW" = "$1" ] && [ -n "$NGINX_PID" ] && return 0
  [ -z "$NGINX_PID" ] || stop_pid "$NGINX_PID"
  fill "$HERE/nginx.conf.in" "$RUN/nginx.conf" "$OFFSET" "$1"
  nginx -c "$RUN/nginx.conf" -p "$RUN" >"$RUN/nginx.out" 2>&1 &
  NGINX_PID=$!
  STARTED+=("$NGINX_PID")
  local i code
  for ((i = 0; i < 100; i++)); do port_busy "$INTAKE_PORT" && break; sleep 0.1; done
  port_busy "$INTAKE_PORT" || { cat "$RUN/nginx.out" "$RUN/nginx-error.log" >&2 2>/dev/null; die "the intake did not start"; }
  listener_pid_ok "$INTAKE_PORT" "$NGINX_PID" || die "intake: $WHY"
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$RUN/ca.pem" \
    --resolve "metrics.agent.ddog-gov.com:$INTAKE_PORT:127.0.0.1" -X POST --data-binary '{}' \
    "https://metrics.agent.ddog-gov.com:$INTAKE_PORT/api/v2/series") || true
  [ "$code" = 202 ] || die "the intake answers $code, not 202"
  NGINX_WORKERS_NOW=$1
  log "intake: nginx on 127.0.0.1:$INTAKE_PORT, $1 worker(s) (pid $NGINX_PID)"
}

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
rss_split() {  # "anon / file" MB of the tree: private memory apart from the binary's and libraries' mapped pages
  awk -v a="$(status_kb "$1" RssAnon)" -v f="$(status_kb "$1" RssFile)" 'BEGIN { printf "%.1f / %.1f", a / 1024, f / 1024 }'
}
ctx_switches() {  # voluntary + involuntary context switches, summed over every thread of the tree
  local total=0 p v
  for p in $(proc_tree "$1"); do
    v=$(cat /proc/"$p"/task/*/status 2>/dev/null | awk '$1 ~ /^(non)?voluntary_ctxt_switches:$/ { t += $2 } END { print t + 0 }')
    total=$((total + v))
  done
  echo "$total"
}
threads_of() {  # threads of the tree
  local total=0 p v
  for p in $(proc_tree "$1"); do
    v=$(awk '$1 == "Threads:" { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
fds_of() {  # open file descriptors of the tree
  local total=0 p
  for p in $(proc_tree "$1"); do total=$((total + $(ls "/proc/$p/fd" 2>/dev/null | wc -l))); done
  echo "$total"
}
handshakes() { wc -l < "$RUN/handshakes.log"; }
resumed() { awk '$2 == "r"' "$RUN/handshakes.log" | wc -l; }

# --- relays ---------------------------------------------------------------------------------
RELAY_PID=""
WHY=""
start_relay() {  # start_relay ours|haproxy cfg front_port logname ; sets RELAY_PID; on failure returns non-zero, reason in WHY
  local which=$1 cfg=$2 port=$3 logf="$RUN/$4.log" i
  WHY=""
  if [ "$which" = ours ]; then
    [ -x "$OURS" ] || { WHY="no binary at $OURS"; RELAY_PID=""; return 1; }
    "$OURS" -f "$cfg" >"$logf" 2>&1 &
  else
    # -db: foreground, one process (no master), HAProxy's default nbthread (= usable CPUs).
    "$HAPROXY" -db -f "$cfg" >"$logf" 2>&1 &
  fi
  RELAY_PID=$!
  STARTED+=("$RELAY_PID")
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$RELAY_PID" 2>/dev/null; then
      local rc=0; wait "$RELAY_PID" 2>/dev/null || rc=$?
      WHY="exited at start with status $rc: $(grep -v '^[[:space:]]*$' "$logf" 2>/dev/null | tail -n2 | tr '\n' ' ')"
      [ -s "$logf" ] || WHY="${WHY}(no output)"
      return 1
    fi
    if port_busy "$port"; then listener_pid_ok "$port" "$RELAY_PID"; return; fi
    sleep 0.1
  done
  WHY="not listening on $port after 10 s"
  return 1
}
probe_relay() {  # one POST through the relay must come back 202 (the answer is kept in $RUN/probe.txt)
  curl -sS -D "$RUN/probe.txt" -o /dev/null -w '%{http_code}' --max-time 5 -X POST --data-binary '{}' \
    "http://127.0.0.1:$1/api/v2/series" 2>/dev/null || true
}
listener_pid_ok() {  # listener_pid_ok port pid: only that process listens on the port (not someone else's relay)
  local owners tree o
  owners=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
  [ -n "$owners" ] || return 0          # ss cannot tell: the probe will
  tree=" $(proc_tree "$2" | tr '\n' ' ') "
  for o in $owners; do
    case "$tree" in *" $o "*) ;; *) WHY="port $1 is also listened on by pid $o, not the relay ($2): another process took the bench's ports"; return 1 ;; esac
  done
}

declare -A BROKEN=()     # relay -> why it could not be measured
RESULTS="$RUN/runs.tsv"
COLUMNS_TSV='part\tshape\trelay\tsize\tround\trps\tp50_ms\tp99_ms\tcpu_ms_per_1k\tctxsw_per_req\tthreads\thandshakes_per_10k\tresumed_per_10k\tpeak_rss_mb\trss_mb\tfds\tnon2xx\tsocket_errors\n'
printf "$COLUMNS_TSV" > "$RESULTS"

# measure relay pid port part shape size round threads conns duration [extra wrk args...]
# One wrk run against a running relay; appends a row to RESULTS. Returns non-zero when wrk produced nothing.
measure() {
  local relay=$1 pid=$2 port=$3 part=$4 shape=$5 size=$6 round=$7 wthreads=$8 conns=$9 dur=${10}
  shift 10
  local url="http://127.0.0.1:$port/" out="$RUN/wrk-$part-$shape-$relay-$size-$round.txt"
  local c0 h0 r0 x0 c1 h1 r1 x1
  c0=$(cpu_ticks "$pid"); h0=$(handshakes); r0=$(resumed); x0=$(ctx_switches "$pid")
  BENCH_BODY_BYTES=$size timeout $((dur + 30)) \
    wrk -t"$wthreads" -c"$conns" -d"${dur}s" --timeout 10s --latency -s "$HERE/post.lua" "$@" "$url" >"$out" 2>&1 || true
  c1=$(cpu_ticks "$pid"); h1=$(handshakes); r1=$(resumed); x1=$(ctx_switches "$pid")
  local hwm rss thr fds line
  hwm=$(status_kb "$pid" VmHWM); rss=$(status_kb "$pid" VmRSS); thr=$(threads_of "$pid"); fds=$(fds_of "$pid")
  line=$(grep '^BENCH ' "$out" || true)
  [ -n "$line" ] || return 1
  awk -v part="$part" -v shape="$shape" -v relay="$relay" -v size="$size" -v round="$round" -v dt=$((c1 - c0)) -v tck="$TCK" \
      -v hs=$((h1 - h0)) -v rs=$((r1 - r0)) -v cs=$((x1 - x0)) -v hwm="$hwm" -v rss="$rss" -v thr="$thr" -v fds="$fds" -v line="$line" 'BEGIN {
    n = split(line, kv, " ")
    for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    req = v["requests"]; per10k = req > 0 ? 10000 / req : 0
    printf "%s\t%s\t%s\t%d\t%d\t%.0f\t%.3f\t%.3f\t%.1f\t%.2f\t%d\t%.2f\t%.2f\t%.1f\t%.1f\t%d\t%d\t%d\n", part, shape, relay, size, round,
      req / (v["duration_us"] / 1e6), v["p50_us"] / 1000, v["p99_us"] / 1000,
      dt / tck * per10k * 100, (req > 0 ? cs / req : 0), thr, hs * per10k, rs * per10k, hwm / 1024, rss / 1024, fds,
      v["non2xx"], v["err_connect"] + v["err_read"] + v["err_write"] + v["err_timeout"]
  }' >> "$RESULTS"
  tail -n1 "$RESULTS" | awk -F'\t' '{ printf "==>   %-10s %-5s %-8s %7s B  #%s: %8s req/s  p99 %s ms  %s ctxsw/req  %s thr  non-2xx %s  errors %s\n", $1, $2, $3, $4, $5, $6, $8, $10, $11, $17, $18 }' >&2
}

# --- part 1: shapes, a fresh relay per run --------------------------------------------------
run_fresh() {  # run_fresh relay shape wrk_threads size round
  local relay=$1 shape=$2 wthreads=$3 size=$4 round=$5 port code
  port=$(front_port "$OFFSET")
  if ! start_relay "$relay" "$CFG" "$port" "$relay"; then
    [ "$relay" = haproxy ] && die "haproxy did not start: $WHY"
    BROKEN[$relay]=$WHY; [ -z "$RELAY_PID" ] || stop_pid "$RELAY_PID"; return
  fi
  code=$(probe_relay "$port")
  if [ "$code" != 202 ]; then
    local said; said="$(head -n1 "$RUN/probe.txt" 2>/dev/null | tr -d '\r'); relay log: $(grep -v '^\[NOTICE\]' "$RUN/$relay.log" | tail -n2 | tr '\n' ' ')"
    [ "$relay" = haproxy ] && die "haproxy does not relay (probe answered ${code:-nothing}: $said)"
    BROKEN[$relay]="probe POST answered ${code:-nothing}, not 202 ($said)"; stop_pid "$RELAY_PID"; return
  fi
  BENCH_BODY_BYTES=$size timeout $((WARMUP + 30)) \
    wrk -t"$wthreads" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$HERE/post.lua" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
  if ! measure "$relay" "$RELAY_PID" "$port" shapes "$shape" "$size" "$round" "$wthreads" "$CONNS" "$DURATION" \
     || ! kill -0 "$RELAY_PID" 2>/dev/null; then
    [ "$relay" = haproxy ] && die "the haproxy run produced no result"
    BROKEN[$relay]="run failed (relay alive: $(kill -0 "$RELAY_PID" 2>/dev/null && echo yes || echo no))"
  fi
  stop_pid "$RELAY_PID"
}

# The two relays in the order of pair <n>: ours first in odd pairs, HAProxy first in even ones.
pair_order() { if (( $1 % 2 )); then echo ours haproxy; else echo haproxy ours; fi; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
# Shapes grouped by intake worker count, so nginx restarts once per count.
for workers in $(for s in $SHAPES; do echo "${s#*x}"; done | awk '!seen[$0]++'); do
  start_nginx "$workers"
  for shape in $SHAPES; do
    [ "${shape#*x}" = "$workers" ] || continue
    for ((round = 1; round <= ROUNDS; round++)); do
      for size in $SIZES; do
        log "shape $shape (wrk -t${shape%x*}, nginx $workers worker(s)), ${size}-byte POSTs, pair $round/$ROUNDS"
        for relay in $(pair_order "$round"); do
          [ -n "${BROKEN[$relay]:-}" ] && continue
          run_fresh "$relay" "$shape" "${shape%x*}" "$size" "$round"
        done
      done
    done
  done
done
T_SHAPES=$(( $(date +%s) - T0 ))

# --- part 2: one relay process each, kept across many short runs ----------------------------
declare -A LONG_PID=() IDLE_SPLIT0=() IDLE_SPLIT1=() IDLE_RSS0=() IDLE_CPU0=() IDLE_THR0=() IDLE_FDS0=() IDLE_RSS1=() IDLE_CPU1=() IDLE_FDS1=() IDLE_THR1=()
T1=$(date +%s)
if [ "$LONG_RUNS" -gt 0 ] || [ "$IDLE" -gt 0 ]; then
  start_nginx auto
  declare -A LONG_CFG=([ours]=$CFG_LONG_OURS [haproxy]=$CFG_LONG_HAPROXY)
  declare -A LONG_PORT=([ours]=$(front_port $((OFFSET + LONG_OURS_SHIFT))) [haproxy]=$(front_port $((OFFSET + LONG_HAPROXY_SHIFT))))
  for relay in ours haproxy; do
    [ -n "${BROKEN[$relay]:-}" ] && continue
    if ! start_relay "$relay" "${LONG_CFG[$relay]}" "${LONG_PORT[$relay]}" "$relay-long"; then
      [ "$relay" = haproxy ] && die "haproxy did not start: $WHY"
      BROKEN[$relay]=$WHY; continue
    fi
    LONG_PID[$relay]=$RELAY_PID
  done
  sleep 1                       # let start-up work (FIPS self-test, CA load) finish
  log "idle: both relays for ${IDLE}s (fresh processes)"
  declare -A c0=()
  for relay in "${!LONG_PID[@]}"; do c0[$relay]=$(cpu_ticks "${LONG_PID[$relay]}"); done
  sleep "$IDLE"
  for relay in "${!LONG_PID[@]}"; do
    pid=${LONG_PID[$relay]}
    IDLE_CPU0[$relay]=$(awk -v t=$(( $(cpu_ticks "$pid") - ${c0[$relay]} )) -v h="$TCK" 'BEGIN { printf "%.2f", t / h }')
    IDLE_RSS0[$relay]=$(awk -v k="$(status_kb "$pid" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
    IDLE_SPLIT0[$relay]=$(rss_split "$pid")
    IDLE_THR0[$relay]=$(threads_of "$pid"); IDLE_FDS0[$relay]=$(fds_of "$pid")
  done
  for ((run = 1; run <= LONG_RUNS; run++)); do
    for size in $SIZES; do
      for relay in $(pair_order "$run"); do
        [ -n "${LONG_PID[$relay]:-}" ] || continue
        [ -n "${BROKEN[$relay]:-}" ] && continue
        if ! measure "$relay" "${LONG_PID[$relay]}" "${LONG_PORT[$relay]}" long-lived 2xauto "$size" "$run" 2 "$CONNS" "$LONG_DURATION" \
           || ! kill -0 "${LONG_PID[$relay]}" 2>/dev/null; then
          [ "$relay" = haproxy ] && die "the long-lived haproxy run produced no result"
          BROKEN[$relay]="long-lived run $run failed"
        fi
      done
    done
  done
  log "idle: both relays for ${IDLE}s after the runs"
  for relay in "${!LONG_PID[@]}"; do c0[$relay]=$(cpu_ticks "${LONG_PID[$relay]}"); done
  sleep "$IDLE"
  for relay in "${!LONG_PID[@]}"; do
    pid=${LONG_PID[$relay]}
    IDLE_CPU1[$relay]=$(awk -v t=$(( $(cpu_ticks "$pid") - ${c0[$relay]} )) -v h="$TCK" 'BEGIN { printf "%.2f", t / h }')
    IDLE_RSS1[$relay]=$(awk -v k="$(status_kb "$pid" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
    IDLE_SPLIT1[$relay]=$(rss_split "$pid")
    IDLE_THR1[$relay]=$(threads_of "$pid"); IDLE_FDS1[$relay]=$(fds_of "$pid")
    stop_pid "$pid"
  done
fi
T_LONG=$(( $(date +%s) - T1 ))

# --- part 3: connection churn (`Connection: close` at full rate) ----------------------------
declare -A CHURN_PEAK_FDS=() CHURN_PEAK_RSS=() CHURN_AFTER_FDS=() CHURN_AFTER_RSS=()
T2=$(date +%s)
if [ "$CHURN" -gt 0 ]; then
  start_nginx auto
  for relay in ours haproxy; do
    [ -n "${BROKEN[$relay]:-}" ] && continue
    port=$(front_port "$OFFSET")
    if ! start_relay "$relay" "$CFG" "$port" "$relay-churn"; then
      [ "$relay" = haproxy ] && die "haproxy did not start: $WHY"
      BROKEN[$relay]=$WHY; continue
    fi
    pid=$RELAY_PID
    log "churn: $relay, Connection: close, $CHURN_CONNS connections, ${CHURN}s"
    # Sample fds and RSS while wrk runs (every 0.5 s), then what is left 2 s after.
    ( peak_f=0 peak_r=0
      while kill -0 "$pid" 2>/dev/null && [ ! -e "$RUN/churn-$relay.done" ]; do
        f=$(fds_of "$pid"); r=$(status_kb "$pid" VmRSS)
        ((f > peak_f)) && peak_f=$f; ((r > peak_r)) && peak_r=$r
        echo "$peak_f $peak_r" > "$RUN/churn-$relay.peak"
        sleep 0.5
      done ) &
    sampler=$!
    measure "$relay" "$pid" "$port" churn close "${SIZES%% *}" 1 1 "$CHURN_CONNS" "$CHURN" -H "Connection: close" \
      || log "churn: $relay produced no wrk result"
    touch "$RUN/churn-$relay.done"; wait "$sampler" 2>/dev/null || true
    read -r pf pr < "$RUN/churn-$relay.peak" || { pf=0; pr=0; }
    CHURN_PEAK_FDS[$relay]=$pf; CHURN_PEAK_RSS[$relay]=$(awk -v k="$pr" 'BEGIN { printf "%.1f", k / 1024 }')
    sleep 2
    CHURN_AFTER_FDS[$relay]=$(fds_of "$pid"); CHURN_AFTER_RSS[$relay]=$(awk -v k="$(status_kb "$pid" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
    stop_pid "$pid"
  done
fi
T_CHURN=$(( $(date +%s) - T2 ))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------------
col() {  # col part shape relay size column -> values, one per line
  awk -F'\t' -v a="$1" -v s="$2" -v r="$3" -v z="$4" -v c="$5" 'NR > 1 && $1 == a && $2 == s && $3 == r && $4 == z { print $c }' "$RESULTS"
}
median() { sort -g | awk '{ v[n++] = $1 } END { if (!n) print "n/a"; else print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2 }'; }
total() { awk '{ t += $1; n++ } END { print n ? t : "n/a" }'; }
ratios() {  # ratios part shape size column: ours/haproxy of each pair of runs (same round), space-separated
  awk -F'\t' -v a="$1" -v s="$2" -v z="$3" -v c="$4" 'NR > 1 && $1 == a && $2 == s && $4 == z { v[$3, $5] = $c; if ($5 > m) m = $5 }
    END { for (i = 1; i <= m; i++) if ((("ours", i) in v) && (("haproxy", i) in v) && v["haproxy", i] > 0) printf "%s%.2f", (k++ ? " " : ""), v["ours", i] / v["haproxy", i] }' "$RESULTS"
}
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "n/a" || x == "") print "n/a"; else printf "%.*f", d, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
human_size() { awk -v b="$1" 'BEGIN { if (b >= 1024 && b % 1024 == 0) printf "%d KiB", b / 1024; else printf "%d B", b }'; }
pair() { printf '%s / %s' "$(fmt "$1" "$3")" "$(fmt "$2" "$3")"; }   # "ours / haproxy"
# pooled <size> <column> <lower is better: 0|1> <part> <shape>... : every pair's ratio of those
# shapes pooled into a geometric mean with a 95 % interval (Student's t on the logs).
# Shapes differ, so this is the ratio on average over them; a single shape's two pairs bound nothing
# (t = 12.7 at one degree of freedom), and pairs of the same relay moved by +-0.3 on this machine.
pooled() {
  local size=$1 column=$2 lower=$3 part=$4 shape; shift 4
  for shape in "$@"; do ratios "$part" "$shape" "$size" "$column"; echo; done | tr ' ' '\n' | grep -v '^$' \
    | awk -v lower="$lower" '$1 > 0 { l[n++] = log($1); s += log($1) }
      END {
        if (n < 2) { print "n/a | n/a | " n " | n/a"; exit }
        m = s / n; for (i = 0; i < n; i++) v += (l[i] - m) ^ 2; sd = sqrt(v / (n - 1))
        split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086", t, " ")
        q = (n - 1 <= 20) ? t[n - 1] : (n - 1 <= 30 ? 2.042 : 1.96)
        lo = exp(m - q * sd / sqrt(n)); hi = exp(m + q * sd / sqrt(n))
        # "ahead" and "behind" from where ours is better: above 1 for rates, below 1 for costs.
        if (lower) { a = lo; lo = 1 / hi; hi = 1 / a; g = 1 / exp(m) } else g = exp(m)
        verdict = (lo > 1) ? "ahead" : (hi < 1 ? "behind" : "not distinguishable from level")
        if (lo >= 1.1) verdict = "ahead by 1.1x or more"
        printf "%.2f | %.2f-%.2f | %d | %s\n", g, lo, hi, n, verdict
      }'
}
med() { col "$@" | median; }

# One table row per shape and size: the medians, the ratio of the medians, and every pair's ratio.
shape_rows() {  # shape_rows part shape
  local part=$1 shape=$2 size h o x
  for size in $SIZES; do
    h=$(human_size "$size")
    o=$(med "$part" "$shape" ours "$size" 6); x=$(med "$part" "$shape" haproxy "$size" 6)
    printf '| %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$shape" "$h" \
      "$(pair "$o" "$x" 0)" "$(ratio "$o" "$x")" "$(ratios "$part" "$shape" "$size" 6)" \
      "$(pair "$(med "$part" "$shape" ours "$size" 8)" "$(med "$part" "$shape" haproxy "$size" 8)" 1)" \
      "$(ratios "$part" "$shape" "$size" 8)" \
      "$(pair "$(med "$part" "$shape" ours "$size" 9)" "$(med "$part" "$shape" haproxy "$size" 9)" 1)" \
      "$(pair "$(med "$part" "$shape" ours "$size" 10)" "$(med "$part" "$shape" haproxy "$size" 10)" 2)" \
      "$(pair "$(med "$part" "$shape" ours "$size" 11)" "$(med "$part" "$shape" haproxy "$size" 11)" 0)" \
      "$(fmt "$(med "$part" "$shape" ours "$size" 12)" 1) ($(fmt "$(med "$part" "$shape" ours "$size" 13)" 1)) / $(fmt "$(med "$part" "$shape" haproxy "$size" 12)" 1) ($(fmt "$(med "$part" "$shape" haproxy "$size" 13)" 1))" \
      "$(pair "$(med "$part" "$shape" ours "$size" 14)" "$(med "$part" "$shape" haproxy "$size" 14)" 1)"
  done
}
TABLE_HEAD='| shape | body | req/s ours / haproxy | ratio | every pair'"'"'s ratio | p99 ms | every pair'"'"'s p99 ratio | CPU ms per 1k req | ctx switches per req | threads | upstream handshakes (resumed) per 10k req | peak RSS MB |
|---|---|---|---|---|---|---|---|---|---|---|---|'

version_of() { "$@" 2>&1 | head -n1 || true; }
REPORT="$RUN/report.md"
{
  echo "# Relay benchmark: datadog-fips-proxy vs HAProxy 2.6"
  echo
  echo "Command: \`${BENCH_COMMAND:-tests/Bench/bench.sh}\` with BENCH_SHAPES=\"$SHAPES\" BENCH_SIZES=\"$SIZES\" BENCH_DURATION=$DURATION" \
       "BENCH_WARMUP=$WARMUP BENCH_ROUNDS=$ROUNDS BENCH_CONNECTIONS=$CONNS BENCH_LONG_RUNS=$LONG_RUNS BENCH_LONG_DURATION=$LONG_DURATION" \
       "BENCH_IDLE=$IDLE BENCH_CHURN=$CHURN BENCH_CHURN_CONNECTIONS=$CHURN_CONNS"
  echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); whole run $(( $(date +%s) - T_START )) s (shapes $T_SHAPES s, long-lived $T_LONG s, churn $T_CHURN s)"
  echo
  echo "wrk (POST bodies of $(for s in $SIZES; do human_size "$s"; echo -n ', '; done | sed 's/, $//'))" \
       "-> relay on 127.0.0.1 (mode http) -> TLS -> nginx intake on 127.0.0.1:$INTAKE_PORT answering 202."
  echo "A cell \`a / b\` is ours / haproxy; ratio = ours / haproxy, of the medians; \"every pair\" lists ours / haproxy of each pair of runs made back to back (ours first in odd pairs, HAProxy first in even ones)."
  echo "cfg: $CFG_ORIGIN. Upstream handshakes are counted at the intake (one log line per new TLS connection; \`r\` = resumed)."
  echo
  echo "## Load shapes (a fresh relay process per run, $ROUNDS pair(s) of ${DURATION} s runs after ${WARMUP} s warm-up, $CONNS keep-alive connections)"
  echo
  echo "Shape = <wrk threads>x<nginx workers>. Each run starts $CONNS new client connections, and HAProxy's default \`http-reuse safe\` (which ours follows) sends each one's first request on a new upstream connection, so short runs show more handshakes per 10k."
  echo
  echo "$TABLE_HEAD"
  for shape in $SHAPES; do shape_rows shapes "$shape"; done
  echo
  echo "Worst requests/s ratio over every pair of every shape: $(for shape in $SHAPES; do for size in $SIZES; do ratios shapes "$shape" "$size" 6; echo; done; done | tr ' ' '\n' | grep -v '^$' | sort -g | head -n1)"
  echo
  echo "## Pooled over the shapes (every pair's ratio, geometric mean, 95 % interval)"
  echo
  echo "Ours over HAProxy, written so that above 1 is ours ahead: req/s as measured, CPU per request and p99 inverted (HAProxy's over ours)."
  echo "A shape's own two pairs bound nothing; pooled, the interval says whether a gap is larger than this machine's noise."
  echo
  echo "| part | body | metric | pooled | 95 % interval | pairs | verdict |"
  echo "|---|---|---|---|---|---|---|"
  for size in $SIZES; do
    for metric in "req/s:6:0" "CPU per request:9:1" "p99:8:1"; do
      IFS=: read -r name column lower <<<"$metric"
      echo "| shapes | $(human_size "$size") | $name | $(pooled "$size" "$column" "$lower" shapes $SHAPES) |"
      if [ "$LONG_RUNS" -gt 0 ]; then echo "| long-lived | $(human_size "$size") | $name | $(pooled "$size" "$column" "$lower" long-lived 2xauto) |"; fi
    done
  done
  echo
  if [ "$LONG_RUNS" -gt 0 ]; then
    echo "## Long-lived processes (one relay process each, $LONG_RUNS x ${LONG_DURATION} s runs per size, alternating, $CONNS new connections per run, wrk -t2, nginx auto workers)"
    echo
    echo "$TABLE_HEAD"
    shape_rows long-lived 2xauto
    echo
  fi
  echo "## Idle and memory (the long-lived processes)"
  echo
  echo "| metric | ours | haproxy | ratio |"
  echo "|---|---|---|---|"
  echo "| RSS MB, fresh, after ${IDLE} s idle | ${IDLE_RSS0[ours]:-n/a} | ${IDLE_RSS0[haproxy]:-n/a} | $(ratio "${IDLE_RSS0[ours]:-n/a}" "${IDLE_RSS0[haproxy]:-n/a}") |"
  echo "| of which anonymous / file-backed MB (file: the binary, libcrypto, the FIPS module, libc) | ${IDLE_SPLIT0[ours]:-n/a} | ${IDLE_SPLIT0[haproxy]:-n/a} |  |"
  echo "| CPU s over ${IDLE} s idle, fresh | ${IDLE_CPU0[ours]:-n/a} | ${IDLE_CPU0[haproxy]:-n/a} |  |"
  echo "| threads / fds, fresh | ${IDLE_THR0[ours]:-n/a} / ${IDLE_FDS0[ours]:-n/a} | ${IDLE_THR0[haproxy]:-n/a} / ${IDLE_FDS0[haproxy]:-n/a} |  |"
  echo "| RSS MB after the runs + ${IDLE} s idle | ${IDLE_RSS1[ours]:-n/a} | ${IDLE_RSS1[haproxy]:-n/a} | $(ratio "${IDLE_RSS1[ours]:-n/a}" "${IDLE_RSS1[haproxy]:-n/a}") |"
  echo "| of which anonymous / file-backed MB | ${IDLE_SPLIT1[ours]:-n/a} | ${IDLE_SPLIT1[haproxy]:-n/a} |  |"
  echo "| CPU s over ${IDLE} s idle after the runs | ${IDLE_CPU1[ours]:-n/a} | ${IDLE_CPU1[haproxy]:-n/a} |  |"
  echo "| threads / fds after the runs + idle | ${IDLE_THR1[ours]:-n/a} / ${IDLE_FDS1[ours]:-n/a} | ${IDLE_THR1[haproxy]:-n/a} / ${IDLE_FDS1[haproxy]:-n/a} |  |"
  echo
  if [ "$CHURN" -gt 0 ]; then
    echo "## Connection churn (\`Connection: close\` on every request, $CHURN_CONNS connections, ${CHURN} s, $(human_size "${SIZES%% *}"), a fresh relay each)"
    echo
    echo "| metric | ours | haproxy | ratio |"
    echo "|---|---|---|---|"
    o=$(med churn close ours "${SIZES%% *}" 6); x=$(med churn close haproxy "${SIZES%% *}" 6)
    echo "| requests/s | $(fmt "$o" 0) | $(fmt "$x" 0) | $(ratio "$o" "$x") |"
    echo "| p99 ms | $(fmt "$(med churn close ours "${SIZES%% *}" 8)" 1) | $(fmt "$(med churn close haproxy "${SIZES%% *}" 8)" 1) |  |"
    echo "| wrk errors (connect/read/write/timeout) / non-2xx | $(col churn close ours "${SIZES%% *}" 18 | total) / $(col churn close ours "${SIZES%% *}" 17 | total) | $(col churn close haproxy "${SIZES%% *}" 18 | total) / $(col churn close haproxy "${SIZES%% *}" 17 | total) |  |"
    echo "| peak fds during the run | ${CHURN_PEAK_FDS[ours]:-n/a} | ${CHURN_PEAK_FDS[haproxy]:-n/a} | $(ratio "${CHURN_PEAK_FDS[ours]:-n/a}" "${CHURN_PEAK_FDS[haproxy]:-n/a}") |"
    echo "| peak RSS MB during the run | ${CHURN_PEAK_RSS[ours]:-n/a} | ${CHURN_PEAK_RSS[haproxy]:-n/a} | $(ratio "${CHURN_PEAK_RSS[ours]:-n/a}" "${CHURN_PEAK_RSS[haproxy]:-n/a}") |"
    echo "| fds / RSS MB 2 s after the run | ${CHURN_AFTER_FDS[ours]:-n/a} / ${CHURN_AFTER_RSS[ours]:-n/a} | ${CHURN_AFTER_FDS[haproxy]:-n/a} / ${CHURN_AFTER_RSS[haproxy]:-n/a} |  |"
    echo "| CPU ms per 1k req / ctx switches per req | $(fmt "$(med churn close ours "${SIZES%% *}" 9)" 1) / $(fmt "$(med churn close ours "${SIZES%% *}" 10)" 2) | $(fmt "$(med churn close haproxy "${SIZES%% *}" 9)" 1) / $(fmt "$(med churn close haproxy "${SIZES%% *}" 10)" 2) |  |"
    echo "| upstream handshakes (resumed) per 10k req | $(fmt "$(med churn close ours "${SIZES%% *}" 12)" 0) ($(fmt "$(med churn close ours "${SIZES%% *}" 13)" 0)) | $(fmt "$(med churn close haproxy "${SIZES%% *}" 12)" 0) ($(fmt "$(med churn close haproxy "${SIZES%% *}" 13)" 0)) |  |"
    echo
  fi
  for relay in ours haproxy; do
    if [ -n "${BROKEN[$relay]:-}" ]; then echo "**$relay: n/a** — ${BROKEN[$relay]}"; echo; fi
  done
  echo "## Machine"
  echo
  echo "- nproc: $(nproc); CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- kernel: $(uname -sr); memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- load average at start / end: $LOAD0 / $LOAD1 (everything shares these cores: wrk, relay, intake, and any other work on the machine)"
  echo "- haproxy: $(version_of "$HAPROXY" -v) (nbthread defaults to the usable CPUs)"
  echo "- ours: $(if [ -x "$OURS" ]; then version_of "$OURS" -v; else echo "not built"; fi)"
  echo "- nginx: $(version_of nginx -v); wrk: $(version_of wrk -v | awk '{ print $1, $2 }'); openssl: $(version_of openssl version)"
  echo
  echo "## Runs"
  echo
  echo '```'
  column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
  echo '```'
  echo
  echo "## The cfg both relays ran (per-run relays; the long-lived pair differ only in their ports)"
  echo
  echo '```'
  sed "s#$RUN#<run>#g" "$CFG"
  echo '```'
} > "$REPORT"

mkdir -p "$OUT"
cp "$REPORT" "$OUT/report.md"
cp "$RESULTS" "$OUT/runs.tsv"
cat "$REPORT"
log "written to ${OUT#"$ROOT"/}/report.md ($(( $(date +%s) - T_START )) s)"
