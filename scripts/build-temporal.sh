#!/usr/bin/env bash
# The cluster profile's Temporal, built with the machine's Go from its Go modules into .tools/ (kept there:
# about 5 minutes the first time, nothing after): Temporal's server and temporal-sql-tool from
# go.temporal.io/server, with the module's PostgreSQL schema and the configuration the stack's is derived
# from; the standalone Temporal UI server from github.com/temporalio/ui-server/v2 (its assets are in the
# module). Run by `scripts/install.sh --cluster`, and by `scripts/stack.sh up --profile cluster` when missing.
# `--ui`: the UI server only (scripts/install.sh, always: the operators' browser test runs it with OIDC on
# every profile, test/stack/ui-codec-browser.test.ts); under a minute with Go's module cache warm.
set -euo pipefail
ui_only=0
[ "${1:-}" != --ui ] || ui_only=1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[build-temporal] %s\n' "$*" >&2; }
die() { printf '[build-temporal] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/temporal-versions.sh
. "$ROOT/scripts/temporal-versions.sh"

GO=$(command -v go || echo /usr/local/go/bin/go)

# DIR module version package=name…: the packages' binaries, renamed, in a new folder beside DIR (printed).
go_build() {
  local dir=$1 module=$2 version=$3 tmp pair pkgs=()
  shift 3
  [ -x "$GO" ] || die "Go is not installed: the cluster profile builds Temporal's server from its Go module"
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.build.XXXXXX")
  for pair in "$@"; do pkgs+=("$module/${pair%%=*}@$version"); done
  # GOTOOLCHAIN=local: the machine's Go, or a clear error if it is too old, never a toolchain fetched aside.
  if ! GOBIN=$tmp GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$GO" install "${pkgs[@]}" >&2; then
    rm -rf "$tmp"
    die "go install ${pkgs[*]} failed (Go $("$GO" env GOVERSION))"
  fi
  for pair in "$@"; do mv "$tmp/$(basename "${pair%%=*}")" "$tmp/${pair#*=}"; done
  echo "$tmp"
}

srv=$ROOT/.tools/temporal-server/$TEMPORAL_SERVER_VERSION
if [ "$ui_only" = 0 ] && { [ ! -x "$srv/temporal-server" ] || [ ! -x "$srv/temporal-sql-tool" ] || [ ! -d "$srv/schema/postgresql/v12" ]; }; then
  log "building Temporal's server $TEMPORAL_SERVER_VERSION and temporal-sql-tool (go.temporal.io/server; about 5 minutes)"
  started=$(date +%s)
  tmp=$(go_build "$srv" go.temporal.io/server "$TEMPORAL_SERVER_VERSION" cmd/server=temporal-server cmd/tools/sql=temporal-sql-tool)
  # The schema travels with the binaries: the stack needs no Go module cache at run time.
  mod=$("$GO" env GOMODCACHE)/go.temporal.io/server@$TEMPORAL_SERVER_VERSION
  mkdir -p "$tmp/schema"
  cp -R "$mod/schema/postgresql" "$tmp/schema/"
  cp "$mod/config/development-postgres12.yaml" "$tmp/"
  chmod -R u+w "$tmp"
  rm -rf "$srv" && mv "$tmp" "$srv"
  log "Temporal's server built in $(($(date +%s) - started)) s: $srv"
fi

ui=$ROOT/.tools/temporal-ui/$TEMPORAL_UI_VERSION
if [ ! -x "$ui/temporal-ui-server" ]; then
  log "building the Temporal UI server $TEMPORAL_UI_VERSION (github.com/temporalio/ui-server/v2)"
  started=$(date +%s)
  tmp=$(go_build "$ui" github.com/temporalio/ui-server/v2 "$TEMPORAL_UI_VERSION" cmd/server=temporal-ui-server)
  rm -rf "$ui" && mv "$tmp" "$ui"
  log "Temporal UI server built in $(($(date +%s) - started)) s: $ui"
fi
