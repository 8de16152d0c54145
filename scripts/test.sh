#!/usr/bin/env bash
# Runs every test: the unit and integration suites in a Release build, then the
# same suites again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

jobs=$(nproc)
# One client cache for both build trees: each lab downloads once per machine.
client_cache="$PWD/build/client-cache"

echo "== Formatting (.clang-format)"
# shellcheck disable=SC2046
clang-format --dry-run --Werror $(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find src include tests bench -name '*.[ch]pp')

echo "== clang-tidy (.clang-tidy) on src/"
scripts/tidy.sh

echo "== Release build and tests"
cmake -G Ninja -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=ON \
  -DKB_CLIENT_CACHE_DIR="$client_cache" >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs" --timeout 300

echo "== ASan+UBSan build and tests"
cmake -G Ninja -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DKB_SANITIZE=ON -DKB_BUILD_TESTS=ON \
  -DKB_BUILD_BENCH=OFF -DKB_CLIENT_CACHE_DIR="$client_cache" >/dev/null
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" --timeout 600

echo "== Fuzzers (libFuzzer + ASan/UBSan, 20 s each; scripts/fuzz.sh 600 for a longer run)"
scripts/fuzz.sh 20
