# The delivery API reveals cards to their holder: it may decrypt card data, never encrypt new cards,
# manage or delete keys (DESIGN 3.7).
path "@MOUNT@/decrypt/cards-*" {
  capabilities = ["update"]
}
# Temporal payload codec (the codec endpoint, and the clients that start orders).
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
