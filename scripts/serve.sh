#!/usr/bin/env bash
# Installs everything Sandcastle needs on this Debian machine (host packages, npm dependencies,
# build, the default templates) and starts `sandcastle serve` on http://127.0.0.1:3000.
# Every step is skipped when already done, so a second run starts the server within seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
node --import tsx scripts/build-templates.ts
exec node dist/src/cli/main.js serve "$@"
