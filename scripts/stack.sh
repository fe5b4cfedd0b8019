#!/usr/bin/env bash
# The local stack: Temporal dev server, OpenBao (Vault API) on raft storage, PostgreSQL, MailDev, the
# provider sandbox, the workers and the delivery API. Everything lives under one ignored folder (.data/).
#
#   scripts/stack.sh up        start whatever is not running (idempotent), bootstrap Vault, migrate the DB
#   scripts/stack.sh up --replicas N   as many fulfillment workers and API processes (default 2; kept for
#                              the next `up`): the fleet's shape on one machine
#   scripts/stack.sh down      stop everything (data is kept)
#   scripts/stack.sh stop X    stop one service (postgres, vault, …); `up` brings it back
#   scripts/stack.sh status    what runs, and where
#   scripts/stack.sh env [C]   print component C's environment file (worker, api, cli, test, …)
#   scripts/stack.sh pg-home   where the PostgreSQL cluster lives (.data/pg, or outside a private folder)
#   scripts/stack.sh operator-token <user>   a short-lived access token of a seeded operator (vera, sam,
#                              sofia, ada, alan; identity-provider/operators.ts), for `npm run ops` and the CLI
#
# Every port can be changed with the variables below. Each app process has an ops port (/metrics, /readyz)
# and each worker its Temporal SDK metrics port; Prometheus scrapes them all. `up --services` starts the
# services without the worker/API processes (the tests run their own workers in-process). `up --profile tls`
# (or STACK_PROFILE=tls) runs the same stack over TLS on a local CA (.data/tls): Temporal behind nginx with
# client certificates (mTLS), OpenBao on https, PostgreSQL with sslmode=verify-full. `up --profile cluster`
# runs Temporal's own server instead of the dev server (built by `scripts/install.sh --cluster` from the Go
# module go.temporal.io/server), persisting to the stack's PostgreSQL, its frontend over mTLS on the same
# local CA, with the standalone Temporal UI server in front of it. The profile is kept for the next `up` (as
# the replica count is); `up --profile plain` goes back, after a `down`.
#
# Each process gets an environment file of its own under .data/env/ (mode 600) with only what it needs, and
# starts with an otherwise empty environment: the worker never holds the API's or retention's secrets.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=$ROOT/.data
LOGS=$DATA/logs
RUN=$DATA/run
SECRETS=$DATA/secrets
ENVS=$DATA/env
TLS=$DATA/tls

TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
VAULT_PORT=${VAULT_PORT:-8200}
VAULT_CLUSTER_PORT=${VAULT_CLUSTER_PORT:-8201}
PG_PORT=${PG_PORT:-55432}
SMTP_PORT=${SMTP_PORT:-1025}
MAIL_WEB_PORT=${MAIL_WEB_PORT:-1080}
PROVIDER_SANDBOX_PORT=${PROVIDER_SANDBOX_PORT:-4010}
# The operators' identity provider (identity-provider/, oidc-provider): its issuer is http://$HOST:$IDP_PORT.
IDP_PORT=${IDP_PORT:-4020}
API_PORT=${API_PORT:-3000}
# The decryptor (the one process that decrypts cards) listens on loopback only; the app issuer stand-in
# publishes the customer app's token keys (JWKS).
DECRYPTOR_PORT=${DECRYPTOR_PORT:-3110}
DECRYPTOR_OPS_PORT=${DECRYPTOR_OPS_PORT:-9470}
APP_ISSUER_PORT=${APP_ISSUER_PORT:-4030}
# The API's internal listener (codec endpoint, ops API; replica i on API_INTERNAL_PORT + i - 1): operators
# only, never the customers' API_PORT.
API_INTERNAL_PORT=${API_INTERNAL_PORT:-3100}
# A Temporal UI server the browser test starts itself with OIDC login (test/stack/ui-codec-browser.test.ts).
TEST_UI_PORT=${TEST_UI_PORT:-8234}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
API_OPS_PORT=${API_OPS_PORT:-9464}
WORKER_OPS_PORT=${WORKER_OPS_PORT:-9465}
WORKER_SDK_METRICS_PORT=${WORKER_SDK_METRICS_PORT:-9466}
RETENTION_OPS_PORT=${RETENTION_OPS_PORT:-9467}
RETENTION_SDK_METRICS_PORT=${RETENTION_SDK_METRICS_PORT:-9468}
TEMPORAL_SERVER_METRICS_PORT=${TEMPORAL_SERVER_METRICS_PORT:-9469}
# Replica i > 1 of the API listens on API_PORT + i - 1; the replicas' ops ports count up from here.
REPLICA_PORT_BASE=${REPLICA_PORT_BASE:-9500}
TEMPORAL_TLS_PORT=${TEMPORAL_TLS_PORT:-7234}
# Cluster profile: the server's other services (history, matching, worker) and the four membership ports,
# from here up (loopback only; only the frontend, on TEMPORAL_PORT, takes clients).
TEMPORAL_INTERNAL_PORT_BASE=${TEMPORAL_INTERNAL_PORT_BASE:-7240}
# Cluster profile: history shards, fixed when Temporal's databases are created (see deploy/README.md).
TEMPORAL_HISTORY_SHARDS=${TEMPORAL_HISTORY_SHARDS:-4}
STACK_PROFILE=${STACK_PROFILE:-}
VAULT_TRANSIT_MOUNT=${VAULT_TRANSIT_MOUNT:-transit}
HOST=127.0.0.1

export PATH="$ROOT/.tools/venv/bin:$ROOT/node_modules/.bin:$PATH"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$2" && return 0
    sleep 0.1
  done
  die "$1 did not open port $2 within $3 s (see $LOGS/$1.log)"
}

# Alive, and not a zombie that nothing reaped (a container's init may not).
pid_alive() {
  [ -f "$RUN/$1.pid" ] || return 1
  local pid
  pid=$(cat "$RUN/$1.pid")
  kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]
}

# Starts a long-running process in its own session, logging to .data/logs/<name>.log.
start_proc() { # name port cmd...
  local name=$1 port=$2
  shift 2
  if pid_alive "$name"; then
    log "$name already running (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  if port_open "$port"; then
    die "port $port (for $name) is taken by another process; set its *_PORT variable to move it"
  fi
  # An otherwise empty environment: the caller's secrets (a test's, an operator's shell) stay out, and an app
  # gets its secrets from its own env file only (STACK_ENV_FILE, set by app_up).
  setsid nohup env -i "${KEEP_ENV[@]}" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  log "$name started (pid $!, log .data/logs/$name.log)"
}

KEEP_ENV=()
for v in PATH HOME USER LANG LC_ALL TZ TMPDIR NODE_ENV LOG_LEVEL; do
  [ -z "${!v:-}" ] || KEEP_ENV+=("$v=${!v}")
done

