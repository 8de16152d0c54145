#!/bin/sh
# Runs the broker: ./your_program.sh [server.properties] [--override key=value ...]
# Builds it first (installing build dependencies) when there is no up-to-date binary.
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
BIN="$DIR/build/release/src/broker/kafka-broker"
if [ ! -x "$BIN" ] || [ -n "$(find "$DIR/src" "$DIR/include" "$DIR/CMakeLists.txt" -newer "$BIN" -print -quit)" ]; then
  "$DIR/scripts/build.sh" >&2
fi
exec "$BIN" "$@"
