# The fulfillment worker reads the provider and stores cards: it may encrypt card data and compute the
# blind index, never decrypt a card (DESIGN 3.7). Key upsert is impossible: no "create" on encrypt paths.
path "@MOUNT@/encrypt/cards-*" {
  capabilities = ["update"]
}
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
