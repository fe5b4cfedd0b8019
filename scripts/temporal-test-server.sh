#!/usr/bin/env bash
# Temporal's time-skipping test server (the Java TestServer), from the jars scripts/install.sh fetched with
# Maven, so tests never download a server at run time. @temporalio/testing starts it as
# `<this script> <port> [extra args]`; the TestServer takes the port as its first argument.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/.tools/temporal-test-server

if ! compgen -G "$DIR/lib/temporal-test-server-*.jar" >/dev/null; then
  echo "temporal-test-server: no jars in $DIR/lib; run scripts/install.sh" >&2
  exit 1
fi
command -v java >/dev/null 2>&1 || { echo "temporal-test-server: java not found; run scripts/install.sh" >&2; exit 1; }

# exec, so that the SDK's signals reach the JVM itself and stopping the environment stops the server.
exec java -cp "$DIR/lib/*" io.temporal.testserver.TestServer "$@"
