# Retention manages the card key buckets: creates the coming months' keys ahead of time, and destroys
# buckets past retention (crypto-shredding). It is the only identity that may delete keys (DESIGN 3.7).
path "@MOUNT@/keys" {
  capabilities = ["list"]
}
path "@MOUNT@/keys/cards-*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "@MOUNT@/keys/cards-*/config" {
  capabilities = ["update"]
}
path "@MOUNT@/keys/cards-*/rotate" {
  capabilities = ["update"]
}
path "@MOUNT@/rewrap/cards-*" {
  capabilities = ["update"]
}
path "@MOUNT@/datakey/plaintext/temporal-codec" {
  capabilities = ["update"]
}
path "@MOUNT@/decrypt/temporal-codec" {
  capabilities = ["update"]
}
