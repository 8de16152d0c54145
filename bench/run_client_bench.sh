#!/usr/bin/env bash
# End to end with librdkafka (the library under kcat and confluent-kafka): a producer sends
# messages of 100 B and 1 KiB to one partition as fast as it can, then a consumer reads them back;
# then a producer at a steady rate and a consumer polling at the same time give the
# produce-to-consume latency. Each row carries the broker's CPU seconds per GB of payload
# (produced and consumed once), so the cost per core is visible.
#
#   bench/run_client_bench.sh
#
# Environment: KB_CLIENT_MESSAGES_100 (default 1000000), KB_CLIENT_MESSAGES_1K (default 300000),
# KB_CLIENT_LATENCY_MESSAGES (default 5000), KB_CLIENT_LATENCY_RATE (msgs/s, default 1000),
# KB_CLIENT_ACKS (default 1), KB_CLIENT_IDEMPOTENCE (default false; true needs
# KB_CLIENT_ACKS=all), KB_BENCH_PIN (default 1: broker on CPU 1, client on CPU 0).
set -euo pipefail

readonly MESSAGES_100=${KB_CLIENT_MESSAGES_100:-1000000}
readonly MESSAGES_1K=${KB_CLIENT_MESSAGES_1K:-300000}
readonly LATENCY_MESSAGES=${KB_CLIENT_LATENCY_MESSAGES:-5000}
readonly LATENCY_RATE=${KB_CLIENT_LATENCY_RATE:-1000}
readonly ACKS=${KB_CLIENT_ACKS:-1}
readonly IDEMPOTENCE=${KB_CLIENT_IDEMPOTENCE:-false}

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_client_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir client-bench

"$ROOT/scripts/install-deps.sh" bench
build_tools bench/kb_client_bench kb_client_bench
readonly CLIENT=$BUILD_DIR/bench/kb_client_bench
[[ -x $CLIENT ]] || die "kb_client_bench was not built (is librdkafka-dev installed?)"
build_broker required

choose_placement broker client
warn_if_busy
start_broker "$WORK/data" || die "the broker did not start"
readonly BOOTSTRAP=127.0.0.1:$BROKER_PORT

# Broker CPU seconds per GB over the command that follows; the result line goes to LINE.
measure() {
  local gigabytes=$1 before after
  shift
  before=$(cpu_ticks "$BROKER_PID")
  LINE=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CLIENT" "$@" 2>"$WORK/client.err") ||
    { cat "$WORK/client.err" >&2; die "$CLIENT $* failed"; }
  after=$(cpu_ticks "$BROKER_PID")
  CPU_PER_GB=$(awk -v t=$((after - before)) -v hz="$CLOCK_TICKS" -v g="$gigabytes" \
    'BEGIN { printf "%.2f", (t / hz) / g }')
}

printf '\n== librdkafka %s end to end: one partition, acks=%s, idempotence=%s (%s) ==\n' \
  "$(pkg-config --modversion rdkafka)" "$ACKS" "$IDEMPOTENCE" "$PLACEMENT"
printf '%-8s %10s %12s %10s %12s %10s %16s\n' size messages "produce/s" "MB/s" "consume/s" "MB/s" \
  "broker CPU s/GB"
chart_table "librdkafka end to end, one partition, acks=$ACKS ($PLACEMENT)" size "produce MB/s" \
  "consume MB/s" "broker CPU s/GB"
for row in "100 $MESSAGES_100" "1024 $MESSAGES_1K"; do
  read -r size messages <<<"$row"
  gigabytes=$(awk -v s="$size" -v m="$messages" 'BEGIN { print s * m / 1e9 }')
  measure "$gigabytes" throughput --bootstrap "$BOOTSTRAP" --topic "throughput-$size" \
    --messages "$messages" --size "$size" --acks "$ACKS" --idempotence "$IDEMPOTENCE"
  printf '%-8s %10s %12s %10s %12s %10s %16s\n' "$size B" "$messages" \
    "$(field "$LINE" produce_msgs_per_sec)" "$(field "$LINE" produce_mb_per_sec)" \
    "$(field "$LINE" consume_msgs_per_sec)" "$(field "$LINE" consume_mb_per_sec)" "$CPU_PER_GB"
  chart_row "$size B" "$(field "$LINE" produce_mb_per_sec)" "$(field "$LINE" consume_mb_per_sec)" \
    "$CPU_PER_GB"
done

printf '\nproduce-to-consume latency, %s msgs/s, linger.ms=0, fetch.wait.max.ms=100:\n' \
  "$LATENCY_RATE"
printf '%-8s %10s %10s %10s %10s\n' size messages "p50 us" "p99 us" "max us"
chart_table "Produce-to-consume latency, $LATENCY_RATE msgs/s" size "p50 us" "p99 us" "max us"
for size in 100 1024; do
  gigabytes=$(awk -v s="$size" -v m="$LATENCY_MESSAGES" 'BEGIN { print s * m / 1e9 }')
  measure "$gigabytes" latency --bootstrap "$BOOTSTRAP" --topic "latency-$size" \
    --messages "$LATENCY_MESSAGES" --size "$size" --rate "$LATENCY_RATE" --acks "$ACKS" \
    --idempotence "$IDEMPOTENCE"
  printf '%-8s %10s %10s %10s %10s\n' "$size B" "$LATENCY_MESSAGES" "$(field "$LINE" p50_us)" \
    "$(field "$LINE" p99_us)" "$(field "$LINE" max_us)"
  chart_row "$size B" "$(field "$LINE" p50_us)" "$(field "$LINE" p99_us)" "$(field "$LINE" max_us)"
done
printf 'broker RSS at the end: %s KiB\n' "$(rss_kib "$BROKER_PID")"
write_chart
