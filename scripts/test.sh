#!/usr/bin/env bash
# Builds Atelier and runs every test suite (unit, store, process). Installs
# what it needs first; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's python3-torch is the reference the SD tests compare with (sampler
# steps, LoRA merges); it is never a runtime dependency.
ATELIER_EXTRA_PACKAGES="python3-torch" ./scripts/setup.sh
./scripts/fetch_datasets.sh   # the emoji sets the model tests train and sample on
# The store suites run every case on PostgreSQL too: a server of our own on a
# loopback port, stopped when the tests end.
ATELIER_TEST_PG=$(./scripts/test_postgres.sh start)
export ATELIER_TEST_PG
pg_script="$PWD/scripts/test_postgres.sh"
trap '"$pg_script" stop' EXIT
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j 2 --timeout 600
