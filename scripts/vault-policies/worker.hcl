# The fulfillment worker reads the provider and stores cards: it may encrypt card data and compute the
# blind index, never decrypt a card (DESIGN 3.7). Key upsert is impossible: no "create" on encrypt paths.
path "@MOUNT@/encrypt/cards-*" {
  capabilities = ["update"]
}
# The blind index: an HMAC under the card's own bucket key, so that it dies with the bucket
# (domain/card-buckets.ts); hmac on a key that does not exist fails, it never creates one.
path "@MOUNT@/hmac/cards-*" {
  capabilities = ["update"]
}
# The shared index key of cards stored before indexes moved to buckets, compared while such orders are open.
path "@MOUNT@/hmac/card-index" {
  capabilities = ["update"]
}
path "@MOUNT@/hmac/card-index/*" {
  capabilities = ["update"]
}
# Temporal payload codec: a data key per process, wrapped by the codec key.
path "@MOUNT@/datakey/plaintext/temporal-codec" {
  capabilities = ["update"]
}
path "@MOUNT@/decrypt/temporal-codec" {
  capabilities = ["update"]
}
# Its own token, as Vault's `default` policy would allow (the AppRole has token_no_default_policy): renewed
# before it expires (lib/vault.ts connectVault) and looked up by the readiness check (lib/ops-server.ts) and
# when handed as VAULT_TOKEN (the root-token refusal).
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
