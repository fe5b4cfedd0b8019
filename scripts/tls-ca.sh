#!/usr/bin/env bash
# A local certificate authority, for the stack's tls profile and the TLS tests (openssl only):
#   ca.crt / ca.key           the CA
#   server.crt / server.key   the local services (nginx before Temporal, OpenBao, PostgreSQL): DNS localhost,
#                             temporal.giftcards.local, vault.giftcards.local, postgres.giftcards.local, IP 127.0.0.1
#   <name>.crt / <name>.key   one client certificate per name given (CN giftcards-<name>, clientAuth only)
# Idempotent: what exists is kept. Keys are P-256, PKCS#8, mode 600.
#
#   bash scripts/tls-ca.sh DIR [client name...]
set -euo pipefail
dir=${1:?usage: tls-ca.sh DIR [client name...]}
shift
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077

newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
if [ ! -s ca.crt ]; then
  openssl req -x509 "${newkey[@]}" -keyout ca.key -out ca.crt -days 825 -subj "/CN=giftcards local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

issue() { # name common-name extensions
  [ -s "$1.crt" ] && [ -s "$1.key" ] && return 0
  openssl req "${newkey[@]}" -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -out "$1.crt" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

issue server localhost "subjectAltName=DNS:localhost,DNS:temporal.giftcards.local,DNS:vault.giftcards.local,DNS:postgres.giftcards.local,IP:127.0.0.1
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
for name in "$@"; do
  issue "$name" "giftcards-$name" "keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
done
