#!/usr/bin/env bash
# Idempotent Vault/OpenBao bootstrap, run by scripts/stack.sh with the root token (the only use of it):
# transit at $VAULT_TRANSIT_MOUNT, the keys the design needs, one least-privilege policy and AppRole per
# component. Writes the AppRole ids to the file given as $1 (under the ignored data folder).
set -euo pipefail
out=${1:?usage: vault-bootstrap.sh OUT_ENV_FILE}
bao=${BAO_BIN:-bao}
mount=${VAULT_TRANSIT_MOUNT:-transit}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${VAULT_ADDR:?}" "${VAULT_TOKEN:?}"

# Captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail.
mounts=$("$bao" secrets list -format=json)
grep -q "\"$mount/\"" <<<"$mounts" || "$bao" secrets enable -path="$mount" transit >/dev/null
auths=$("$bao" auth list -format=json)
grep -q '"approle/"' <<<"$auths" || "$bao" auth enable approle >/dev/null

ensure_key() { # name [params...]
  local name=$1
  shift
  "$bao" read "$mount/keys/$name" >/dev/null 2>&1 || "$bao" write -f "$mount/keys/$name" "$@" >/dev/null
}

# Blind index for dedupe: never rotated, and the worker pins version 1 (VAULT_INDEX_KEY_VERSION), because
# an HMAC computed under another version would not match the stored one.
ensure_key card-index type=aes256-gcm96
# Card data: one derived key per month of storage (the order id is the derivation context), so a whole
# month can be crypto-shredded by deleting its key. Created ahead of time: encrypt cannot create keys.
first_of_month=$(date -u +%Y-%m-01)
for i in 0 1 2; do
  ensure_key "cards-$(date -u -d "$first_of_month +$i month" +%Y-%m)" type=aes256-gcm96 derived=true
done
# Temporal payload codec: wraps per-process data keys.
ensure_key temporal-codec type=aes256-gcm96

: >"$out.new"
chmod 600 "$out.new"
for component in worker api retention; do
  sed "s/@MOUNT@/$mount/g" "$here/vault-policies/$component.hcl" | "$bao" policy write "giftcards-$component" - >/dev/null
  "$bao" write "auth/approle/role/giftcards-$component" token_policies="giftcards-$component" \
    token_ttl=1h token_max_ttl=24h secret_id_ttl=0 token_no_default_policy=false >/dev/null
  role_id=$("$bao" read -field=role_id "auth/approle/role/giftcards-$component/role-id")
  upper=$(echo "$component" | tr '[:lower:]' '[:upper:]')
  secret_id=$(grep "^${upper}_VAULT_SECRET_ID=" "$out" 2>/dev/null | cut -d= -f2- || true)
  # Keep an existing secret id while Vault still accepts it; mint a new one otherwise.
  if [ -z "$secret_id" ] || ! "$bao" write -field=token auth/approle/login role_id="$role_id" secret_id="$secret_id" >/dev/null 2>&1; then
    secret_id=$("$bao" write -f -field=secret_id "auth/approle/role/giftcards-$component/secret-id")
  fi
  printf '%s_VAULT_ROLE_ID=%s\n%s_VAULT_SECRET_ID=%s\n' "$upper" "$role_id" "$upper" "$secret_id" >>"$out.new"
done
mv "$out.new" "$out"
echo "[vault-bootstrap] transit at $mount/, keys and AppRoles for worker, api, retention ready" >&2
