#!/bin/sh
# CodeCrafters run step: the harness passes /tmp/server.properties.
set -e
exec "$(dirname "$0")/../build/release/src/broker/kafka-broker" "$@"
