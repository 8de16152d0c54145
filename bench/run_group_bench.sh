#!/usr/bin/env bash
# Consumer groups: rebalance latency and OffsetCommit throughput (bench/group_bench.cpp).
#
#   bench/run_group_bench.sh
#
# Prints, for 2, 8 and 32 members (threads of kb_group_bench, one connection each), the time
# from the first JoinGroup of a new group to every member holding its SyncGroup assignment
# (cold), and the median and worst time from one more member's JoinGroup until every member
# holds the generation that includes it (join; the others learn of the rebalance from their
# next heartbeat, so the heartbeat interval bounds it from below). Then OffsetCommit v8
# requests/s (one offset per request, one request in flight per connection) at 1 and 16
# connections.
#
# Environment: KB_GROUP_ROUNDS (join measurements per size, default 5), KB_GROUP_HEARTBEAT_MS
# (default 100; clients default to 3000), KB_GROUP_COMMIT_SECONDS (default 5), KB_BENCH_PIN
# (default 1: broker on CPU 1, clients on CPU 0).
set -euo pipefail

readonly ROUNDS=${KB_GROUP_ROUNDS:-5}
readonly HEARTBEAT_MS=${KB_GROUP_HEARTBEAT_MS:-100}
readonly COMMIT_SECONDS=${KB_GROUP_COMMIT_SECONDS:-5}

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_group_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir group-bench

build_tools bench/kb_group_bench kb_group_bench
readonly GROUP_BENCH=$BUILD_DIR/bench/kb_group_bench
build_broker required

warn_if_busy
choose_placement broker clients
# A new group starts its first generation at once (Kafka's default waits 3 s for more members).
start_broker "$WORK/data" group.initial.rebalance.delay.ms=0 || die "the broker did not start"

log "placement: $PLACEMENT; heartbeat every ${HEARTBEAT_MS} ms"
chart_table "Rebalance, heartbeat every $HEARTBEAT_MS ms ($PLACEMENT)" members "cold ms" \
  "join median ms" "join max ms"
for members in 2 8 32; do
  line=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$GROUP_BENCH" rebalance "$BROKER_PORT" "$members" \
    "$ROUNDS" "$HEARTBEAT_MS")
  echo "$line"
  chart_row "$members members" "$(field "$line" cold_ms)" "$(field "$line" join_median_ms)" \
    "$(field "$line" join_max_ms)"
done
chart_table "OffsetCommit v8, one offset per request, one in flight per connection" connections \
  "commits/s"
for connections in 1 16; do
  line=$(bounded 120 "${CLIENT_ON_CPU[@]}" "$GROUP_BENCH" commit "$BROKER_PORT" "$connections" \
    "$COMMIT_SECONDS")
  echo "$line"
  chart_row "$connections conn" "$(field "$line" commits_per_s)"
done
echo "broker_rss_kib=$(rss_kib "$BROKER_PID")"
write_chart