stop_proc() {
  local name=$1 pid i
  pid_alive "$name" || { rm -f "$RUN/$name.pid"; return 0; }
  pid=$(cat "$RUN/$name.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  log "$name stopped"
}

secret() { # name: a random secret generated once and kept under .data/secrets
  local f=$SECRETS/$1
  [ -s "$f" ] || (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' >"$f")
  cat "$f"
}

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];process.stdout.write(Array.isArray(v)?String(v[0]):String(v))})' "$1"; }

bin_or_die() {
  local b
  for b in "$@"; do command -v "$b" >/dev/null 2>&1 && { echo "$b"; return 0; }; done
  die "none of [$*] found; run scripts/install.sh first"
}

# ---------------------------------------------------------------- Temporal
temporal_up() {
  if [ "$STACK_PROFILE" = cluster ]; then temporal_cluster_up; else temporal_dev_up; fi
}

# One partition per task queue on the dev server: its default four spread each queue over partitions that the
# stack's one or two workers' few pollers often leave unpolled, and a workflow's first task sat there for
# seconds (a fifth of the benchmark's orders and baselines took 5-7 s instead of 1-2). A fleet's cluster sets
# them per queue, for its many workers' pollers (deploy/README.md).
TEMPORAL_DEV_PARTITIONS=(--dynamic-config-value matching.numTaskqueueReadPartitions=1
  --dynamic-config-value matching.numTaskqueueWritePartitions=1
  # Task queue fairness: each order carries its intake caller as fairness key (domain/orders startOrder), and
  # the provider's rate-limited queue is dispatched in fair shares per caller (test/stack/provider-shares).
  --dynamic-config-value matching.enableFairness=true)

temporal_dev_up() {
  local temporal
  temporal=$(bin_or_die temporal)
  mkdir -p "$DATA/temporal"
  start_proc temporal "$TEMPORAL_PORT" "$temporal" server start-dev \
    --ip "$HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$DATA/temporal/temporal.db" --sqlite-pragma journal_mode=wal \
    --ui-codec-endpoint "http://$HOST:$API_INTERNAL_PORT/codec" --ui-disable-news-fetch \
    --search-attribute OrderStatus=Keyword --search-attribute OrderOutcome=Keyword \
    --search-attribute CardCount=Int --log-level warn --metrics-port "$TEMPORAL_SERVER_METRICS_PORT" \
    "${TEMPORAL_DEV_PARTITIONS[@]}"
  wait_port temporal "$TEMPORAL_PORT" 60
  wait_port temporal "$TEMPORAL_UI_PORT" 60
}

# ---------------------------------------------------------------- TLS profile: local CA, nginx before Temporal
# Client certificates: one per component (and one for the tests), all from the same local CA; the cluster
# profile's Temporal server adds its own system worker and the UI server, both clients of its frontend.
TLS_CLIENTS=(worker retention-worker api cli test temporal-system temporal-ui)

tls_ca() {
  command -v openssl >/dev/null || die "openssl not found; run scripts/install.sh first"
  bash "$ROOT/scripts/tls-ca.sh" "$TLS" "${TLS_CLIENTS[@]}"
}

# nginx terminates TLS for the Temporal dev server (which speaks plain gRPC on 127.0.0.1 only) and lets in
# only clients with a certificate of the local CA: the apps connect to TEMPORAL_TLS_PORT.
nginx_up() {
  local nginx prefix=$DATA/nginx
  nginx=$(bin_or_die nginx /usr/sbin/nginx)
  mkdir -p "$prefix/tmp"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@LISTEN@#$HOST:$TEMPORAL_TLS_PORT#g" -e "s#@UPSTREAM@#$HOST:$TEMPORAL_PORT#g" \
    -e "s#@CERT@#$TLS/server.crt#g" -e "s#@KEY@#$TLS/server.key#g" -e "s#@CA@#$TLS/ca.crt#g" \
    "$ROOT/deploy/temporal-grpc-proxy.conf" >"$prefix/nginx.conf"
  "$nginx" -t -q -p "$prefix" -c "$prefix/nginx.conf" -e stderr || die "nginx refused $prefix/nginx.conf"
  start_proc nginx "$TEMPORAL_TLS_PORT" "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e stderr
  wait_port nginx "$TEMPORAL_TLS_PORT" 30
}

# ---------------------------------------------------------------- cluster profile: Temporal's own server
# shellcheck source=scripts/temporal-versions.sh
. "$ROOT/scripts/temporal-versions.sh"
SERVER_DIR=$ROOT/.tools/temporal-server/$TEMPORAL_SERVER_VERSION
UI_DIR=$ROOT/.tools/temporal-ui/$TEMPORAL_UI_VERSION
CLUSTER=$DATA/temporal-cluster

# Built once into .tools/ (shared by every checkout that links it): about 5 minutes the first time.
cluster_tools() {
  if [ ! -x "$SERVER_DIR/temporal-server" ] || [ ! -x "$SERVER_DIR/temporal-sql-tool" ] \
    || [ ! -x "$UI_DIR/temporal-ui-server" ]; then
    log "Temporal's server is not built yet: building it (scripts/build-temporal.sh)"
    bash "$ROOT/scripts/build-temporal.sh" || die "building Temporal's server failed (scripts/build-temporal.sh)"
  fi
}

# Its own role and two databases in the stack's PostgreSQL, the schema from the module (temporal-sql-tool):
# set up once, brought to the binary's version on every `up`.
temporal_db() {
  [ -z "${EXTERNAL_DATABASE_URL:-}" ] || die "the cluster profile keeps Temporal in the stack's own PostgreSQL; unset EXTERNAL_DATABASE_URL"
  local pw db dir started
  pw=$(secret temporal-db-password)
  PGPASSWORD=$(secret pg-superuser-password) psql -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null <<SQL
SELECT 'CREATE ROLE temporal LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'temporal')\gexec
ALTER ROLE temporal PASSWORD '$pw';
SELECT 'CREATE DATABASE temporal OWNER temporal' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'temporal')\gexec
SELECT 'CREATE DATABASE temporal_visibility OWNER temporal' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'temporal_visibility')\gexec
SQL
  mkdir -p "$CLUSTER" && chmod 700 "$CLUSTER"
  # The shard count is written into the databases at the first start and cannot change after it.
  if [ -s "$CLUSTER/history-shards" ] && [ "$(cat "$CLUSTER/history-shards")" != "$TEMPORAL_HISTORY_SHARDS" ]; then
    die "Temporal's databases were created with $(cat "$CLUSTER/history-shards") history shards, not $TEMPORAL_HISTORY_SHARDS: the count is fixed at creation (drop the databases temporal and temporal_visibility for a new cluster)"
  fi
  started=$(date +%s)
  for db in temporal temporal_visibility; do
    dir=temporal && [ "$db" = temporal ] || dir=visibility
    if [ "$(PGPASSWORD=$pw psql -h "$HOST" -p "$PG_PORT" -U temporal -d "$db" -tAc "SELECT to_regclass('schema_version') IS NOT NULL")" != t ]; then
      sql_tool "$db" setup-schema -v 0.0 || die "temporal-sql-tool setup-schema on $db failed (see $LOGS/temporal-schema.log)"
    fi
    sql_tool "$db" update-schema -d "$SERVER_DIR/schema/postgresql/v12/$dir/versioned" \
      || die "temporal-sql-tool update-schema on $db failed (see $LOGS/temporal-schema.log)"
  done
  echo "$TEMPORAL_HISTORY_SHARDS" >"$CLUSTER/history-shards"
  log "Temporal's schema is current in databases temporal and temporal_visibility ($(($(date +%s) - started)) s)"
}

