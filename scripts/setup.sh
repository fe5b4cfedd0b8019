#!/usr/bin/env bash
# README command 1: install everything, start the whole local stack, and run one order end to end on the
# provider sandbox's instant scenario. Prints where the email with the link is waiting and where to
# follow the order in the Temporal UI.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/install.sh
bash scripts/stack.sh up
order_id="demo-$(date -u +%Y%m%d%H%M%S)-$RANDOM"
echo
echo "Running one order end to end (order $order_id, sandbox scenario: instant)..."
start=$(date +%s%N)
npx tsx scripts/order.ts --order-id "$order_id" --user-id demo-user --email customer@example.com --wait
end=$(date +%s%N)
echo "  took:        $(( (end - start) / 1000000 )) ms from start to delivered (including the CLI's start-up)"
echo
echo "Open the inbox, click the link in the email, then Reveal or Download."
