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
