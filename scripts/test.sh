#!/usr/bin/env bash
# The whole test suite: set the machine up (idempotent, fast when already done), then run the unit
# tests and the integration tests, which start the real server and drive it with the real SDKs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-host.sh
# Some tests start servers without user namespaces (SANDCASTLE_USERNS=0), which use the templates
# as built; the layers shifted for the sandboxes' user namespace are then copies of them.
SANDCASTLE_USERNS=0 node --import tsx scripts/build-templates.ts
node --import tsx scripts/build-templates.ts

status=0
# A test run killed midway (a session's end, a CI timeout) leaves its servers' sandboxes behind.
node --import tsx scripts/clear-killed-test-runs.ts || status=$?

# One file at a time: integration files each start a server and sandboxes on 2 shared cores.
shopt -s globstar nullglob
node --import tsx --test --test-concurrency=1 src/**/*.test.ts test/*.test.ts || status=$?
# Then, on its own (the runner orders files by name), the check that nothing was left behind.
node --import tsx --test test/final/no-leftovers.test.ts || status=$?
exit "$status"
