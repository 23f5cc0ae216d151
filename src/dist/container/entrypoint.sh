#!/bin/sh
# Entry point of the datadog-fips-proxy container image (`./build.sh image`; src/dist/container/).
#
# OpenSSL's security policy makes the FIPS provider's installation (self-tests, MAC file) valid for
# the machine it ran on only, so an image must not carry it: it runs here, at every start, into
# /run/datadog-fips-proxy, where the image's datadog-fips-proxy.ini points the daemon. That
# directory must be writable by the image's user (dd-agent): it is, in the image; with a read-only
# root filesystem, mount a volume there (Kubernetes: an emptyDir; docker/podman: --tmpfs).
#
# Arguments starting with "-", and `fips-status`, are the daemon's (the image's CMD is
# `-f <the image's cfg>`; `docker run <image> fips-status` reports the FIPS module and exits); any
# other command runs instead of the daemon, after the installation (a shell, for a look around).
# The daemon replaces this shell (exec) and is PID 1: SIGTERM reaches it directly and lets
# requests in flight finish.
set -eu
EMBEDDED=/opt/datadog-fips-proxy/embedded
RUNTIME=/run/datadog-fips-proxy

if ! "$EMBEDDED/bin/fipsinstall.sh" "$EMBEDDED" "$RUNTIME" >&2; then
    echo "datadog-fips-proxy: the FIPS provider could not be installed in $RUNTIME; the proxy does not start without it." >&2
    echo "datadog-fips-proxy: with a read-only root filesystem, mount a writable volume there (an emptyDir, or --tmpfs $RUNTIME)." >&2
    exit 78   # EX_CONFIG
fi

case "${1:-}" in
    ''|-*|fips-status) set -- /opt/datadog-fips-proxy/bin/datadog-fips-proxy "$@" ;;
esac
exec "$@"
