#!/usr/bin/env bash
# docker-compose: run once by the postgres image at its first start (/docker-entrypoint-initdb.d), as the
# superuser. Four roles, as on the local stack: giftcards_owner owns the schema and runs the migrations,
# giftcards (the apps) gets only the grants the migrations give the role named by giftcards.app_role,
# giftcards_decryptor (the decryptor) those of giftcards.decryptor_role, and temporal gets its own
# databases. No app connects as the superuser.
set -euo pipefail
: "${GIFTCARDS_OWNER_DB_PASSWORD:?}" "${GIFTCARDS_DB_PASSWORD:?}" "${GIFTCARDS_DECRYPTOR_DB_PASSWORD:?}" "${TEMPORAL_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$GIFTCARDS_OWNER_DB_PASSWORD" -v app_pw="$GIFTCARDS_DB_PASSWORD" \
  -v decryptor_pw="$GIFTCARDS_DECRYPTOR_DB_PASSWORD" -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE giftcards_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE giftcards LOGIN PASSWORD :'app_pw';
CREATE ROLE giftcards_decryptor LOGIN PASSWORD :'decryptor_pw';
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE DATABASE giftcards OWNER giftcards_owner;
ALTER DATABASE giftcards SET giftcards.app_role = 'giftcards';
ALTER DATABASE giftcards SET giftcards.decryptor_role = 'giftcards_decryptor';
REVOKE ALL ON DATABASE giftcards FROM PUBLIC;
GRANT CONNECT ON DATABASE giftcards TO giftcards, giftcards_decryptor;
SQL
