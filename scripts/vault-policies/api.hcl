# The delivery API faces the internet: it holds no card key at all (DESIGN 3.7). Reveals go through the
# decryptor (decryptor/), which decrypts only the cards of the link or reveal key the API forwards.
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
