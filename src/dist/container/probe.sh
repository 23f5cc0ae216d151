#!/bin/bash
# Health probe of the container image, for a Kubernetes exec probe or an ECS healthCheck: the
# frontends bind loopback (the Agent is in the same pod or task), where kubelet's httpGet and
# tcpSocket probes, which connect to the pod's IP, never arrive. This asks the stats page (the
# shipped cfg's `listen stats`, the first port of the range) from inside the container. The stats
# page is served by the same event loop as the relay: an answer means the daemon runs, has FIPS
# mode on (it binds nothing before that) and is not stuck. Exit 0 on a 200, 1 otherwise.
#
# Uses the container's own DD_FIPS_LOCAL_ADDRESS and DD_FIPS_PORT_RANGE_START; a cfg without the
# stats listener on the first port of the range needs a probe of its own.
set -u
addr=${DD_FIPS_LOCAL_ADDRESS:-127.0.0.1}
case "$addr" in 0.0.0.0|'*'|'') addr=127.0.0.1 ;; esac
port=${DD_FIPS_PORT_RANGE_START:-9803}
if ! exec 3<>"/dev/tcp/$addr/$port"; then
    echo "datadog-fips-proxy probe: nothing accepts on $addr:$port" >&2
    exit 1
fi
printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
if ! IFS= read -r -t 5 status <&3; then
    echo "datadog-fips-proxy probe: no answer from $addr:$port within 5 s" >&2
    exit 1
fi
status=${status%$'\r'}
case "$status" in
    "HTTP/1."?" 200"*) exit 0 ;;
esac
echo "datadog-fips-proxy probe: $addr:$port answered '$status'" >&2
exit 1
