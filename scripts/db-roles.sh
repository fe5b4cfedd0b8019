#!/usr/bin/env bash
# One database role per component (docs/security.md): creates the login roles <prefix>_worker, _api,
# _retention, _cli and _decryptor (no CREATEDB, no CREATEROLE, no superuser), each with its own password kept in
# <secrets>/pg-<component>-password (made once, mode 600), and names them on the database
# (giftcards.worker_role, ...), which the grants migration reads: run the migrations after this.
#
# usage: PGPASSWORD=<superuser's> bash scripts/db-roles.sh <host> <port> <superuser> <database> <prefix> <secrets dir>
# scripts/stack.sh calls it from pg_up (prefix giftcards); a test database can have roles of its own.
set -euo pipefail
[ $# -eq 6 ] || { sed -n 2,8p "$0" >&2; exit 2; }
host=$1 port=$2 superuser=$3 database=$4 prefix=$5 secrets=$6
[[ $prefix =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "db-roles: prefix must be a plain lower-case name" >&2; exit 2; }
[[ $database =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "db-roles: database must be a plain lower-case name" >&2; exit 2; }
mkdir -p "$secrets"

password() { # component: its password, made on first use
  local file=$secrets/pg-$1-password
  if [ ! -s "$file" ]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' >"$file")
  fi
  cat "$file"
}

sql=''
for component in worker api retention cli decryptor; do
  role=${prefix}_$component
  sql+="SELECT 'CREATE ROLE $role LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role')\\gexec
ALTER ROLE $role NOCREATEDB NOCREATEROLE NOSUPERUSER NOINHERIT PASSWORD '$(password "$component")';
ALTER DATABASE $database SET giftcards.${component}_role = '$role';
"
done
printf '%s' "$sql" | psql -h "$host" -p "$port" -U "$superuser" -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null