sql_tool() { # database command…: the password through the environment, never on a command line
  SQL_PASSWORD=$(secret temporal-db-password) "$SERVER_DIR/temporal-sql-tool" --plugin postgres12 --ep "$HOST" \
    -p "$PG_PORT" -u temporal --db "$@" >>"$LOGS/temporal-schema.log" 2>&1
}

# The `temporal` CLI against the cluster's frontend, with the CLI's client certificate.
tcli() {
  temporal "$@" --address "$HOST:$TEMPORAL_PORT" --tls-ca-path "$TLS/ca.crt" --tls-cert-path "$TLS/cli.crt" \
    --tls-key-path "$TLS/cli.key" --tls-server-name temporal.giftcards.local
}

temporal_cluster_up() {
  cluster_tools
  temporal_db
  local b=$TEMPORAL_INTERNAL_PORT_BASE
  (umask 077 && sed -e "s#__HOST__#$HOST#g" -e "s#__PG_ADDRESS__#$HOST:$PG_PORT#g" \
    -e "s#__PG_PASSWORD__#$(secret temporal-db-password)#g" -e "s#__SHARDS__#$TEMPORAL_HISTORY_SHARDS#g" \
    -e "s#__METRICS_PORT__#$TEMPORAL_SERVER_METRICS_PORT#g" -e "s#__TLS__#$TLS#g" \
    -e "s#__FRONTEND_PORT__#$TEMPORAL_PORT#g" -e "s#__HISTORY_PORT__#$b#g" -e "s#__MATCHING_PORT__#$((b + 1))#g" \
    -e "s#__WORKER_PORT__#$((b + 2))#g" -e "s#__FRONTEND_MEMBERSHIP_PORT__#$((b + 3))#g" \
    -e "s#__HISTORY_MEMBERSHIP_PORT__#$((b + 4))#g" -e "s#__MATCHING_MEMBERSHIP_PORT__#$((b + 5))#g" \
    -e "s#__WORKER_MEMBERSHIP_PORT__#$((b + 6))#g" -e "s#__DYNAMIC_CONFIG__#$ROOT/deploy/temporal-dynamic-config.yaml#g" \
    "$ROOT/deploy/temporal-server.yaml" >"$CLUSTER/config.yaml")
  # No authorizer: the frontend's mTLS lets in the local CA's certificates only, and any of them may do anything.
  start_proc temporal "$TEMPORAL_PORT" "$SERVER_DIR/temporal-server" --config-file "$CLUSTER/config.yaml" \
    --allow-no-auth start
  wait_port temporal "$TEMPORAL_PORT" 120
  local i
  for ((i = 0; i < 120; i++)); do
    tcli operator cluster health >/dev/null 2>&1 && break
    pid_alive temporal || die "Temporal's server exited (see $LOGS/temporal.log)"
    sleep 0.5
  done
  tcli operator cluster health >/dev/null 2>&1 || die "Temporal's frontend does not answer over mTLS (see $LOGS/temporal.log)"
  # A server that just got its database back may not see its namespaces for a few seconds: retried.
  for ((i = 0; i < 60; i++)); do
    tcli operator namespace describe --namespace default >/dev/null 2>&1 && break
    # Closed orders' histories are kept 3 days (the dev server: 1 day); an open order keeps its own.
    if tcli operator namespace create --namespace default --retention 72h >/dev/null 2>&1; then
      log "namespace default registered"
      break
    fi
    sleep 1
  done
  tcli operator namespace describe --namespace default >/dev/null 2>&1 || die "could not register the namespace default"
  temporal_search_attributes
  temporal_ui_up
}

