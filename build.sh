#!/usr/bin/env bash
# The one entry point: ./build.sh <command>. Every command installs what it needs on a fresh
# Debian 12 machine and is quick when nothing changed.
#
#   build     publish the Native AOT binary and prepare the FIPS module  -> artifacts/
#   test      build, package and make the image, then run the TUnit suite (unit, black-box against
#             the published binary, the packages installed into a cached minimal Debian root, the image)
#   run       build, then run the daemon with the shipped example configuration
#   fips      only build (cached) and install (per machine) the OpenSSL FIPS provider
#   clean     remove artifacts/ and every bin/ obj/
#   bench     build, then the relay benchmark against haproxy 2.6 -> artifacts/bench/report.md (BENCH_* in tests/Bench/bench.sh)
#   fuzz      [target|all] [seconds]: afl++ + SharpFuzz on the parsers -> artifacts/fuzz (tests/Fuzz/fuzz.sh)
#   package   build, then the .deb and the .rpm                        -> artifacts/packages/
#   debroot   the cached debootstrap root the package tests install into (made by `test` too)
#   image     build, package, then the OCI container image                -> artifacts/images/
#
# Environment:
#   FIPS_OPENSSL_TARBALL  an openssl-<version>.tar.gz to build the FIPS provider from (how a
#                         production, air-gapped build brings the CMVP-validated 3.0.9 / 3.1.2
#                         source; its SHA-256 is checked against the release's). Default: the upstream
#                         tarball inside Debian's openssl source package (not a validated version).
#   FIPS_REQUIRE_VALIDATED=1  refuse to build from anything but a CMVP-validated release tarball
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
              haproxy nginx-light dnsmasq-base wrk nghttp2-client curl procps
              rpm lintian rpmlint debootstrap systemd strace
              python3-minimal buildah)     # package + its tests

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

# The OpenSSL releases whose FIPS provider is CMVP-validated: version, SHA-256 of the release
# tarball as openssl.org publishes it beside the tarball, certificate. A tarball that says it is
# one of these versions (VERSION.dat) must be that release byte for byte: building "3.0.9" from
# anything else would make a module that reports a validated version and is not one.
VALIDATED_OPENSSL=(
  "3.0.8 6c13d2bf38fdf31eac3ce2a347073673f5d63263398f1f69d0df4a41253e4b3e FIPS 140-2 certificate #4282"
  "3.0.9 eb1ab04781474360f77c318ab89d8c5a03abc38e63d65a603cabbf1b00a1dc90 FIPS 140-2 certificate #4282"
  "3.1.2 a0ce69b8b97ea6a35b96875235aa453b966ba3cba8af2de23657d8b6767d6539 FIPS 140-3 certificate #4985"
)
# The provider is configured exactly as the security policies of those releases say (and nothing
# else is passed): `./Configure enable-fips`. Part of the cache key.
FIPS_CONFIGURE=(enable-fips)

# Says which source the provider is built from; refuses a tarball that claims a validated version
# without being that release, and (FIPS_REQUIRE_VALIDATED=1, for a production build) any tarball
# that is not a validated release.
check_fips_source() {
  local tarball=$1 sha version entry
  sha=$(sha256sum "$tarball" | cut -d' ' -f1)
  version=$( { tar -xzOf "$tarball" --wildcards --no-anchored 'VERSION.dat' 2>/dev/null || true; } \
              | awk -F= '/^MAJOR=/ {ma=$2} /^MINOR=/ {mi=$2} /^PATCH=/ {pa=$2} END {if (ma != "") print ma "." mi "." pa}')
  [ -n "$version" ] || { echo "$tarball: no VERSION.dat inside: not an OpenSSL 3 source tarball" >&2; exit 1; }
  for entry in "${VALIDATED_OPENSSL[@]}"; do
    read -r -a f <<< "$entry"
    if [ "$sha" = "${f[1]}" ]; then
      log "FIPS provider source: openssl $version, the CMVP-validated release (${f[*]:2})"
      return 0
    fi
    if [ "$version" = "${f[0]}" ]; then
      echo "$tarball says it is OpenSSL $version, a CMVP-validated version, but it is not that release:" >&2
      echo "  its SHA-256 is $sha, the release's is ${f[1]} (openssl-$version.tar.gz.sha256 on openssl.org)." >&2
      echo "  A provider built from it would report $version without being the validated module; use the release tarball." >&2
      exit 1
    fi
  done
  if [ "${FIPS_REQUIRE_VALIDATED:-0}" = 1 ]; then
    echo "FIPS_REQUIRE_VALIDATED=1: $(basename "$tarball") is OpenSSL $version, not a CMVP-validated release" >&2
    echo "  (validated: $(printf '%s\n' "${VALIDATED_OPENSSL[@]}" | cut -d' ' -f1 | paste -sd' ' -)); name one with FIPS_OPENSSL_TARBALL." >&2
    exit 1
  fi
  log "FIPS provider source: openssl $version ($(basename "$tarball")), not a CMVP-validated release: fine for development, not for a FIPS deployment"
}

