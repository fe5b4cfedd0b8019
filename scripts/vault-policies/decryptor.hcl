# The decryptor (decryptor/) shows a card to its holder: it may decrypt card data and nothing else (DESIGN
# 3.7). No payload codec either: it never talks to Temporal. It decrypts only the cards of a link token or
# reveal key it consumes in the same database transaction; the internet-facing API holds no decrypt at all.
path "@MOUNT@/decrypt/cards-*" {
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
