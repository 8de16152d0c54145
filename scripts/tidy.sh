#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over src/, using the compile commands of a Release
# build configured in build/tidy. Any finding fails (WarningsAsErrors).
#   scripts/tidy.sh              every source file in src/
#   scripts/tidy.sh src/net      only files under the given paths
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/tidy
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=OFF \
  -DKB_BUILD_BENCH=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
paths=("$@")
[ ${#paths[@]} -eq 0 ] && paths=(src)
regex="$(pwd)/($(IFS='|'; echo "${paths[*]}"))/.*\\.cpp\$"
tidy=$(command -v run-clang-tidy-14 || command -v run-clang-tidy)
# The compile commands are GCC's: clang-tidy ignores warning options it does not know.
"$tidy" -p "$build" -j "$(nproc)" -quiet -extra-arg=-Wno-unknown-warning-option "$regex"
