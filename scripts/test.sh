#!/usr/bin/env bash
# Builds Atelier and runs every test suite (unit, store, process). Installs
# what it needs first; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/fetch_datasets.sh   # the emoji sets the model tests train and sample on
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j 2 --timeout 600