fips_module() {
  local tarball=${FIPS_OPENSSL_TARBALL:-}
  mkdir -p "$FIPS_CACHE"
  # The cache is per user, not per checkout: two builds at once (a clean-clone CI run beside a
  # work tree's build) would unpack and make into the same directory. The second one waits.
  local lock
  exec {lock}>"$FIPS_CACHE/.lock"
  flock "$lock"
  if [ -z "$tarball" ]; then
    tarball=$(ls -1 "$FIPS_CACHE"/apt-src/openssl_*.orig.tar.gz 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$tarball" ] || tarball=$(fetch_debian_openssl_tarball)
    [ -n "$tarball" ] && [ -f "$tarball" ] || { echo "could not fetch Debian's openssl source tarball" >&2; exit 1; }
  fi
  [ -f "$tarball" ] || { echo "FIPS_OPENSSL_TARBALL=$tarball: no such file" >&2; exit 1; }
  local key; key=$( { sha256sum "$tarball" | cut -d' ' -f1; echo "${FIPS_CONFIGURE[*]}"; } | sha256sum | cut -c1-16)
  local marker="$FIPS_CACHE/fips-$key/source"
  # Checked when the module is built and whenever the source changes, not on every build.
  if [ ! -f "$marker" ] || [ "${FIPS_REQUIRE_VALIDATED:-0}" = 1 ]; then check_fips_source "$tarball"; fi
  local built="$FIPS_CACHE/fips-$key/fips.so"
  if [ ! -f "$built" ]; then
    log "building the FIPS provider from $(basename "$tarball") (about a minute)"
    local src="$FIPS_CACHE/src-$key"
    rm -rf "$src" && mkdir -p "$src"
    tar -xzf "$tarball" -C "$src" --strip-components=1
    (cd "$src" && ./Configure "${FIPS_CONFIGURE[@]}" >/dev/null \
       && make -j"$(nproc)" build_generated >/dev/null && make -j"$(nproc)" providers/fips.so >/dev/null)
    mkdir -p "$(dirname "$built")"
    cp "$src/providers/fips.so" "$built.tmp" && mv "$built.tmp" "$built"
    basename "$tarball" > "$marker"
    rm -rf "$src"
  fi
  exec {lock}>&-
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
  newest=$(find "$ROOT/src" "$ROOT/Directory.Build.props" "$ROOT/global.json" "$ROOT/VERSION" -newer "$stamp" -type f \
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

# --- packages -------------------------------------------------------------------------------
# The .deb (dpkg-deb) and the .rpm (rpmbuild) from what `build` published, offline. The files and
# scripts are in deb/, rpm/ and src/dist/; deb/README.md says what goes where and why.
PKG="$ART/packages"
PKG_NAME=datadog-fips-proxy

# The one version string: VERSION, also read by Directory.Build.props for `-v`.
product_version() {
  local v; v=$(tr -d ' \n' < "$ROOT/VERSION")
  [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "VERSION: '$v' is not MAJOR.MINOR.PATCH" >&2; exit 1; }
  printf '%s' "$v"
}

# src/dist/changelog in Debian's format (deb) or as an rpm %changelog (rpm).
changelog() {
  local fmt=$1 line ver date who trailer="" first=1
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      '#'*|'') continue ;;
      [0-9]*)
        read -r ver date who <<< "$line"
        if [ "$fmt" = deb ]; then
          printf '%s' "$trailer"; [ $first = 1 ] || printf '\n'
          printf '%s (%s) stable; urgency=medium\n\n' "$PKG_NAME" "$ver"
          printf -v trailer '\n -- %s  %s\n' "$who" "$(date -u -R -d "$date 12:00:00")"
        else
          [ $first = 1 ] || printf '\n'
          printf '* %s %s - %s-1\n' "$(date -u -d "$date" '+%a %b %d %Y')" "$who" "$ver"
        fi
        first=0 ;;
      '  - '*) if [ "$fmt" = deb ]; then printf '  * %s\n' "${line#  - }"; else printf -- '- %s\n' "${line#  - }"; fi ;;
      *) if [ "$fmt" = deb ]; then printf '    %s\n' "${line#"${line%%[! ]*}"}"; else printf '  %s\n' "${line#"${line%%[! ]*}"}"; fi ;;
    esac
  done < "$ROOT/src/dist/changelog"
  printf '%s' "$trailer"
}

