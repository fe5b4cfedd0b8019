# OpenBao/Vault server for docker-compose.yml: raft storage on a volume, so keys survive restarts.
storage "raft" {
  path    = "/vault/data"
  node_id = "compose"
}
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true # compose network only; production terminates TLS here
}
api_addr      = "http://vault:8200"
cluster_addr  = "http://vault:8201"
disable_mlock = true
