#!/usr/bin/env bash
# docker-compose: run once by the postgres image at its first start (/docker-entrypoint-initdb.d), as the
# superuser. As on the local stack (scripts/db-roles.sh): giftcards_owner owns the schema and runs the
# migrations; each app connects with a role of its own (giftcards_worker, _api, _retention, _cli, _decryptor)
# that gets only the grants the migrations give the role named by giftcards.<component>_role; temporal gets
# its own databases. No app connects as the superuser or the owner.
set -euo pipefail
: "${GIFTCARDS_OWNER_DB_PASSWORD:?}" "${GIFTCARDS_WORKER_DB_PASSWORD:?}" "${GIFTCARDS_API_DB_PASSWORD:?}"
: "${GIFTCARDS_RETENTION_DB_PASSWORD:?}" "${GIFTCARDS_CLI_DB_PASSWORD:?}" "${GIFTCARDS_DECRYPTOR_DB_PASSWORD:?}"
: "${TEMPORAL_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$GIFTCARDS_OWNER_DB_PASSWORD" -v worker_pw="$GIFTCARDS_WORKER_DB_PASSWORD" \
  -v api_pw="$GIFTCARDS_API_DB_PASSWORD" -v retention_pw="$GIFTCARDS_RETENTION_DB_PASSWORD" \
  -v cli_pw="$GIFTCARDS_CLI_DB_PASSWORD" -v decryptor_pw="$GIFTCARDS_DECRYPTOR_DB_PASSWORD" \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE giftcards_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE giftcards_worker LOGIN NOINHERIT PASSWORD :'worker_pw';
CREATE ROLE giftcards_api LOGIN NOINHERIT PASSWORD :'api_pw';
CREATE ROLE giftcards_retention LOGIN NOINHERIT PASSWORD :'retention_pw';
CREATE ROLE giftcards_cli LOGIN NOINHERIT PASSWORD :'cli_pw';
CREATE ROLE giftcards_decryptor LOGIN NOINHERIT PASSWORD :'decryptor_pw';
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE DATABASE giftcards OWNER giftcards_owner;
ALTER DATABASE giftcards SET giftcards.worker_role = 'giftcards_worker';
ALTER DATABASE giftcards SET giftcards.api_role = 'giftcards_api';
ALTER DATABASE giftcards SET giftcards.retention_role = 'giftcards_retention';
ALTER DATABASE giftcards SET giftcards.cli_role = 'giftcards_cli';
ALTER DATABASE giftcards SET giftcards.decryptor_role = 'giftcards_decryptor';
REVOKE ALL ON DATABASE giftcards FROM PUBLIC;
GRANT CONNECT ON DATABASE giftcards TO giftcards_worker, giftcards_api, giftcards_retention, giftcards_cli,
  giftcards_decryptor;
SQL
