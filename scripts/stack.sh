#!/usr/bin/env bash
# The local stack: Temporal dev server, OpenBao (Vault API) on raft storage, PostgreSQL, MailDev, the
# provider sandbox, the workers and the delivery API. Everything lives under one ignored folder (.data/).
#
#   scripts/stack.sh up        start whatever is not running (idempotent), bootstrap Vault, migrate the DB
#   scripts/stack.sh down      stop everything (data is kept)
#   scripts/stack.sh stop X    stop one service (postgres, vault, …); `up` brings it back
#   scripts/stack.sh status    what runs, and where
#   scripts/stack.sh env       print the environment file the apps and tests read
#   scripts/stack.sh pg-home   where the PostgreSQL cluster lives (.data/pg, or outside a private folder)
#
# Every port can be changed with the variables below. `up --services` starts the services without the
# worker/API processes (the tests run their own workers in-process).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=$ROOT/.data
LOGS=$DATA/logs
RUN=$DATA/run
SECRETS=$DATA/secrets
STACK_ENV=$DATA/stack.env

TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
VAULT_PORT=${VAULT_PORT:-8200}
VAULT_CLUSTER_PORT=${VAULT_CLUSTER_PORT:-8201}
PG_PORT=${PG_PORT:-55432}
SMTP_PORT=${SMTP_PORT:-1025}
MAIL_WEB_PORT=${MAIL_WEB_PORT:-1080}
PROVIDER_SANDBOX_PORT=${PROVIDER_SANDBOX_PORT:-4010}
API_PORT=${API_PORT:-3000}
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

pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

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
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  log "$name started (pid $!, log .data/logs/$name.log)"
}

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
  local temporal
  temporal=$(bin_or_die temporal)
  mkdir -p "$DATA/temporal"
  start_proc temporal "$TEMPORAL_PORT" "$temporal" server start-dev \
    --ip "$HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$DATA/temporal/temporal.db" --sqlite-pragma journal_mode=wal \
    --ui-codec-endpoint "http://$HOST:$API_PORT/codec" --ui-disable-news-fetch \
    --search-attribute OrderStatus=Keyword --search-attribute OrderOutcome=Keyword \
    --search-attribute CardCount=Int --log-level warn
  wait_port temporal "$TEMPORAL_PORT" 60
  wait_port temporal "$TEMPORAL_UI_PORT" 60
}

# ---------------------------------------------------------------- OpenBao / Vault
vault_up() {
  local bao init
  bao=$(bin_or_die bao vault)
  mkdir -p "$DATA/bao/raft"
  cat >"$DATA/bao/config.hcl" <<EOF
storage "raft" {
  path    = "$DATA/bao/raft"
  node_id = "local"
}
listener "tcp" {
  address     = "$HOST:$VAULT_PORT"
  tls_disable = true
  # OpenBao's default (1000 JSON strings per request) would cap a transit batch at about 250 cards.
  max_request_json_strings = 1000000
}
api_addr      = "http://$HOST:$VAULT_PORT"
cluster_addr  = "http://$HOST:$VAULT_CLUSTER_PORT"
disable_mlock = true
log_level     = "warn"
EOF
  start_proc vault "$VAULT_PORT" "$bao" server -config="$DATA/bao/config.hcl"
  wait_port vault "$VAULT_PORT" 30
  export VAULT_ADDR="http://$HOST:$VAULT_PORT"
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
  VAULT_TOKEN=$(json_field root_token <"$init") BAO_BIN="$bao" bash "$ROOT/scripts/vault-bootstrap.sh" "$SECRETS/approles.env"
}

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
    as_pg "$bin/pg_ctl" -D "$pgdata" -l "$home/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $home/run -c listen_addresses=$HOST" start >/dev/null || die "PostgreSQL did not start (see $LOGS/postgres.log)"
    log "PostgreSQL started on $HOST:$PG_PORT (data in $home)"
  else
    log "PostgreSQL already running"
  fi
  # Two roles, created once: giftcards_owner owns the schema and runs the migrations; giftcards, the apps'
  # role, gets only the rows it needs (INSERT and SELECT on the audit log: it cannot alter the table or
  # switch off the triggers that keep it append-only). The superuser password is only used here.
  PGPASSWORD=$pw psql -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null <<SQL
SELECT 'CREATE ROLE giftcards_owner LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'giftcards_owner')\gexec
ALTER ROLE giftcards_owner PASSWORD '$owner_pw';
SELECT 'CREATE ROLE giftcards LOGIN CREATEDB' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'giftcards')\gexec
ALTER ROLE giftcards PASSWORD '$app_pw';
SELECT 'CREATE DATABASE giftcards OWNER giftcards_owner' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'giftcards')\gexec
ALTER DATABASE giftcards SET giftcards.app_role = 'giftcards';
SQL
}

