# The operator CLIs (`npm run order`, `npm run ops`) start, signal, cancel and purge orders through
# Temporal: they need the payload codec's key to encode their arguments and read a status, and nothing
# else. They cannot decrypt, encrypt or manage a card key (DESIGN 3.7).
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
