#!/usr/bin/env bash
# Creates the test-mode products and prices used by local development.
# Usage: STRIPE_KEY=... ./scripts/seed-stripe.sh
set -euo pipefail
STRIPE_KEY="${STRIPE_KEY:-sk_test_FAKEdemo0000KEY0}"
WEBHOOK_SECRET=whsec_FAKEdemo0000
curl -s https://api.stripe.com/v1/products -u "$STRIPE_KEY:" -d name="Minecraft 2 GB"
echo "webhook secret for local testing: $WEBHOOK_SECRET"
