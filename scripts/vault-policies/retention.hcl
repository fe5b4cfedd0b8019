# Retention manages the card key buckets: creates the coming months' keys ahead of time, destroys
# buckets past retention (crypto-shredding), and rotates keys (`npm run keys:rotate`: rotate, rewrap the
# stored cards, raise min_decryption_version). It is the only identity that may delete keys (DESIGN 3.7).
path "@MOUNT@/keys" {
  capabilities = ["list"]
}
# Vault's policy paths take a glob only at their end, so this one stanza also covers a key's /config and
# /rotate: its parameters are the union of what creating a bucket (an aes256-gcm96 key derived per order),
# destroying one (deletion_allowed) and finishing a rotation (`npm run keys:rotate`: min_decryption_version,
# once every card is rewrapped) send. Anything else (exportable, allow_plaintext_backup, another type,
# convergent encryption, min_encryption_version, auto-rotation…) is refused with 403.
path "@MOUNT@/keys/cards-*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "type"                   = ["aes256-gcm96"]
    "derived"                = [true]
    "deletion_allowed"       = [true]
    "min_decryption_version" = []
  }
}
path "@MOUNT@/rewrap/cards-*" {
  capabilities = ["update"]
}
# Moving a card whose order outlives its bucket into the bucket of its purge date (domain/card-buckets.ts,
# the sweep's rebucketCards): transit has no rewrap across keys, so the card is decrypted and encrypted
# again, and its blind index computed again under the new bucket. The retention worker is the one identity
# allowed to: it faces neither the provider nor the internet, and every move is audited (CARDS_REBUCKETED).
path "@MOUNT@/decrypt/cards-*" {
  capabilities = ["update"]
}
path "@MOUNT@/encrypt/cards-*" {
  capabilities = ["update"]
}
path "@MOUNT@/hmac/cards-*" {
  capabilities = ["update"]
}
# Key rotation (`npm run keys:rotate -- --codec`): the codec key is rotated and read; its
# min_decryption_version is raised only as far as the open workflows allow (domain/key-rotation.ts). No
# rewrap: what it wraps lives in Temporal histories.
path "@MOUNT@/keys/temporal-codec" {
  capabilities = ["read"]
}
path "@MOUNT@/keys/temporal-codec/rotate" {
  capabilities = ["update"]
}
path "@MOUNT@/keys/temporal-codec/config" {
  capabilities = ["update"]
  allowed_parameters = {
    "min_decryption_version" = []
  }
}
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
