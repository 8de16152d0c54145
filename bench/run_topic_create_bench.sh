#!/usr/bin/env bash
# Topic creation against a busy broker: CreateTopics for one topic of many partitions (default
# 2,000) on a fresh log directory while another connection sends ApiVersions every few
# milliseconds.
#
#   bench/run_topic_create_bench.sh
#
# Each run starts the broker on an empty log directory, runs kb_topic_create_bench once and stops
# the broker. Prints every run and the medians of the creation time and of the other client's
# worst wait (the longest gap between two of its answers while the creation ran). A single-
# threaded broker that syncs every partition's files on its loop shows a gap as long as the
# creation itself; one that creates them off the loop keeps the gap at a few milliseconds.
#
# Environment: KB_CREATE_RUNS (default 3), KB_CREATE_PARTITIONS (default 2000),
# KB_CREATE_PING_MS (default 2), KB_BENCH_PIN (default 1: the broker on CPU 1, the clients on
# CPU 0).
set -euo pipefail

readonly RUNS=${KB_CREATE_RUNS:-3}
readonly PARTITIONS=${KB_CREATE_PARTITIONS:-2000}
readonly PING_MS=${KB_CREATE_PING_MS:-2}

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_topic_create_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_work_dir topic-create-bench

build_tools bench/kb_topic_create_bench kb_topic_create_bench
readonly CREATE_BENCH=$BUILD_DIR/bench/kb_topic_create_bench
build_broker required

choose_placement broker clients
warn_if_busy

CREATE_MS=()
GAP_MS=()
for run in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/data"
  start_broker "$WORK/data" || die "the broker did not start"
  line=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CREATE_BENCH" --port "$BROKER_PORT" \
    --partitions "$PARTITIONS" --ping-interval-ms "$PING_MS" 2>"$WORK/bench.err") ||
    { cat "$WORK/bench.err" >&2; die "run $run failed"; }
  stop_process "$BROKER_PID"
  log "run $run: $line"
  CREATE_MS+=("$(field "$line" create_ms)")
  GAP_MS+=("$(field "$line" worst_gap_ms)")
done

printf 'topic creation: %s partitions, %s runs (%s)\n' "$PARTITIONS" "$RUNS" "$PLACEMENT"
printf '  create time           median %s ms\n' "$(printf '%s\n' "${CREATE_MS[@]}" | median)"
printf '  other client worst gap median %s ms (ApiVersions every %s ms)\n' \
  "$(printf '%s\n' "${GAP_MS[@]}" | median)" "$PING_MS"
chart_table "Topic creation, $PARTITIONS partitions, per run ($PLACEMENT)" run "create ms" \
  "other client's worst gap ms"
for run in $(seq 1 "$RUNS"); do
  chart_row "run $run" "${CREATE_MS[run - 1]}" "${GAP_MS[run - 1]}"
done
write_chart