# The attributes the order workflow upserts (contracts/order.ts), registered once per namespace.
temporal_search_attributes() {
  local name type have i
  for ((i = 0; i < 60; i++)); do # a new namespace reaches every service within seconds
    have=$(tcli operator search-attribute list --namespace default 2>/dev/null) && break
    sleep 0.5
  done
  for name in OrderStatus=Keyword OrderOutcome=Keyword CardCount=Int; do
    type=${name#*=} name=${name%%=*}
    grep -qw "$name" <<<"$have" && continue
    # Until the server lists it: on the cluster profile a create can fail while the previous attribute's
    # change is still reaching every service, and a created one can take a moment to be listed.
    for ((i = 0; i < 60; i++)); do
      tcli operator search-attribute list --namespace default 2>/dev/null | grep -qw "$name" && break
      tcli operator search-attribute create --namespace default --name "$name" --type "$type" >/dev/null 2>&1 || true
      sleep 0.5
    done
    ((i < 60)) || die "could not register the search attribute $name"
    log "search attribute $name ($type) registered"
  done
}

# The standalone UI server (the one the dev server embeds), a client of the frontend with its own certificate.
temporal_ui_up() {
  mkdir -p "$DATA/temporal-ui/config"
  cat >"$DATA/temporal-ui/config/base.yaml" <<EOF
temporalGrpcAddress: $HOST:$TEMPORAL_PORT
host: $HOST
port: $TEMPORAL_UI_PORT
enableUi: true
defaultNamespace: default
disableNewsFetch: true
cors:
  # Plain http on loopback, as the dev server's UI: a Secure CSRF cookie would never come back.
  cookieInsecure: true
  allowOrigins: [http://$HOST:$TEMPORAL_UI_PORT]
tls:
  caFile: $TLS/ca.crt
  certFile: $TLS/temporal-ui.crt
  keyFile: $TLS/temporal-ui.key
  serverName: temporal.giftcards.local
  enableHostVerification: true
# Operators sign in at the stack's identity provider; the UI passes each one's own access token to the
# codec endpoint (on the API's internal listener), which verifies it and audits the decode by name.
auth:
  enabled: true
  providers:
    - label: Operator sign-in
      type: oidc
      providerUrl: http://$HOST:$IDP_PORT
      issuerUrl: http://$HOST:$IDP_PORT
      clientId: temporal-ui
      clientSecret: $(secret idp-temporal-ui-client-secret)
      callbackUrl: http://$HOST:$TEMPORAL_UI_PORT/auth/sso/callback
      scopes: [openid, profile, giftcards:ops]
codec:
  endpoint: $(internal_url)/codec
  passAccessToken: true
EOF
  chmod 600 "$DATA/temporal-ui/config/base.yaml"
  start_proc temporal-ui "$TEMPORAL_UI_PORT" "$UI_DIR/temporal-ui-server" --root "$DATA/temporal-ui" --config config \
    --env cluster start
  wait_port temporal-ui "$TEMPORAL_UI_PORT" 60
}

# ---------------------------------------------------------------- OpenBao / Vault
vault_up() {
  local bao init
  bao=$(bin_or_die bao vault)
  mkdir -p "$DATA/bao/raft"
  local tls_settings='tls_disable = true'
  if [ "$STACK_PROFILE" = tls ]; then
    tls_settings="tls_cert_file = \"$TLS/server.crt\"
  tls_key_file  = \"$TLS/server.key\"
  tls_min_version = \"tls12\""
  fi
  cat >"$DATA/bao/config.hcl" <<EOF
storage "raft" {
  path    = "$DATA/bao/raft"
  node_id = "local"
}
listener "tcp" {
  address     = "$HOST:$VAULT_PORT"
  $tls_settings
  # OpenBao's default (1000 JSON strings per request) would cap a transit batch at about 250 cards.
  max_request_json_strings = 1000000
}
api_addr      = "$(vault_url)"
cluster_addr  = "http://$HOST:$VAULT_CLUSTER_PORT"
disable_mlock = true
log_level     = "warn"
EOF
  start_proc vault "$VAULT_PORT" "$bao" server -config="$DATA/bao/config.hcl"
  wait_port vault "$VAULT_PORT" 30
  export VAULT_ADDR
  VAULT_ADDR=$(vault_url)
  [ "$STACK_PROFILE" != tls ] || export VAULT_CACERT=$TLS/ca.crt
  init=$DATA/bao/init.json
  if [ ! -s "$init" ]; then
    # Initializing twice would lose the keys of the first: only a Vault that says it is new gets it.
    if "$bao" status -format=json 2>/dev/null | grep -q '"initialized": true'; then
      die "Vault in .data/bao is initialized but .data/bao/init.json is missing: its keys are lost"
    fi
    log "initializing Vault (one unseal key, kept in .data/bao/init.json: local only)"
    if ! (umask 077 && "$bao" operator init -key-shares=1 -key-threshold=1 -format=json >"$init.tmp"); then
      die "bao operator init failed (see $LOGS/vault.log)"
    fi
    mv "$init.tmp" "$init"
  fi
  local status=0
  "$bao" status >/dev/null 2>&1 || status=$?
  if [ "$status" = 2 ]; then
    "$bao" operator unseal "$(json_field unseal_keys_b64 <"$init")" >/dev/null
    log "Vault unsealed"
  elif [ "$status" != 0 ]; then
    die "Vault does not answer (bao status exit $status; see $LOGS/vault.log)"
  fi
  # Raft needs a moment after unseal to elect itself leader.
  local i leader
  for ((i = 0; i < 100; i++)); do
    leader=$(VAULT_TOKEN=$(json_field root_token <"$init") "$bao" read -format=json sys/leader 2>/dev/null || true)
    grep -q '"is_self": true' <<<"$leader" && break
    sleep 0.2
  done
  # Secret ids usable from this machine only; the ones of the old all-in-one layout are destroyed.
  VAULT_TOKEN=$(json_field root_token <"$init") BAO_BIN="$bao" VAULT_BOUND_CIDRS=$HOST/32 \
    VAULT_RETIRE_FILE=$SECRETS/approles.env bash "$ROOT/scripts/vault-bootstrap.sh" "$SECRETS/vault"
  rm -f "$SECRETS/approles.env"
}

vault_url() { if [ "$STACK_PROFILE" = tls ]; then echo "https://$HOST:$VAULT_PORT"; else echo "http://$HOST:$VAULT_PORT"; fi; }

# ---------------------------------------------------------------- PostgreSQL
pg_bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/pg_ctl" ]; then pg_config --bindir; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || die "PostgreSQL server binaries not found; run scripts/install.sh (or set DATABASE_URL)"
  echo "$d"
}

as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

# Where the PostgreSQL cluster lives. Run as root, the server runs as the postgres user, which must be able
# to reach its folder: under .data/pg when it can, and when the checkout is in a private folder (a home of
# mode 700, say) in /var/lib/giftcards/pg-<hash of the checkout's path> instead, one per checkout.
pg_home() {
  if [ "$(id -u)" != 0 ] || { mkdir -p "$DATA" && runuser -u postgres -- test -x "$DATA" 2>/dev/null; }; then
    printf '%s\n' "$DATA/pg"
  else
    printf '/var/lib/giftcards/pg-%s\n' "$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
  fi
}

pg_up() {
  if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then
    log "using EXTERNAL_DATABASE_URL; no local PostgreSQL started"
    return 0
  fi
  local bin home pgdata pw app_pw owner_pw
  bin=$(pg_bindir)
  home=$(pg_home)
  pgdata=$home/data
  # Clusters made before the two passwords were split used the app's password for the superuser too.
  if [ -s "$pgdata/PG_VERSION" ] && [ ! -s "$SECRETS/pg-superuser-password" ]; then
    cp "$SECRETS/pg-password" "$SECRETS/pg-superuser-password"
  fi
  pw=$(secret pg-superuser-password) # the stack script's own; the apps never see it
  app_pw=$(secret pg-password)
  owner_pw=$(secret pg-owner-password)
  mkdir -p "$home/run"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$home" && chmod 700 "$home"
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $home"
    local pwfile=$home/run/.pw
    (umask 077 && printf '%s\n' "$pw" >"$pwfile")
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_pg "$bin/initdb" -D "$pgdata" -U postgres --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$LOGS/pg-initdb.log" 2>&1 \
      || die "initdb failed (see $LOGS/pg-initdb.log)"
    rm -f "$pwfile"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    port_open "$PG_PORT" && die "port $PG_PORT (for PostgreSQL) is taken; set PG_PORT"
    # The server writes its log where it can; .data/logs/postgres.log points at it.
    touch "$home/postgres.log" && { [ "$(id -u)" != 0 ] || chown postgres "$home/postgres.log"; }
    ln -sfn "$home/postgres.log" "$LOGS/postgres.log"
    local ssl_opts=''
    if [ "$STACK_PROFILE" = tls ]; then
      # The server's own copy of the local CA's server certificate: its key must belong to the postgres user.
      mkdir -p "$home/tls"
      cp "$TLS/server.crt" "$TLS/server.key" "$home/tls/"
      if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$home/tls"; fi
      chmod 600 "$home/tls/server.key"
      # TCP clients must use TLS (hostssl); the cluster's own pg_hba.conf stays as it is for the plain profile.
      printf '%s\n' 'local all all scram-sha-256' 'hostssl all all 127.0.0.1/32 scram-sha-256' \
        'hostssl all all ::1/128 scram-sha-256' >"$home/tls/pg_hba.conf"
      if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$home/tls/pg_hba.conf"; fi
      ssl_opts="-c ssl=on -c ssl_cert_file=$home/tls/server.crt -c ssl_key_file=$home/tls/server.key -c hba_file=$home/tls/pg_hba.conf"
    fi
    as_pg "$bin/pg_ctl" -D "$pgdata" -l "$home/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $home/run -c listen_addresses=$HOST $ssl_opts" start >/dev/null || die "PostgreSQL did not start (see $LOGS/postgres.log)"
    log "PostgreSQL started on $HOST:$PG_PORT (data in $home)"
  else
    log "PostgreSQL already running"
  fi
  # Two roles, created once: giftcards_owner owns the schema and runs the migrations; giftcards, the apps'
  # role, gets only the rows it needs (INSERT and SELECT on the audit log: it cannot alter the table or
  # switch off the triggers that keep it append-only), and no CREATEDB (clusters made before lose it here).
  # The superuser password is only used here.
  PGPASSWORD=$pw psql -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null <<SQL
SELECT 'CREATE ROLE giftcards_owner LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'giftcards_owner')\gexec
ALTER ROLE giftcards_owner PASSWORD '$owner_pw';
SELECT 'CREATE ROLE giftcards LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'giftcards')\gexec
ALTER ROLE giftcards NOCREATEDB NOCREATEROLE NOSUPERUSER PASSWORD '$app_pw';
SELECT 'CREATE DATABASE giftcards OWNER giftcards_owner' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'giftcards')\gexec
ALTER DATABASE giftcards SET giftcards.app_role = 'giftcards';
SQL
  # One role per component (giftcards_worker, _api, _retention, _cli, _decryptor), passwords in .data/secrets/pg-<c>-password,
  # named on the database for the grants migration (before `migrate`); the shared giftcards role then loses
  # every grant. docs/security.md, "One database role per component".
  PGPASSWORD=$pw bash "$ROOT/scripts/db-roles.sh" "$HOST" "$PG_PORT" postgres giftcards giftcards "$SECRETS"
}

