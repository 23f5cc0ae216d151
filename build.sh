#!/usr/bin/env bash
# The one entry point: ./build.sh <command>. Every command installs what it needs on a fresh
# Debian 12 machine and is quick when nothing changed.
#
#   build     publish the Native AOT binary and prepare the FIPS module  -> artifacts/
#   test      build, then run the TUnit suite (unit + black-box against the published binary)
#   run       build, then run the daemon with the shipped example configuration
#   fips      only build (cached) and install (per machine) the OpenSSL FIPS provider
#   clean     remove artifacts/ and every bin/ obj/
#   bench     build, then the relay benchmark against haproxy 2.6 -> artifacts/bench/report.md (BENCH_* in tests/Bench/bench.sh)
#
# Environment:
#   FIPS_OPENSSL_TARBALL  an openssl-<version>.tar.gz to build the FIPS provider from (how a
#                         production, air-gapped build brings the CMVP-validated 3.0.9 / 3.1.2
#                         source). Default: the upstream tarball inside Debian's openssl source package.
#   FIPS_CACHE            where downloaded sources and built modules are cached (default ~/.cache/fips-appliance)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ART="$ROOT/artifacts"
EMBEDDED="$ART/embedded"                 # mirrors /opt/datadog-fips-proxy/embedded in the package
FIPS_CACHE=${FIPS_CACHE:-$HOME/.cache/fips-appliance}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }

# --- machine dependencies -------------------------------------------------------------------
APT_PACKAGES=(build-essential perl dpkg-dev ca-certificates openssl libssl3 clang zlib1g-dev
              haproxy nginx-light dnsmasq-base wrk nghttp2-client curl procps)

deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packaged haproxy and nginx must not run as services: tests and the bench start their own.
    systemctl disable --now haproxy nginx >/dev/null 2>&1 || true
  fi
  command -v dotnet >/dev/null || { echo "dotnet SDK 10 is required on PATH" >&2; exit 1; }
}

# --- the OpenSSL FIPS provider --------------------------------------------------------------
# Builds fips.so once per source tarball (cached), then installs it on this machine with
# `openssl fipsinstall`, as OpenSSL's security policy requires (the MAC file is per host).

fetch_debian_openssl_tarball() {
  # apt-get source from a private deb-src list derived from the machine's own sources, so the
  # machine's apt setup is untouched and no mirror name is written here.
  local work="$FIPS_CACHE/apt-src" parts="$FIPS_CACHE/apt-src/sources.list.d" lists="$FIPS_CACHE/apt-src/lists"
  mkdir -p "$parts" "$lists/partial"
  rm -f "$parts"/*
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" > "$parts/$(basename "$f")"
  done
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$parts/sources-list.list" || true
  fi
  local opts=(-oDir::Etc::SourceList=/dev/null "-oDir::Etc::SourceParts=$parts" "-oDir::State::Lists=$lists")
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${opts[@]}" source --download-only openssl >/dev/null 2>&1 || true)
  ls -1 "$work"/openssl_*.orig.tar.gz 2>/dev/null | sort -V | tail -n1
}

fips_module() {
  local tarball=${FIPS_OPENSSL_TARBALL:-}
  mkdir -p "$FIPS_CACHE"
  if [ -z "$tarball" ]; then
    tarball=$(ls -1 "$FIPS_CACHE"/apt-src/openssl_*.orig.tar.gz 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$tarball" ] || tarball=$(fetch_debian_openssl_tarball)
    [ -n "$tarball" ] && [ -f "$tarball" ] || { echo "could not fetch Debian's openssl source tarball" >&2; exit 1; }
  fi
  [ -f "$tarball" ] || { echo "FIPS_OPENSSL_TARBALL=$tarball: no such file" >&2; exit 1; }
  local key; key=$(sha256sum "$tarball" | cut -c1-16)
  local built="$FIPS_CACHE/fips-$key/fips.so"
  if [ ! -f "$built" ]; then
    log "building the FIPS provider from $(basename "$tarball") (about a minute)"
    local src="$FIPS_CACHE/src-$key"
    rm -rf "$src" && mkdir -p "$src"
    tar -xzf "$tarball" -C "$src" --strip-components=1
    (cd "$src" && ./Configure enable-fips no-tests >/dev/null \
       && make -j"$(nproc)" build_generated >/dev/null && make -j"$(nproc)" providers/fips.so >/dev/null)
    mkdir -p "$(dirname "$built")"
    cp "$src/providers/fips.so" "$built.tmp" && mv "$built.tmp" "$built"
    rm -rf "$src"
  fi
  mkdir -p "$EMBEDDED/lib/ossl-modules" "$EMBEDDED/ssl"
  if ! cmp -s "$built" "$EMBEDDED/lib/ossl-modules/fips.so"; then
    install -m 0644 "$built" "$EMBEDDED/lib/ossl-modules/fips.so"
    rm -f "$EMBEDDED/ssl/fipsmodule.cnf"
  fi
  # Per-host installation (self-tests + MAC): redone when missing, or when fipsinstall.sh changed
  # what it writes into openssl.cnf.
  if [ ! -s "$EMBEDDED/ssl/fipsmodule.cnf" ] || [ "$ROOT/src/dist/fipsinstall.sh" -nt "$EMBEDDED/ssl/openssl.cnf" ]; then
    "$ROOT/src/dist/fipsinstall.sh" "$EMBEDDED" >/dev/null
  fi
}

# --- .NET build -----------------------------------------------------------------------------
publish() {
  local stamp="$ART/.publish-stamp" newest
  newest=$(find "$ROOT/src" "$ROOT/Directory.Build.props" "$ROOT/global.json" -newer "$stamp" -type f \
             -not -path '*/bin/*' -not -path '*/obj/*' 2>/dev/null | head -n1 || true)
  if [ -f "$ART/bin/datadog-fips-proxy" ] && [ -f "$stamp" ] && [ -z "$newest" ]; then return; fi
  log "publishing the Native AOT binary"
  dotnet publish "$ROOT/src/FipsAppliance/FipsAppliance.csproj" -c Release -o "$ART/bin" -v quiet -nologo \
    | { grep -E 'warning|error' || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  rm -f "$ART/bin/"*.dbg
  touch "$stamp"
}

build() { deps; fips_module; publish; }

run_daemon() {
  build
  # A run tree that mirrors /etc/datadog-fips-proxy: the example cfg and the CA bundle it names.
  local etc="$ART/etc"
  mkdir -p "$etc"
  cp "$ROOT/src/dist/datadog-fips-proxy.cfg.example" "$etc/datadog-fips-proxy.cfg"
  ln -sf /etc/ssl/certs/ca-certificates.crt "$etc/ca-certificates.crt"
  exec "$ART/bin/datadog-fips-proxy" -f "$etc/datadog-fips-proxy.cfg" "$@"
}

run_tests() {
  build
  export FIPS_APPLIANCE_ARTIFACTS="$ART"
  dotnet test --project "$ROOT/tests/FipsAppliance.Tests/FipsAppliance.Tests.csproj" -c Release "$@"
}

run_bench() {
  build
  BENCH_COMMAND="./build.sh bench" "$ROOT/tests/Bench/bench.sh" "$@"
}

cmd=${1:-build}; shift || true
case "$cmd" in
  build) build ;;
  fips) deps; fips_module ;;
  test) run_tests "$@" ;;
  run) run_daemon "$@" ;;
  bench) run_bench "$@" ;;
  clean) rm -rf "$ART"; find "$ROOT/src" "$ROOT/tests" -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
