# The cluster profile's Temporal, built from Go modules by scripts/install.sh --cluster and run by
# scripts/stack.sh (sourced by both). v1.31.2 is the newest server the machine's Go builds (v1.32 needs a
# newer one); the UI server is the version the Temporal CLI of scripts/install.sh embeds in its dev server.
# shellcheck shell=bash disable=SC2034
TEMPORAL_SERVER_VERSION=v1.31.2
TEMPORAL_UI_VERSION=v2.54.1