# ---------------------------------------------------------------- env files, one per component
# Each process loads only its own file (STACK_ENV_FILE, set by app_up), holding only what that component
# needs; test.env, for the test processes that run several components at once, is their union.
env_file() { # name: the lines on stdin become .data/env/<name>.env (mode 600)
  (umask 077 && cat >"$ENVS/$1.env.new")
  mv "$ENVS/$1.env.new" "$ENVS/$1.env"
}

approle() { cat "$SECRETS/vault/$1/approle.env"; }

temporal_env() { # component: the Temporal address, over mTLS with the component's certificate (tls, cluster)
  if [ "$STACK_PROFILE" != plain ]; then
    cat <<EOF
TEMPORAL_ADDRESS=$HOST:$([ "$STACK_PROFILE" = cluster ] && echo "$TEMPORAL_PORT" || echo "$TEMPORAL_TLS_PORT")
TEMPORAL_TLS_CA_FILE=$TLS/ca.crt
TEMPORAL_TLS_CERT_FILE=$TLS/$1.crt
TEMPORAL_TLS_KEY_FILE=$TLS/$1.key
TEMPORAL_TLS_SERVER_NAME=temporal.giftcards.local
EOF
  else
    echo "TEMPORAL_ADDRESS=$HOST:$TEMPORAL_PORT"
  fi
}

# The tests read the Temporal server's own store raw (the leak hunt): the dev server's plain address (and its
# SQLite file), or the cluster profile's databases.
temporal_store_env() {
  if [ "$STACK_PROFILE" = cluster ]; then
    local url=postgres://temporal:$(secret temporal-db-password)@$HOST:$PG_PORT
    echo "TEMPORAL_STORE_DATABASE_URLS=$url/temporal $url/temporal_visibility"
  else
    echo "TEMPORAL_DEV_SERVER_ADDRESS=$HOST:$TEMPORAL_PORT"
  fi
}

# A component's database URL line: its own role (scripts/db-roles.sh), or with EXTERNAL_DATABASE_URL that
# one URL for every component (DATABASE_URL: development only, lib/config.ts databaseUrl).
db_env() { # component
  if [ -n "${EXTERNAL_DATABASE_URL:-}" ]; then
    echo "DATABASE_URL=$EXTERNAL_DATABASE_URL"
    return
  fi
  local url=postgres://giftcards_$1:$(secret "pg-$1-password")@$HOST:$PG_PORT/giftcards
  [ "$STACK_PROFILE" != tls ] || url="$url?sslmode=verify-full&sslrootcert=$TLS/ca.crt"
  echo "$(echo "$1" | tr '[:lower:]' '[:upper:]')_DATABASE_URL=$url"
}

