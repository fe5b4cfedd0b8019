#!/usr/bin/env bash
# docker-compose one-shot: initialize Vault once (the unseal key and the root token stay on this container's
# own volume, /secrets), unseal it, and run the same bootstrap as the local stack. Each component's AppRole
# ids land in /approles/<component>/approle.env, on a volume only that component's container mounts
# (mode 600, owned by the app image's user).
set -euo pipefail
export VAULT_ADDR=${VAULT_ADDR:-http://vault:8200}
until vault status >/dev/null 2>&1 || [ $? = 2 ]; do sleep 1; done
if [ ! -s /secrets/init.json ]; then
  (umask 077 && vault operator init -key-shares=1 -key-threshold=1 -format=json >/secrets/init.json)
fi
if [ "$(vault status -format=json | jq -r .sealed)" = true ]; then
  vault operator unseal "$(jq -r '.unseal_keys_b64[0]' /secrets/init.json)" >/dev/null
fi
until vault status -format=json | jq -e '.ha_enabled == false or .leader_address != ""' >/dev/null 2>&1; do sleep 1; done
sleep 2
VAULT_TOKEN=$(jq -r .root_token /secrets/init.json) BAO_BIN=vault bash /app/scripts/vault-bootstrap.sh /approles
