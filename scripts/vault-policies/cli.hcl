# The operator CLIs (`npm run order`, `npm run ops`) start, signal, cancel and purge orders through
# Temporal: they need the payload codec's key to encode their arguments and read a status, and nothing
# else. They cannot decrypt, encrypt or manage a card key (DESIGN 3.7).
path "@MOUNT@/datakey/plaintext/temporal-codec" {
  capabilities = ["update"]
}
path "@MOUNT@/decrypt/temporal-codec" {
  capabilities = ["update"]
}