write_envs() {
  mkdir -p "$ENVS"
  chmod 700 "$ENVS"
  local header='# Written by scripts/stack.sh for one component of the local stack (local only, never commit).'
  # The local stack says so: without NODE_ENV a process runs in production mode and refuses this stack's
  # plain http, SMTP and PostgreSQL (lib/config.ts). Variables set in a process's environment win over it.
  local mode=NODE_ENV=development
  local base vault_env provider_key=PROVIDER_API_KEY=$(secret provider-api-key)
  vault_env="VAULT_ADDR=$(vault_url)
VAULT_TRANSIT_MOUNT=$VAULT_TRANSIT_MOUNT"
  [ "$STACK_PROFILE" != tls ] || vault_env="$vault_env
VAULT_CACERT=$TLS/ca.crt"
  base=$vault_env
  local operators="OPERATOR_TOKEN_ISSUER=http://$HOST:$IDP_PORT"
  local api_secrets="INTAKE_CLIENTS=checkout:$(secret intake-checkout-secret)
INTAKE_REQUEST_KEY=$(secret intake-request-key)"

  env_file worker <<EOF
$header
$mode
$(temporal_env worker)
$base
$(db_env worker)
PROVIDER_BASE_URL=http://$HOST:$PROVIDER_SANDBOX_PORT
$provider_key
SMTP_URL=smtp://$HOST:$SMTP_PORT
PUBLIC_BASE_URL=http://$HOST:$API_PORT
$(approle worker)
EOF
  env_file retention-worker <<EOF
$header
$mode
$(temporal_env retention-worker)
$base
$(db_env retention)
$(approle retention)
EOF
  local app_tokens="JWT_JWKS_URL=http://$HOST:$APP_ISSUER_PORT/.well-known/jwks.json"
  env_file api <<EOF
$header
$mode
$(temporal_env api)
TEMPORAL_UI_URL=http://$HOST:$TEMPORAL_UI_PORT
$base
$(db_env api)
PUBLIC_BASE_URL=http://$HOST:$API_PORT
API_PORT=$API_PORT
DECRYPTOR_URL=http://$HOST:$DECRYPTOR_PORT
$app_tokens
INTERNAL_PORT=$API_INTERNAL_PORT
$(internal_tls_env)
$operators
$api_secrets
$(approle api)
EOF
  # The decryptor: its own database role and Vault identity (decrypt of card keys only), and nothing else:
  # no Temporal, no API secret, not the API's database role.
  env_file decryptor <<EOF
$header
$mode
$(db_env decryptor)
$vault_env
DECRYPTOR_HOST=$HOST
DECRYPTOR_PORT=$DECRYPTOR_PORT
$(approle decryptor)
EOF
  # The app issuer stand-in: where its key pair lives (the API gets only the JWKS URL).
  env_file app-issuer <<EOF
$header
$mode
APP_ISSUER_KEY_FILE=$SECRETS/app-issuer.jwk
APP_ISSUER_PORT=$APP_ISSUER_PORT
EOF
  env_file provider-sandbox <<EOF
$header
$mode
$provider_key
PROVIDER_SANDBOX_PORT=$PROVIDER_SANDBOX_PORT
EOF
  # `npm run order` and `npm run ops`: Temporal, the database, and a Vault identity that only has the
  # payload codec's key (it cannot decrypt a card).
  env_file cli <<EOF
$header
$mode
$(temporal_env cli)
TEMPORAL_UI_URL=http://$HOST:$TEMPORAL_UI_PORT
$base
$(db_env cli)
MAIL_WEB_URL=http://$HOST:$MAIL_WEB_PORT
$operators
OPS_API_URL=$(internal_url)
$(approle cli)
EOF
  # The test processes run a worker, an API and the CLIs' code side by side: they get the union (each
  # component's own database URL; the tests' fixtures read the owner's password from .data/secrets).
  env_file test <<EOF
# Written by scripts/stack.sh for the test processes and benchmarks, which run several components in one
# process: the union of every component's file (local only, never commit).
$mode
$(temporal_env test)
$(temporal_store_env)
TEMPORAL_UI_URL=http://$HOST:$TEMPORAL_UI_PORT
$base
$( [ -n "${EXTERNAL_DATABASE_URL:-}" ] && db_env worker || for c in worker api retention cli decryptor; do db_env "$c"; done)
PROVIDER_BASE_URL=http://$HOST:$PROVIDER_SANDBOX_PORT
$provider_key
PROVIDER_SANDBOX_PORT=$PROVIDER_SANDBOX_PORT
SMTP_URL=smtp://$HOST:$SMTP_PORT
MAIL_WEB_URL=http://$HOST:$MAIL_WEB_PORT
PROMETHEUS_URL=http://$HOST:$PROMETHEUS_PORT
PUBLIC_BASE_URL=http://$HOST:$API_PORT
API_PORT=$API_PORT
DECRYPTOR_URL=http://$HOST:$DECRYPTOR_PORT
$app_tokens
APP_ISSUER_KEY_FILE=$SECRETS/app-issuer.jwk
INTERNAL_PORT=$API_INTERNAL_PORT
OPS_API_URL=$(internal_url)
$operators
# The tests sign the seeded operators in (their passwords are in the identity provider's state) and start
# a Temporal UI server of their own that logs in through it.
IDP_STATE_DIR=$SECRETS/identity-provider
IDP_UI_CLIENT_SECRET=$(secret idp-temporal-ui-client-secret)
TEST_UI_PORT=$TEST_UI_PORT
$api_secrets
$(approle worker)
$(approle api)
$(approle decryptor)
$(approle retention)
$(approle cli)
EOF
  # The all-in-one file of earlier versions held every secret; nothing reads it any more.
  rm -f "$DATA/stack.env"
}

