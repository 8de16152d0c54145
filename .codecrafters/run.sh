#!/bin/sh
# CodeCrafters run step: the harness passes /tmp/server.properties.
# CodeCrafters runs this script as the repository's your_program.sh (its own
# starters reach build/ from "$(dirname "$0")"), so the binary is found from
# the repository root as well as from .codecrafters/.
set -e
ROOT=$(cd "$(dirname "$0")" && pwd)
[ -f "$ROOT/CMakeLists.txt" ] || ROOT=$(dirname "$ROOT")
exec "$ROOT/build/release/src/broker/kafka-broker" "$@"
