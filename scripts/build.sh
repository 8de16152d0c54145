#!/usr/bin/env bash
# Builds the Release broker into build/release (installing build dependencies first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -G Ninja -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=OFF \
  -DKB_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target kafka-broker