# The newest changelog entry: "<version> <date> <who>".
changelog_head() { grep -m1 -E '^[0-9]' "$ROOT/src/dist/changelog"; }

# Noon UTC of the newest changelog entry's date, in seconds: every timestamp in the packages and
# the image (SOURCE_DATE_EPOCH, buildah --timestamp), so that rebuilds are byte-identical.
release_epoch() { date -u -d "$(changelog_head | cut -d' ' -f2) 12:00:00" +%s; }

# The highest GLIBC_x.y symbol version the shipped ELF files need (the real libc6 dependency).
glibc_needed() {
  objdump -T "$@" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -n1
}

# The tree under /opt and /etc shared by both packages. Only fips.so is taken from embedded/:
# fipsmodule.cnf and openssl.cnf are per host, written by fipsinstall.sh on the target.
stage_tree() {
  local d=$1 app=$1/opt/$PKG_NAME
  install -d -m 0755 "$app/bin" "$app/embedded/bin" "$app/embedded/lib/ossl-modules" "$app/embedded/ssl" "$d/etc/$PKG_NAME"
  install -m 0755 "$ART/bin/datadog-fips-proxy" "$app/bin/datadog-fips-proxy"
  install -m 0755 "$ROOT/src/dist/fipsinstall.sh" "$app/embedded/bin/fipsinstall.sh"
  install -m 0644 "$EMBEDDED/lib/ossl-modules/fips.so" "$app/embedded/lib/ossl-modules/fips.so"
  install -m 0644 "$ROOT/src/dist/datadog-fips-proxy.cfg.example" "$ROOT/src/dist/datadog-fips-proxy.ini.example" "$d/etc/$PKG_NAME/"
}

