#!/bin/sh
# Installs the OpenSSL FIPS provider on this host, as OpenSSL's security policy requires:
# runs the module's self-tests, writes its MAC file (fipsmodule.cnf, valid for this host only),
# and writes the OpenSSL configuration the daemon loads: fips + base providers only, never
# default; fips=yes as the default property; TLS groups limited to the approved NIST curves.
#
#   fipsinstall.sh <embedded-dir>     e.g. /opt/datadog-fips-proxy/embedded
#
# Used by ./build.sh for the development tree and by the packages' post-install scripts.
set -eu
EMB=${1:?usage: fipsinstall.sh <embedded-dir>}
EMB=$(cd "$EMB" && pwd)
MODULE="$EMB/lib/ossl-modules/fips.so"
[ -f "$MODULE" ] || { echo "fipsinstall: no FIPS module at $MODULE" >&2; exit 1; }
mkdir -p "$EMB/ssl"
# The system openssl command runs the install; it needs no FIPS config of its own.
OPENSSL_CONF=/dev/null openssl fipsinstall -quiet -module "$MODULE" -provider_name fips \
  -out "$EMB/ssl/fipsmodule.cnf.tmp"
mv "$EMB/ssl/fipsmodule.cnf.tmp" "$EMB/ssl/fipsmodule.cnf"
cat > "$EMB/ssl/openssl.cnf.tmp" <<CNF
# Written by fipsinstall.sh for this host. The daemon loads this file itself, before any crypto.
config_diagnostics = 1
openssl_conf = openssl_init

.include $EMB/ssl/fipsmodule.cnf

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
CNF
mv "$EMB/ssl/openssl.cnf.tmp" "$EMB/ssl/openssl.cnf"
echo "fipsinstall: FIPS provider installed for this host in $EMB"