migrate() {
  # Migrations run as the schema's owner; its credential goes to this command only, never to an env file.
  local owner_url=${EXTERNAL_DATABASE_URL:-postgres://giftcards_owner:$(secret pg-owner-password)@$HOST:$PG_PORT/giftcards}
  [ -n "${EXTERNAL_DATABASE_URL:-}" ] || [ "$STACK_PROFILE" != tls ] \
    || owner_url="$owner_url?sslmode=verify-full&sslrootcert=$TLS/ca.crt"
  # The local stack's own mode, said here too (the caller's NODE_ENV wins, as it does for the apps).
  (cd "$ROOT" && NODE_ENV=${NODE_ENV:-development} MIGRATION_DATABASE_URL=$owner_url npx tsx scripts/migrate.ts up >"$LOGS/migrate.log" 2>&1) \
    || { cat "$LOGS/migrate.log" >&2; die "migrations failed"; }
  log "database migrated"
}

# ---------------------------------------------------------------- replicas
# Replica 1 is the plain `worker` and `api` (their ports above); replica i > 1 is `worker-i` and `api-i`.
replicas() { cat "$RUN/replicas" 2>/dev/null || echo "${STACK_REPLICAS:-2}"; }
replica_name() { [ "$2" = 1 ] && echo "$1" || echo "$1-$2"; } # kind i
api_port() { echo $((API_PORT + $1 - 1)); }
api_internal_port() { echo $((API_INTERNAL_PORT + $1 - 1)); }
api_ops_port() { [ "$1" = 1 ] && echo "$API_OPS_PORT" || echo $((REPLICA_PORT_BASE + $1)); }
worker_ops_port() { [ "$1" = 1 ] && echo "$WORKER_OPS_PORT" || echo $((REPLICA_PORT_BASE + 20 + $1)); }
worker_sdk_port() { [ "$1" = 1 ] && echo "$WORKER_SDK_METRICS_PORT" || echo $((REPLICA_PORT_BASE + 40 + $1)); }
targets() { # port-function: a YAML list of every replica's address
  local i out=""
  for ((i = 1; i <= $(replicas); i++)); do out+="${out:+, }'$HOST:$("$1" "$i")'"; done
  echo "[$out]"
}

# ---------------------------------------------------------------- Prometheus
# Scrapes every process of the stack every 2 s (a local stack: tests read counters back soon after an
# order) and evaluates the alerting rules the deployment ships (deploy/prometheus/alerts.yml).
prometheus_up() {
  local prometheus
  prometheus=$(bin_or_die prometheus)
  mkdir -p "$DATA/prometheus/data"
  cat >"$DATA/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - $ROOT/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: api
    static_configs: [{ targets: $(targets api_ops_port) }]
  - job_name: worker
    static_configs: [{ targets: $(targets worker_ops_port) }]
  - job_name: worker-sdk
    static_configs: [{ targets: $(targets worker_sdk_port) }]
  - job_name: retention-worker
    static_configs: [{ targets: ['$HOST:$RETENTION_OPS_PORT'] }]
  - job_name: decryptor
    static_configs: [{ targets: ['$HOST:$DECRYPTOR_OPS_PORT'] }]
  - job_name: retention-worker-sdk
    static_configs: [{ targets: ['$HOST:$RETENTION_SDK_METRICS_PORT'] }]
  - job_name: temporal-server
    static_configs: [{ targets: ['$HOST:$TEMPORAL_SERVER_METRICS_PORT'] }]
  - job_name: prometheus
    static_configs: [{ targets: ['$HOST:$PROMETHEUS_PORT'] }]
EOF
  if pid_alive prometheus; then
    kill -HUP "$(cat "$RUN/prometheus.pid")" # re-reads the configuration and the rules
  else
    start_proc prometheus "$PROMETHEUS_PORT" "$prometheus" --config.file="$DATA/prometheus/prometheus.yml" \
      --storage.tsdb.path="$DATA/prometheus/data" --storage.tsdb.retention.time=7d \
      --web.listen-address="$HOST:$PROMETHEUS_PORT"
    wait_port prometheus "$PROMETHEUS_PORT" 30
  fi
}

# The internal listener's address. On the cluster profile it serves https with the local CA's server
# certificate: the standalone UI passes an operator's token to an https codec endpoint only.
internal_url() { if [ "$STACK_PROFILE" = cluster ]; then echo "https://$HOST:$API_INTERNAL_PORT"; else echo "http://$HOST:$API_INTERNAL_PORT"; fi; }
internal_tls_env() {
  [ "$STACK_PROFILE" != cluster ] || printf 'INTERNAL_TLS_CERT_FILE=%s\nINTERNAL_TLS_KEY_FILE=%s\n' "$TLS/server.crt" "$TLS/server.key"
}

# ---------------------------------------------------------------- the operators' identity provider
# Before Temporal: the cluster profile's UI server discovers it at start. Its passwords and signing keys are
# generated once into .data/secrets/identity-provider by the provider itself (never committed).
idp_up() {
  env_file identity-provider <<EOF
# Written by scripts/stack.sh for the identity provider (local only, never commit).
NODE_ENV=development
IDP_PORT=$IDP_PORT
IDP_STATE_DIR=$SECRETS/identity-provider
IDP_UI_CLIENT_SECRET=$(secret idp-temporal-ui-client-secret)
IDP_UI_REDIRECT_URIS=http://$HOST:$TEMPORAL_UI_PORT/auth/sso/callback,http://$HOST:$TEST_UI_PORT/auth/sso/callback
EOF
  app_up identity-provider identity-provider "$IDP_PORT" identity-provider/main.ts
  wait_port identity-provider "$IDP_PORT" 60
}

# A seeded operator's access token: the scripted sign-in of scripts/operator-token.ts.
operator_token() {
  [ -n "${1:-}" ] || die "usage: $0 operator-token <user> (vera, sam, sofia, ada or alan)"
  port_open "$IDP_PORT" || die "the identity provider is not running (bash scripts/stack.sh up)"
  (cd "$ROOT" && env -i "${KEEP_ENV[@]}" STACK_ENV_FILE="$ENVS/cli.env" IDP_STATE_DIR="$SECRETS/identity-provider" \
    node --import tsx scripts/operator-token.ts "$1")
}

# ---------------------------------------------------------------- apps
# name component port script [VAR=value…]: node itself (no npx/tsx launcher in between), with its component's
# env file only, plus what this one process needs of its own (a replica's ports).
app_up() {
  start_proc "$1" "$3" env -C "$ROOT" STACK_ENV_FILE="$ENVS/$2.env" "${@:5}" node --import tsx "$4"
}

# The profile of the last `up` (kept across `down`, like the replica count): switching needs a `down` first
# (Vault and PostgreSQL would keep their listeners, and the env files would point the apps at the wrong ones).
running_profile() { cat "$RUN/profile" 2>/dev/null || echo plain; }

any_service_running() {
  local name
  for name in temporal temporal-ui vault nginx maildev; do pid_alive "$name" && return 0; done
  port_open "$PG_PORT"
}

up() {
  local services_only=0 i
  while [ $# -gt 0 ]; do
    case "$1" in
      --services) services_only=1 ;;
      --profile) shift; STACK_PROFILE=${1:-} ;;
      --profile=*) STACK_PROFILE=${1#--profile=} ;;
      --replicas)
        [[ "${2:-}" =~ ^[1-9]$ ]] || die "--replicas takes a number from 1 to 9"
        mkdir -p "$RUN" && echo "$2" >"$RUN/replicas"
        shift
        ;;
      *) die "up: unknown option $1 (--services, --profile plain|tls|cluster, --replicas N)" ;;
    esac
    shift
  done
  # Without --profile (or STACK_PROFILE), the profile of the last `up`: a test that brings the stack back
  # with a plain `up` gets the one it found.
  [ -n "$STACK_PROFILE" ] || STACK_PROFILE=$(running_profile)
  case "$STACK_PROFILE" in plain | tls | cluster) ;; *) die "unknown profile '$STACK_PROFILE' (plain, tls or cluster)" ;; esac
  mkdir -p "$LOGS" "$RUN" "$SECRETS"
  chmod 700 "$SECRETS"
  if any_service_running && [ "$(running_profile)" != "$STACK_PROFILE" ]; then
    die "the stack runs with profile $(running_profile); run \`bash scripts/stack.sh down\` before switching to $STACK_PROFILE"
  fi
  echo "$STACK_PROFILE" >"$RUN/profile"
  [ "$STACK_PROFILE" = plain ] || tls_ca
  # PostgreSQL first: the cluster profile's Temporal keeps its state there.
  pg_up
  mkdir -p "$ENVS" && chmod 700 "$ENVS"
  idp_up
  temporal_up
  [ "$STACK_PROFILE" != tls ] || nginx_up
  vault_up
  write_envs
  migrate
  start_proc maildev "$SMTP_PORT" maildev --smtp "$SMTP_PORT" --web "$MAIL_WEB_PORT" --ip "$HOST" \
    --mail-directory "$DATA/mail"
  wait_port maildev "$MAIL_WEB_PORT" 30
  app_up provider-sandbox provider-sandbox "$PROVIDER_SANDBOX_PORT" provider-sandbox/main.ts
  start_proc app-issuer "$APP_ISSUER_PORT" env -C "$ROOT" STACK_ENV_FILE="$ENVS/app-issuer.env" node --import tsx scripts/app-issuer.ts serve
  wait_port provider-sandbox "$PROVIDER_SANDBOX_PORT" 60
  wait_port app-issuer "$APP_ISSUER_PORT" 60
  if [ "$services_only" = 0 ]; then
    local name
    for name in $(app_names); do # replicas beyond the count asked for now
      [[ "$name" =~ -([0-9])$ && ${BASH_REMATCH[1]} -gt $(replicas) ]] && stop_proc "$name"
    done
    # Before the API, which reveals through it.
    app_up decryptor decryptor "$DECRYPTOR_PORT" decryptor/main.ts OPS_PORT="$DECRYPTOR_OPS_PORT"
    wait_port decryptor "$DECRYPTOR_PORT" 60
    for ((i = 1; i <= $(replicas); i++)); do
      app_up "$(replica_name worker "$i")" worker 0 workers/run-fulfillment.ts \
        OPS_PORT="$(worker_ops_port "$i")" TEMPORAL_METRICS_PORT="$(worker_sdk_port "$i")"
      app_up "$(replica_name api "$i")" api "$(api_port "$i")" api/server.ts \
        API_PORT="$(api_port "$i")" OPS_PORT="$(api_ops_port "$i")" INTERNAL_PORT="$(api_internal_port "$i")"
    done
    app_up retention-worker retention-worker 0 workers/run-retention.ts \
      OPS_PORT="$RETENTION_OPS_PORT" TEMPORAL_METRICS_PORT="$RETENTION_SDK_METRICS_PORT"
    for ((i = 1; i <= $(replicas); i++)); do
      wait_port "$(replica_name api "$i")" "$(api_port "$i")" 60
      wait_port "$(replica_name worker "$i")" "$(worker_ops_port "$i")" 60
    done
    wait_port retention-worker "$RETENTION_OPS_PORT" 60
  fi
  prometheus_up
  status
}

