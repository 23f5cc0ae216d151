#!/usr/bin/env bash
# ./build.sh fuzz [<target>|all] [seconds]: coverage-guided fuzzing with afl++ and SharpFuzz.
#
# Builds tests/Fuzz (JIT), instruments a copy of the product assembly (datadog-fips-proxy.dll) for the
# target's namespace with the sharpfuzz tool (tests/Fuzz/.config/dotnet-tools.json), and runs
# afl-fuzz under `nice -n 10` for <seconds> (default 600) per target, one target after another.
# Everything lands in artifacts/fuzz/<target>/: out/ (afl's last run), corpus/ (queue entries kept
# across runs and fed back as input), crashes/ and hangs/ (every finding of every run), and one line
# per run in artifacts/fuzz/report.md. Exit status 1 when a run found a crash.
#
# Seeds: tests/Fuzz/corpus/<target> (request-diff uses corpus/request). Replay a finding without afl:
#   dotnet artifacts/fuzz/build/FipsAppliance.Fuzz.dll <target> --replay <file|dir>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ="$ROOT/tests/Fuzz"
OUT="$ROOT/artifacts/fuzz"
TARGETS=(request request-diff response chunked cfg)

log() { printf '==> %s\n' "$*" >&2; }

target=${1:-all}
seconds=${2:-600}
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds > 0)) || { echo "seconds must be a positive integer" >&2; exit 2; }
if [ "$target" = all ]; then
  selected=("${TARGETS[@]}")
else
  [[ " ${TARGETS[*]} " == *" $target "* ]] || { echo "unknown target '$target'; targets: ${TARGETS[*]}" >&2; exit 2; }
  selected=("$target")
fi

# --- what it needs --------------------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null; then
  log "installing afl++"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi
(cd "$FUZZ" && dotnet tool restore >/dev/null)

log "building tests/Fuzz"
dotnet build "$FUZZ/FipsAppliance.Fuzz.csproj" -c Release -o "$OUT/build" -v quiet -nologo \
  | { grep -E 'warning|error' || true; }
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

namespace_of() {
  case "$1" in
    cfg) echo FipsAppliance.Configuration ;;
    *) echo FipsAppliance.Http.Parsing ;;
  esac
}

stat_of() { sed -n "s/^$1 *: *//p" "$2" | head -n1; }

# afl++ reads these; none changes the machine.
export AFL_SKIP_BIN_CHECK=1          # the target binary is `dotnet`; the instrumentation is in the IL
export AFL_SKIP_CPUFREQ=1            # no access to the CPU governor in a container
export AFL_NO_AFFINITY=1             # the cores are shared: do not pin one
export AFL_NO_UI=1
export AFL_FORKSRV_INIT_TMOUT=30000  # .NET start-up plus the first (JIT) run, on a busy machine
# SharpFuzz reports exceptions through the fork server, not by dumping core, so a core_pattern
# that pipes to a handler (usual in containers, and not settable there) loses nothing.
if [ "$(head -c1 /proc/sys/kernel/core_pattern 2>/dev/null)" = "|" ]; then
  export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
fi

status=0
for t in "${selected[@]}"; do
  dir="$OUT/$t"
  seeds="$FUZZ/corpus/${t%-diff}"
  mkdir -p "$dir/corpus" "$dir/crashes" "$dir/hangs"

  # The previous run's queue becomes input: coverage accumulates over runs.
  if [ -d "$dir/out/default/queue" ]; then
    find "$dir/out/default/queue" -maxdepth 1 -type f -name 'id:*' | while read -r f; do
      cp "$f" "$dir/corpus/$(sha1sum "$f" | cut -c1-16)"
    done
  fi
  rm -rf "$dir/in" "$dir/out" "$dir/bin" "$dir/tmp"
  mkdir -p "$dir/in" "$dir/tmp"
  cp "$seeds"/* "$dir/in/"
  cp "$dir/corpus"/* "$dir/in/" 2>/dev/null || true

  cp -r "$OUT/build" "$dir/bin"
  (cd "$FUZZ" && dotnet tool run sharpfuzz "$dir/bin/datadog-fips-proxy.dll" "$(namespace_of "$t")" >/dev/null)

  dict="$FUZZ/http.dict"
  [ "$t" = cfg ] && dict="$FUZZ/cfg.dict"
  log "fuzzing $t for ${seconds}s ($(ls "$dir/in" | wc -l) inputs; afl log: $dir/afl.log)"
  # -t: per-input limit in ms. SharpFuzz runs every input in one process (no fork), so afl killing
  # it for a timeout ends the campaign; afl's default (20 ms here) is within one GC pause.
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  # TMPDIR: afl ends the target with SIGKILL, so what it writes there (cfg: the file it loads) stays here, not in /tmp.
  if ! TMPDIR="$dir/tmp" nice -n 10 afl-fuzz -i "$dir/in" -o "$dir/out" -x "$dict" -t 5000 -m none -V "$seconds" \
      -- dotnet "$dir/bin/FipsAppliance.Fuzz.dll" "$t" >"$dir/afl.log" 2>&1; then
    # With SharpFuzz the target process is the fork server: an input that hangs past -t (or
    # kills the runtime: stack overflow) ends the campaign. Keep the input afl was running.
    status=1
    log "afl-fuzz stopped early for $t; the end of its log:"; tail -n 12 "$dir/afl.log" >&2
    if [ -f "$dir/out/default/.cur_input" ]; then
      cp "$dir/out/default/.cur_input" "$dir/hangs/$stamp-aborted"
      log "the input it was running: $dir/hangs/$stamp-aborted"
    fi
    [ -f "$dir/out/default/fuzzer_stats" ] || continue
  fi

  stats="$dir/out/default/fuzzer_stats"
  run_time=$(stat_of run_time "$stats")
  execs=$(stat_of execs_done "$stats")
  eps=$(stat_of execs_per_sec "$stats")
  edges=$(stat_of edges_found "$stats")
  corpus=$(stat_of corpus_count "$stats")
  crashes=$(stat_of saved_crashes "$stats"); crashes=${crashes:-$(stat_of unique_crashes "$stats")}
  hangs=$(stat_of saved_hangs "$stats"); hangs=${hangs:-$(stat_of unique_hangs "$stats")}
  for kind in crashes hangs; do
    find "$dir/out/default/$kind" -maxdepth 1 -type f -name 'id:*' 2>/dev/null | while read -r f; do
      cp "$f" "$dir/$kind/$stamp-$(basename "$f" | cut -d, -f1 | tr ':' '-')"
    done
  done

  line="| $stamp | $t | ${run_time}s | $execs | $eps/s | $edges | $corpus | $crashes | $hangs |"
  [ -f "$OUT/report.md" ] || printf '| run (UTC) | target | time | execs | speed | edges (afl) | corpus | crashes | hangs |\n|---|---|---|---|---|---|---|---|---|\n' > "$OUT/report.md"
  echo "$line" >> "$OUT/report.md"
  log "$t: ${run_time}s, $execs execs ($eps/s), edges $edges, corpus $corpus, crashes $crashes, hangs $hangs"

  if [ "${crashes:-0}" != 0 ]; then
    status=1
    log "$t: crashes, replayed without afl:"
    dotnet "$OUT/build/FipsAppliance.Fuzz.dll" "$t" --replay "$dir/out/default/crashes" >&2 || true
  fi
done
log "report: $OUT/report.md"
exit $status
