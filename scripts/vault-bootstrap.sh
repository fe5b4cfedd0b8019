#!/usr/bin/env bash
# Idempotent Vault/OpenBao bootstrap, run by scripts/stack.sh (and docker-compose's vault-init) with the root
# token, its only use: transit at $VAULT_TRANSIT_MOUNT, the keys the design needs, and one least-privilege
# policy and AppRole per component. Each component's AppRole ids go to a file of its own,
# OUT_DIR/<component>/approle.env (mode 600), so that no process is handed another's identity.
#
#   VAULT_BOUND_CIDRS   where secret ids and tokens may be used from (the local stack: 127.0.0.1/32)
#   APPROLE_FILE_OWNER  uid:gid to give the files (docker-compose: the app image's user)
#   VAULT_RETIRE_FILE   an env file of secret ids minted before (the old all-in-one file): destroyed
set -euo pipefail
out_dir=${1:?usage: vault-bootstrap.sh OUT_DIR}
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

# Per component: secret id TTL, secret id uses (0: unlimited), token TTL, token max TTL, and how much of
# the secret id must be left (seconds of life, uses) before a bootstrap mints a new one. docs/security.md, "Vault
# identities" says why: the services log in at every start and once per token max TTL, so a use limit
# would turn a crash loop into an outage, and their bound is time (and where from); a CLI command logs in
# once and lives for seconds.
settings() {
  case $1 in
    worker | api | retention | decryptor) echo "720h 0 1h 24h $((7 * 86400)) 0" ;;
    cli) echo "168h 1000 15m 1h 86400 100" ;;
    *) echo "unknown component $1" >&2; exit 1 ;;
  esac
}

cidrs=${VAULT_BOUND_CIDRS:-}
to_epoch() { date -u -d "$1" +%s 2>/dev/null || echo 0; }

# A secret id still good enough to keep: known to Vault, not expiring soon, enough uses left. The lookup
# does not consume a use, where a test login would.
still_good() { # role secret_id min_life min_uses max_uses
  local role=$1 sid=$2 min_life=$3 min_uses=$4 max_uses=$5 exp uses
  [ -n "$sid" ] || return 1
  exp=$("$bao" write -field=expiration_time "auth/approle/role/$role/secret-id/lookup" secret_id="$sid" 2>/dev/null) || return 1
  [ -n "$exp" ] || return 1
  if [ "$(to_epoch "$exp")" -gt 0 ] && [ "$(( $(to_epoch "$exp") - $(date -u +%s) ))" -lt "$min_life" ]; then return 1; fi
  if [ "$max_uses" != 0 ]; then
    uses=$("$bao" write -field=secret_id_num_uses "auth/approle/role/$role/secret-id/lookup" secret_id="$sid" 2>/dev/null) || return 1
    [ "$uses" -ge "$min_uses" ] || return 1
  fi
}

destroy_secret_id() { # role secret_id
  "$bao" write "auth/approle/role/$1/secret-id/destroy" secret_id="$2" >/dev/null 2>&1 || true
}

mkdir -p "$out_dir"
chmod 700 "$out_dir"
for component in worker api retention cli decryptor; do
  role=giftcards-$component
  read -r sid_ttl sid_uses tok_ttl tok_max min_life min_uses <<<"$(settings "$component")"
  sed "s/@MOUNT@/$mount/g" "$here/vault-policies/$component.hcl" | "$bao" policy write "$role" - >/dev/null
  # token_no_default_policy: the token carries its component's policy only, not Vault's `default` (cubbyhole,
  # response wrapping, capabilities and lease lookups nothing here uses); the two token paths the apps do use
  # (renew-self, lookup-self) are in each policy. A role written before keeps it until this rewrite.
  "$bao" write "auth/approle/role/$role" token_policies="$role" token_no_default_policy=true \
    token_ttl="$tok_ttl" token_max_ttl="$tok_max" secret_id_ttl="$sid_ttl" secret_id_num_uses="$sid_uses" \
    secret_id_bound_cidrs="$cidrs" token_bound_cidrs="$cidrs" >/dev/null
  role_id=$("$bao" read -field=role_id "auth/approle/role/$role/role-id")
  upper=$(echo "$component" | tr '[:lower:]' '[:upper:]')
  file=$out_dir/$component/approle.env
  mkdir -p "$out_dir/$component"
  chmod 700 "$out_dir/$component"
  secret_id=$(grep "^${upper}_VAULT_SECRET_ID=" "$file" 2>/dev/null | cut -d= -f2- || true)
  if ! still_good "$role" "$secret_id" "$min_life" "$min_uses" "$sid_uses"; then
    [ -z "$secret_id" ] || destroy_secret_id "$role" "$secret_id"
    secret_id=$("$bao" write -f -field=secret_id "auth/approle/role/$role/secret-id")
  fi
  (umask 077 && printf '%s_VAULT_ROLE_ID=%s\n%s_VAULT_SECRET_ID=%s\n' "$upper" "$role_id" "$upper" "$secret_id" >"$file.new")
  [ -z "${APPROLE_FILE_OWNER:-}" ] || chown "$APPROLE_FILE_OWNER" "$file.new" "$out_dir/$component"
  chmod 600 "$file.new"
  mv "$file.new" "$file"
done

# Secret ids of an older layout (no TTL, every one in one file): retired, so that a copy of that file is
# worth nothing.
if [ -n "${VAULT_RETIRE_FILE:-}" ] && [ -s "$VAULT_RETIRE_FILE" ]; then
  for component in worker api retention; do
    upper=$(echo "$component" | tr '[:lower:]' '[:upper:]')
    old=$(grep "^${upper}_VAULT_SECRET_ID=" "$VAULT_RETIRE_FILE" | cut -d= -f2- || true)
    [ -z "$old" ] || destroy_secret_id "giftcards-$component" "$old"
  done
fi
echo "[vault-bootstrap] transit at $mount/, keys and AppRoles for worker, api, retention, cli, decryptor ready" >&2
