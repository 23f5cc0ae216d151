#!/bin/sh
# Installs the OpenSSL FIPS provider on this host, as OpenSSL's security policy requires:
# runs the module's self-tests, writes its MAC file (fipsmodule.cnf, valid for this host only),
# and writes the OpenSSL configuration the daemon loads: fips + base providers only, never
# default; fips=yes as the default property; TLS groups limited to the approved NIST curves and
# TLS cipher lists limited to approved AES-GCM suites, for every TLS context of the process.
#
#   fipsinstall.sh <embedded-dir> [<output-dir>]
#       <embedded-dir>  e.g. /opt/datadog-fips-proxy/embedded: the module is <embedded-dir>/lib/ossl-modules/fips.so
#       <output-dir>    where fipsmodule.cnf and openssl.cnf go; default <embedded-dir>/ssl. The
#                       container image names a writable directory on /run here, at every start.
#
# Used by ./build.sh for the development tree, by the packages' post-install scripts and by the
# container image's entry point.
set -eu
EMB=${1:?usage: fipsinstall.sh <embedded-dir> [<output-dir>]}
EMB=$(cd "$EMB" && pwd)
MODULE="$EMB/lib/ossl-modules/fips.so"
[ -f "$MODULE" ] || { echo "fipsinstall: no FIPS module at $MODULE" >&2; exit 1; }
OUT=${2:-$EMB/ssl}
mkdir -p "$OUT" && [ -w "$OUT" ] || { echo "fipsinstall: cannot write to $OUT" >&2; exit 1; }
OUT=$(cd "$OUT" && pwd)
# The system openssl command runs the install; it needs no FIPS config of its own.
OPENSSL_CONF=/dev/null openssl fipsinstall -quiet -module "$MODULE" -provider_name fips \
  -out "$OUT/fipsmodule.cnf.tmp"
mv "$OUT/fipsmodule.cnf.tmp" "$OUT/fipsmodule.cnf"
cat > "$OUT/openssl.cnf.tmp" <<CNF
# Written by fipsinstall.sh for this host. The daemon loads this file itself, before any crypto.
config_diagnostics = 1
openssl_conf = openssl_init

.include $OUT/fipsmodule.cnf

[openssl_init]
providers = provider_sect
alg_section = algorithm_sect
ssl_conf = ssl_sect

[provider_sect]
fips = fips_sect
base = base_sect

# fipsmodule.cnf defines [fips_sect]; this adds where the module lives (sections merge).
[fips_sect]
module = $MODULE

[base_sect]
activate = 1

[algorithm_sect]
default_properties = fips=yes

[ssl_sect]
system_default = system_default_sect

[system_default_sect]
# X25519/X448 are offered by default yet are not approved key agreements under this provider.
Groups = P-256:P-384:P-521
MinProtocol = TLSv1.2
# The approved suites, in offer order, applied to every new SSL_CTX. The TLS 1.2 list is the one
# the shipped datadog-fips-proxy.cfg names in ssl-default-server-ciphers: a server whose lists are
# exactly these needs no per-connection cipher policy in .NET, so connections share one SSL_CTX
# and reconnects resume their TLS session (issue 9). A cfg naming other lists still gets exactly
# those, with full handshakes. Keep the two lists equal when either changes.
CipherString = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384
Ciphersuites = TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256
CNF
mv "$OUT/openssl.cnf.tmp" "$OUT/openssl.cnf"
if [ "$OUT" = "$EMB/ssl" ]; then
  echo "fipsinstall: FIPS provider installed for this host in $EMB"
else
  echo "fipsinstall: FIPS provider installed for this host in $OUT (module $MODULE)"
fi
