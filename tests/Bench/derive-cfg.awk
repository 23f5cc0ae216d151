# Derives the benchmark cfg from the shipped example (src/dist/datadog-fips-proxy.cfg.example),
# changing only what must point at the local run, as the black-box tests do:
#   - every bind port 98xx moves by PORT_OFFSET (so a relay already on 9803-9818 is left alone),
#     and wildcard bind addresses become 127.0.0.1 (the bench stays on loopback);
#   - every server / server-template host name becomes 127.0.0.1:INTAKE_PORT, with
#     `sni str(<host>) verifyhost <host>` added when the line has none, so both relays still send
#     and verify the real intake name; `check port 443` follows the intake port;
#   - resolvers / init-addr / resolve-prefer are dropped (no DNS), ca-file becomes the run's CA.
#   - with LOG set, the global section's `log <address> ...` lines send to LOG instead (an
#     address of the run's own UDP sink), or are dropped when LOG is "none"; unset, they stay.
# usage: awk -v PORT_OFFSET=20000 -v INTAKE_PORT=29900 -v CA=/tmp/x/ca.pem [-v LOG=127.0.0.1:29514] -f derive-cfg.awk example
function drop_dns(   i, out, skip) {
  out = ""; skip = 0
  for (i = 1; i <= NF; i++) {
    if (skip) { skip = 0; continue }
    if ($i == "resolvers" || $i == "init-addr" || $i == "resolve-prefer") { skip = 1; continue }
    if ($i == "ca-file") { out = out " ca-file " CA; skip = 1; continue }
    if ($i == "port" && $(i + 1) == "443") { out = out " port " INTAKE_PORT; skip = 1; continue }
    out = out " " $i
  }
  return out
}
function indent() { match($0, /^[ \t]*/); return substr($0, 1, RLENGTH) }
/^[ \t]*#/ || NF == 0 { print; next }
/^[^ \t]/ { section = $1 }
section == "global" && $1 == "log" && $2 != "global" && LOG != "" {
  if (LOG == "none") next
  ind = indent(); $2 = LOG; print ind $0; next
}
$1 == "bind" {
  line = $0
  if (match(line, /:98(0[3-9]|1[0-8])([^0-9]|$)/)) {
    port = substr(line, RSTART + 1, 4) + PORT_OFFSET
    line = substr(line, 1, RSTART) port substr(line, RSTART + 5)
  }
  sub(/bind[ \t]+(\*|0\.0\.0\.0|:::?):/, "bind 127.0.0.1:", line)
  print line; next
}
$1 == "server" || $1 == "server-template" {
  ind = indent()
  ai = ($1 == "server") ? 3 : 4            # position of <address>:<port>
  addr = $ai; host = addr; sub(/:[0-9]+$/, "", host)
  has_sni = ($0 ~ /[ \t]sni[ \t]/); has_vh = ($0 ~ /[ \t]verifyhost[ \t]/)
  if (host !~ /^[0-9.]+$/) $ai = "127.0.0.1:" INTAKE_PORT
  line = drop_dns()
  if (host !~ /^[0-9.]+$/) {
    if (!has_sni) line = line " sni str(" host ")"
    if (!has_vh) line = line " verifyhost " host
  }
  print ind substr(line, 2); next
}
$1 == "default-server" { print indent() substr(drop_dns(), 2); next }
{ print }
