#!/usr/bin/env bash
# The whole test suite: unit, integration (SQLite and PostgreSQL) and end-to-end (network namespaces).
# Usage: scripts/test.sh [test files...]   (default: every test/**/*.test.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

pgdir=""
cleanup() {
  if [ -n "$pgdir" ]; then bash scripts/postgres-temp.sh stop "$pgdir" || true; fi
}
trap cleanup EXIT INT TERM

pgdir=$(mktemp -d /tmp/cloudnet-test-pg.XXXXXX)
CLOUDNET_TEST_PG_URL=$(bash scripts/postgres-temp.sh start "$pgdir")
export CLOUDNET_TEST_PG_URL

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find test -name '*.test.ts' | sort)
fi
node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
