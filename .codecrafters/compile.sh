#!/bin/sh
# CodeCrafters build step: dependencies come from vcpkg (vcpkg.json) there.
set -e
TOOLCHAIN=""
if [ -n "${VCPKG_ROOT:-}" ]; then
  TOOLCHAIN="-DCMAKE_TOOLCHAIN_FILE=${VCPKG_ROOT}/scripts/buildsystems/vcpkg.cmake"
fi
cmake -B build/release -S . -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=OFF -DKB_BUILD_BENCH=OFF $TOOLCHAIN
cmake --build build/release --target kafka-broker