make_deb() {
  local v=$1 epoch=$2 st="$PKG/.deb-root"
  rm -rf "$st"
  stage_tree "$st"
  install -D -m 0644 "$ROOT/src/dist/datadog-fips-proxy.service" "$st/lib/systemd/system/datadog-fips-proxy.service"
  local doc="$st/usr/share/doc/$PKG_NAME"
  install -d -m 0755 "$doc"
  install -m 0644 "$ROOT/deb/copyright" "$doc/copyright"
  changelog deb | gzip -9n > "$doc/changelog.gz"
  chmod 0644 "$doc/changelog.gz"
  install -D -m 0644 "$ROOT/deb/lintian-overrides" "$st/usr/share/lintian/overrides/$PKG_NAME"
  install -d -m 0755 "$st/DEBIAN"
  install -m 0755 "$ROOT/deb/postinst" "$ROOT/deb/prerm" "$ROOT/deb/postrm" "$st/DEBIAN/"
  install -m 0644 "$ROOT/deb/conffiles" "$st/DEBIAN/conffiles"
  (cd "$st" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$st/DEBIAN/md5sums"
  chmod 0644 "$st/DEBIAN/md5sums"
  local size glibc who
  size=$(du -sk --apparent-size --exclude=DEBIAN "$st" | cut -f1)
  glibc=$(glibc_needed "$ART/bin/datadog-fips-proxy" "$EMBEDDED/lib/ossl-modules/fips.so")
  who=$(changelog_head | cut -d' ' -f3-)
  sed -e "s|@VERSION@|$v|" -e "s|@INSTALLED_SIZE@|$size|" -e "s|@GLIBC@|$glibc|" -e "s|@MAINTAINER@|$who|" \
    "$ROOT/deb/control.in" > "$st/DEBIAN/control"
  find "$st" -exec touch -h -d "@$epoch" {} +
  SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz -b "$st" "$PKG/${PKG_NAME}_${v}_amd64.deb" >/dev/null
  rm -rf "$st"
}

make_rpm() {
  local v=$1 epoch=$2 top="$PKG/.rpmbuild"
  rm -rf "$top"
  mkdir -p "$top/SPECS" "$top/extra"
  stage_tree "$top/stage"
  install -m 0644 "$ROOT/src/dist/datadog-fips-proxy.service" "$ROOT/rpm/50-datadog-fips-proxy.preset" "$top/extra/"
  install -m 0644 "$ROOT/deb/copyright" "$top/extra/copyright"
  { cat "$ROOT/rpm/datadog-fips-proxy.spec"; changelog rpm; } > "$top/SPECS/$PKG_NAME.spec"
  find "$top/stage" "$top/extra" -exec touch -h -d "@$epoch" {} +
  SOURCE_DATE_EPOCH=$epoch rpmbuild -bb --quiet \
    --define "_topdir $top" --define "fips_version $v" \
    --define "fips_stage $top/stage" --define "fips_extra $top/extra" \
    --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
    --define "_buildhost reproducible" --define "packager $(changelog_head | cut -d' ' -f3-)" \
    "$top/SPECS/$PKG_NAME.spec" >/dev/null
  mv "$top/RPMS/x86_64/$PKG_NAME-$v-1.x86_64.rpm" "$PKG/"
  rm -rf "$top"
}

package() {
  build
  local v head epoch
  v=$(product_version)
  head=$(changelog_head)
  [ "${head%% *}" = "$v" ] || {
    echo "VERSION says $v but the newest entry of src/dist/changelog is ${head%% *}: add an entry for $v" >&2; exit 1; }
  local deb="$PKG/${PKG_NAME}_${v}_amd64.deb" rpm="$PKG/$PKG_NAME-$v-1.x86_64.rpm" newer
  if [ -f "$deb" ] && [ -f "$rpm" ]; then
    newer=$(find "$ART/bin/datadog-fips-proxy" "$EMBEDDED/lib/ossl-modules/fips.so" "$ROOT/src/dist" "$ROOT/deb" \
              "$ROOT/rpm" "$ROOT/VERSION" "$ROOT/build.sh" -newer "$deb" -type f 2>/dev/null | head -n1 || true)
    [ -n "$newer" ] || return 0
  fi
  log "packaging $v"
  mkdir -p "$PKG"
  rm -f "$PKG"/*.deb "$PKG"/*.rpm
  epoch=$(release_epoch)
  make_deb "$v" "$epoch"
  make_rpm "$v" "$epoch"
}

# A minimal Debian root (debootstrap --variant=minbase, the machine's own suite and mirror) with
# the given packages in it, made once (needs the network) and cached as a tarball in
# $FIPS_CACHE/debroot/<suite>-<name>-<key>.tar; prints the tarball's path.
minbase_tar() {
  local name=$1 include=$2 suite mirror key tar
  suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
  key=$(printf '%s %s' "$suite" "$include" | sha256sum | cut -c1-12)
  tar="$FIPS_CACHE/debroot/$suite-$name-$key.tar"
  if [ ! -f "$tar" ]; then
    mirror=$(awk -v s="$suite" '
      /^Types:/ { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) } /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && deb && uri != "") { print uri; exit } }
      /^deb[[:space:]]/ && $3 == s { print ($2 ~ /^\[/ ? $3 : $2); exit }' \
      /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1)
    [ -n "$mirror" ] || { echo "no apt source for $suite found to debootstrap from" >&2; exit 1; }
    log "debootstrap $suite (minbase + $include) from $mirror, once"
    mkdir -p "$FIPS_CACHE/debroot"
    local tmp; tmp=$(mktemp -d "$FIPS_CACHE/debroot/tmp.XXXXXX")
    debootstrap --variant=minbase --include="$include" "$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1 \
      || { tail -n 20 "$tmp/log" >&2; rm -rf "$tmp"; exit 1; }
    rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*_Packages
    tar -C "$tmp/root" -cf "$tmp/root.tar" . && mv "$tmp/root.tar" "$tar"
    rm -rf "$tmp"
    find "$FIPS_CACHE/debroot" -maxdepth 1 -name "$suite-$name-*.tar" ! -name "$(basename "$tar")" -delete   # stale roots
  fi
  printf '%s' "$tar"
}

# The .deb's dependencies (what debootstrap must --include for it), comma-separated, libc6 left out.
deb_depends() {
  dpkg-deb -f "$PKG/${PKG_NAME}_$(product_version)_amd64.deb" Depends \
    | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^libc6$' | sort
}

# The root the package tests install into: the .deb's dependencies and systemd (installed, as in
# any VM image, but never running there). They install the .deb into a copy of it without
# network, as an air-gapped image build would. artifacts/debroot.tar links to the cached tarball.
debroot() {
  local tar
  tar=$(minbase_tar minbase "$( { deb_depends; echo systemd; } | sort | paste -sd, -)")
  ln -sfn "$tar" "$ART/debroot.tar"
  # systemd-nspawn (package systemd-container, at this machine's systemd version when the archive
  # still has it) unpacked, not installed: the package tests boot the root with it, so the unit
  # runs the installed daemon under real systemd with its whole sandbox.
  local sdver nspawn
  sdver=$(dpkg-query -W -f '${Version}' systemd)
  nspawn="$FIPS_CACHE/debroot/nspawn-$sdver"
  if [ ! -x "$nspawn/usr/bin/systemd-nspawn" ]; then
    local dl; dl=$(mktemp -d)
    get() { apt-get download "systemd-container=$sdver" || apt-get download systemd-container; }
    (cd "$dl" && { get || { apt-get update -qq && get; }; } >/dev/null 2>&1) \
      || { echo "could not download systemd-container" >&2; rm -rf "$dl"; exit 1; }
    dpkg-deb -x "$dl"/systemd-container_*.deb "$nspawn.tmp" && mv "$nspawn.tmp" "$nspawn"
    rm -rf "$dl"
  fi
  ln -sfn "$nspawn/usr/bin/systemd-nspawn" "$ART/systemd-nspawn"
}

# --- container image ------------------------------------------------------------------------
# An OCI image (buildah, no daemon, no container run) for the sidecar deployments (Kubernetes, ECS):
# a minimal Debian root with only the .deb's dependencies (no systemd), the .deb installed into it
# offline as on a host, then made an image. The parts of src/dist/container/ that differ from a
# host install, and why:
#   - no FIPS installation in the image (the security policy: valid for the machine it ran on
#     only); entrypoint.sh runs fipsinstall.sh into /run/datadog-fips-proxy at every start, and
#     the image's datadog-fips-proxy.ini points the daemon there;
#   - the shipped cfg with `log stdout` for the UDP syslog on 127.0.0.1 a container does not have
#     (the only change; it still passes `haproxy -c`);
#   - runs as dd-agent (numeric, so Kubernetes' runAsNonRoot can check it), PID 1 is the daemon;
#   - probe.sh, for exec health probes (the frontends bind loopback, out of kubelet's reach).
# -> artifacts/images/datadog-fips-proxy_<version>_amd64.oci.tar (`podman load -i`, or
#    `skopeo copy oci-archive:<file> docker-daemon:datadog-fips-proxy:<version>`).
IMG="$ART/images"

image() {
  package
  local v out
  v=$(product_version)
  out="$IMG/${PKG_NAME}_${v}_amd64.oci.tar"
  if [ -f "$out" ] && [ -z "$(find "$PKG/${PKG_NAME}_${v}_amd64.deb" "$ROOT/src/dist/container" "$ROOT/build.sh" \
                                -newer "$out" -type f 2>/dev/null | head -n1)" ]; then
    return 0
  fi
  log "building the container image $v"
  local base; base=$(minbase_tar image "$(deb_depends | paste -sd, -)")
  rm -rf "$ART"/.image.*
  local work; work=$(mktemp -d "$ART/.image.XXXXXX")
  local root="$work/root" app="/opt/$PKG_NAME" etc="/etc/$PKG_NAME"
  mkdir "$root" && tar -xpf "$base" -C "$root"

  # The .deb as on a host, offline; its postinst makes dd-agent, the CA link and the cfg.
  cp "$PKG/${PKG_NAME}_${v}_amd64.deb" "$root/tmp/"
  unshare --mount --pid --fork --kill-child --net --mount-proc="$root/proc" \
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    dpkg -i "/tmp/${PKG_NAME}_${v}_amd64.deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; exit 1; }
  rm -f "$root/tmp/"*.deb "$root$app/embedded/ssl/fipsmodule.cnf" "$root$app/embedded/ssl/openssl.cnf"

  install -m 0644 "$ROOT/src/dist/container/datadog-fips-proxy.ini" "$root$etc/datadog-fips-proxy.ini"
  install -m 0755 "$ROOT/src/dist/container/entrypoint.sh" "$root$app/embedded/bin/container-entrypoint.sh"
  install -m 0755 "$ROOT/src/dist/container/probe.sh" "$root$app/embedded/bin/container-probe.sh"
  sed -i 's|^\(\s*\)log 127\.0\.0\.1 local0$|\1log stdout format raw local0|' "$root$etc/datadog-fips-proxy.cfg"
  grep -q '^\s*log stdout format raw local0$' "$root$etc/datadog-fips-proxy.cfg" \
    || { echo "image: the shipped cfg has no 'log 127.0.0.1 local0' line to turn into 'log stdout'" >&2; exit 1; }
  local uid gid
  uid=$(awk -F: '$1 == "dd-agent" { print $3 }' "$root/etc/passwd")
  gid=$(awk -F: '$1 == "dd-agent" { print $4 }' "$root/etc/passwd")
  [ -n "$uid" ] && [ -n "$gid" ] || { echo "image: the postinst made no dd-agent user" >&2; exit 1; }
  # Also for a runtime that runs the image under another, arbitrary uid with gid 0 (OpenShift's
  # restricted policy): the run directory is group 0 writable, and the image's cfg (the example,
  # no secret in it; a cfg mounted in brings its own mode) readable by any user.
  install -d -m 0770 -o "$uid" -g 0 "$root/run/$PKG_NAME"
  chmod 0644 "$root$etc/datadog-fips-proxy.cfg"
  # What an image does not carry: the build machine's name and resolvers (the runtime provides
  # them), apt's lists and caches, logs of the build; and, as Debian's slim images, manuals,
  # translations and documentation other than the licences (usr/share/doc/*/copyright).
  : > "$root/etc/resolv.conf"; rm -f "$root/etc/hostname"
  rm -rf "$root/var/cache/apt/"* "$root/var/lib/apt/lists/"* "$root/var/cache/debconf/"*-old \
         "$root/var/log/"* "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/locale/"* \
         "$root/tmp/"* "$root/root/".[!.]* 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete

  local epoch ctr mnt ports=()
  epoch=$(release_epoch)
  for p in $(seq 9803 9818); do ports+=(--port "$p/tcp"); done
  local ba=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)
  ctr=$("${ba[@]}" from --quiet scratch)
  mnt=$("${ba[@]}" mount "$ctr")
  tar -C "$root" -cf - . | tar -C "$mnt" -xpf -
  "${ba[@]}" umount "$ctr" >/dev/null
  "${ba[@]}" config --created-by "./build.sh image" --os linux --arch amd64 --user "$uid:$gid" --workingdir / --stop-signal SIGTERM \
    --env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    --entrypoint "[\"$app/embedded/bin/container-entrypoint.sh\"]" --cmd "[\"-f\", \"$etc/datadog-fips-proxy.cfg\"]" \
    "${ports[@]}" \
    --label "org.opencontainers.image.title=$PKG_NAME" --label "org.opencontainers.image.version=$v" \
    --label "org.opencontainers.image.description=Datadog Agent FIPS Proxy: relays the Agent's traffic over FIPS 140 TLS" \
    "$ctr"
  mkdir -p "$IMG"
  rm -f "$IMG"/*.oci.tar
  "${ba[@]}" commit --quiet --format oci --disable-compression=false --timestamp "$epoch" --rm "$ctr" "oci-archive:$out.tmp:$PKG_NAME:$v" >/dev/null
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

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
  package
  debroot
  image
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
  fuzz) deps; "$ROOT/tests/Fuzz/fuzz.sh" "$@" ;;
  package) package ;;
  debroot) package; debroot ;;
  image) image ;;
  clean) rm -rf "$ART"; find "$ROOT/src" "$ROOT/tests" -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + ;;
  *) sed -n '2,/^set -euo pipefail/{/^#/p}' "$0"; exit 2 ;;
esac