pg_stop() {
  local pgdata
  pgdata=$(pg_home)/data
  if [ -s "$pgdata/PG_VERSION" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 && log "PostgreSQL stopped" || true
  fi
}

# The apps' replicas that run, whatever the replica count is now.
app_names() { (cd "$RUN" 2>/dev/null && ls -- api*.pid worker*.pid retention-worker.pid 2>/dev/null | sed 's/\.pid$//'); }

down() {
  local name
  for name in prometheus $(app_names) decryptor app-issuer provider-sandbox maildev nginx temporal-ui temporal identity-provider vault; do stop_proc "$name"; done
  pg_stop
}

# One service down, the rest left running (`up` brings it back): how the tests take a dependency away.
stop_one() {
  case "${1:-}" in
    postgres) pg_stop ;;
    temporal | temporal-ui | nginx | vault | maildev | provider-sandbox | identity-provider | app-issuer | worker | worker-[1-9] | retention-worker | decryptor | api | api-[1-9] | prometheus) stop_proc "$1" ;;
    *) die "stop what? postgres, temporal, temporal-ui, nginx, vault, maildev, provider-sandbox, identity-provider, app-issuer, worker[-N], retention-worker, decryptor, api[-N] or prometheus" ;;
  esac
}

status() {
  local name port url profile
  profile=$(running_profile)
  printf 'profile: %s\n%-18s %-8s %s\n' "$profile" SERVICE STATE WHERE
  while read -r name port url; do
    [ "$name" != nginx ] || [ "$profile" = tls ] || continue
    [ "$name" != temporal-ui ] || [ "$profile" = cluster ] || continue
    local state=down
    if [ "$name" = postgres ]; then
      port_open "$port" && state=up
    elif pid_alive "$name" && { [ "$port" = 0 ] || port_open "$port"; }; then
      state=up
    fi
    printf '%-18s %-8s %s\n' "$name" "$state" "$url"
  done <<EOF
$(if [ "$profile" = cluster ]; then
  echo "temporal $TEMPORAL_PORT $HOST:$TEMPORAL_PORT (Temporal server $TEMPORAL_SERVER_VERSION, gRPC over mTLS; state in PostgreSQL)"
  echo "temporal-ui $TEMPORAL_UI_PORT http://$HOST:$TEMPORAL_UI_PORT (Temporal UI $TEMPORAL_UI_VERSION)"
else
  echo "temporal $TEMPORAL_PORT $HOST:$TEMPORAL_PORT (gRPC), UI http://$HOST:$TEMPORAL_UI_PORT"
fi)
nginx $TEMPORAL_TLS_PORT $HOST:$TEMPORAL_TLS_PORT (Temporal over mTLS, certificates in .data/tls)
vault $VAULT_PORT $(STACK_PROFILE=$profile vault_url) (OpenBao, raft storage in .data/bao)
postgres $PG_PORT postgres://$HOST:$PG_PORT/giftcards
maildev $MAIL_WEB_PORT smtp://$HOST:$SMTP_PORT, inbox http://$HOST:$MAIL_WEB_PORT
provider-sandbox $PROVIDER_SANDBOX_PORT http://$HOST:$PROVIDER_SANDBOX_PORT
identity-provider $IDP_PORT http://$HOST:$IDP_PORT (operators' sign-in; stack.sh operator-token <user>)
app-issuer $APP_ISSUER_PORT http://$HOST:$APP_ISSUER_PORT/.well-known/jwks.json (the customer app's token keys, a stand-in)
decryptor $DECRYPTOR_PORT http://$HOST:$DECRYPTOR_PORT (loopback only: the API's, never public), ops http://$HOST:$DECRYPTOR_OPS_PORT
$(for ((i = 1; i <= $(replicas); i++)); do
  echo "$(replica_name worker "$i") $(worker_ops_port "$i") task queue giftcards, ops http://$HOST:$(worker_ops_port "$i"), SDK metrics :$(worker_sdk_port "$i")"
  echo "$(replica_name api "$i") $(api_port "$i") http://$HOST:$(api_port "$i"), internal (codec, ops API) http://$HOST:$(api_internal_port "$i"), ops http://$HOST:$(api_ops_port "$i")"
done)
retention-worker $RETENTION_OPS_PORT task queue giftcards-retention, ops http://$HOST:$RETENTION_OPS_PORT, SDK metrics :$RETENTION_SDK_METRICS_PORT
prometheus $PROMETHEUS_PORT http://$HOST:$PROMETHEUS_PORT (alerts: deploy/prometheus/alerts.yml)
EOF
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  restart) down; shift; up "$@" ;;
  status) status ;;
  env)
    if [ -n "${2:-}" ]; then cat "$ENVS/$2.env"; else ls "$ENVS" 2>/dev/null | sed 's/\.env$//'; fi ;;
  stop) shift; stop_one "$@" ;;
  pg-home) pg_home ;;
  operator-token) shift; operator_token "$@" ;;
  *) echo "usage: $0 up [--services] [--profile plain|tls|cluster] [--replicas N] | down | stop <service> | restart | status | env [component] | pg-home | operator-token <user>" >&2; exit 2 ;;
esac