# ---------------------------------------------------------------- env file
write_env() {
  local dburl=${EXTERNAL_DATABASE_URL:-postgres://giftcards:$(secret pg-password)@$HOST:$PG_PORT/giftcards}
  (
    umask 077
    {
      cat <<EOF
# Written by scripts/stack.sh: the local stack's addresses and credentials (local only, never commit).
TEMPORAL_ADDRESS=$HOST:$TEMPORAL_PORT
TEMPORAL_UI_URL=http://$HOST:$TEMPORAL_UI_PORT
DATABASE_URL=$dburl
VAULT_ADDR=http://$HOST:$VAULT_PORT
VAULT_TRANSIT_MOUNT=$VAULT_TRANSIT_MOUNT
PROVIDER_BASE_URL=http://$HOST:$PROVIDER_SANDBOX_PORT
PROVIDER_API_KEY=$(secret provider-api-key)
PROVIDER_SANDBOX_PORT=$PROVIDER_SANDBOX_PORT
SMTP_URL=smtp://$HOST:$SMTP_PORT
MAIL_WEB_URL=http://$HOST:$MAIL_WEB_PORT
PUBLIC_BASE_URL=http://$HOST:$API_PORT
API_PORT=$API_PORT
CODEC_AUTH_TOKEN=$(secret codec-auth-token)
OPERATOR_PASSWORD=$(secret operator-password)
JWT_SECRET=$(secret jwt-secret)
INTAKE_CLIENTS=checkout:$(secret intake-checkout-secret)
INTAKE_REQUEST_KEY=$(secret intake-request-key)
EOF
      cat "$SECRETS/approles.env"
    } >"$STACK_ENV.new"
  )
  mv "$STACK_ENV.new" "$STACK_ENV"
}

migrate() {
  # Migrations run as the schema's owner; its credential goes to this command only, never to stack.env.
  local owner_url=${EXTERNAL_DATABASE_URL:-postgres://giftcards_owner:$(secret pg-owner-password)@$HOST:$PG_PORT/giftcards}
  (cd "$ROOT" && MIGRATION_DATABASE_URL=$owner_url npx tsx scripts/migrate.ts up >"$LOGS/migrate.log" 2>&1) \
    || { cat "$LOGS/migrate.log" >&2; die "migrations failed"; }
  log "database migrated"
}

# ---------------------------------------------------------------- apps
app_up() { # name port script
  start_proc "$1" "$2" bash -c "cd '$ROOT' && exec npx tsx $3"
}

up() {
  local services_only=0
  [ "${1:-}" = "--services" ] && services_only=1
  mkdir -p "$LOGS" "$RUN" "$SECRETS"
  chmod 700 "$SECRETS"
  temporal_up
  vault_up
  pg_up
  write_env
  migrate
  start_proc maildev "$SMTP_PORT" maildev --smtp "$SMTP_PORT" --web "$MAIL_WEB_PORT" --ip "$HOST" \
    --mail-directory "$DATA/mail"
  wait_port maildev "$MAIL_WEB_PORT" 30
  PROVIDER_API_KEY=$(secret provider-api-key) PROVIDER_SANDBOX_PORT=$PROVIDER_SANDBOX_PORT \
    app_up provider-sandbox "$PROVIDER_SANDBOX_PORT" provider-sandbox/main.ts
  wait_port provider-sandbox "$PROVIDER_SANDBOX_PORT" 60
  if [ "$services_only" = 0 ]; then
    app_up worker 0 workers/run-fulfillment.ts
    app_up retention-worker 0 workers/run-retention.ts
    app_up api "$API_PORT" api/server.ts
    wait_port api "$API_PORT" 60
  fi
  status
}

pg_stop() {
  local pgdata
  pgdata=$(pg_home)/data
  if [ -s "$pgdata/PG_VERSION" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 && log "PostgreSQL stopped" || true
  fi
}

down() {
  local name
  for name in api retention-worker worker provider-sandbox maildev temporal vault; do stop_proc "$name"; done
  pg_stop
}

# One service down, the rest left running (`up` brings it back): how the tests take a dependency away.
stop_one() {
  case "${1:-}" in
    postgres) pg_stop ;;
    temporal | vault | maildev | provider-sandbox | worker | retention-worker | api) stop_proc "$1" ;;
    *) die "stop what? postgres, temporal, vault, maildev, provider-sandbox, worker, retention-worker or api" ;;
  esac
}

status() {
  local name port url
  printf '%-18s %-8s %s\n' SERVICE STATE WHERE
  while read -r name port url; do
    local state=down
    if [ "$name" = postgres ]; then
      port_open "$port" && state=up
    elif pid_alive "$name" && { [ "$port" = 0 ] || port_open "$port"; }; then
      state=up
    fi
    printf '%-18s %-8s %s\n' "$name" "$state" "$url"
  done <<EOF
temporal $TEMPORAL_PORT $HOST:$TEMPORAL_PORT (gRPC), UI http://$HOST:$TEMPORAL_UI_PORT
vault $VAULT_PORT http://$HOST:$VAULT_PORT (OpenBao, raft storage in .data/bao)
postgres $PG_PORT postgres://$HOST:$PG_PORT/giftcards
maildev $MAIL_WEB_PORT smtp://$HOST:$SMTP_PORT, inbox http://$HOST:$MAIL_WEB_PORT
provider-sandbox $PROVIDER_SANDBOX_PORT http://$HOST:$PROVIDER_SANDBOX_PORT
worker 0 task queue giftcards
retention-worker 0 task queue giftcards-retention
api $API_PORT http://$HOST:$API_PORT
EOF
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  restart) down; shift; up "$@" ;;
  status) status ;;
  env) cat "$STACK_ENV" ;;
  stop) shift; stop_one "$@" ;;
  pg-home) pg_home ;;
  *) echo "usage: $0 up [--services] | down | stop <service> | restart | status | env | pg-home" >&2; exit 2 ;;
esac
