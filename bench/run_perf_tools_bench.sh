#!/usr/bin/env bash
# Apache Kafka's own load tools against the broker, as users run them: kafka-producer-perf-test
# (org.apache.kafka.tools.ProducerPerformance, producer defaults: linger.ms=5, batch.size=16384)
# sends records of 100 B and 1 KiB with acks=1 and acks=all to topics of one and eight
# partitions, then kafka-consumer-perf-test (ConsumerPerformance) reads each topic back. Each row:
# records/s, MB/s, the latencies the producer tool prints (avg, p50, p95, p99, p99.9, max), and the
# broker's CPU seconds per GB of payload over that run (utime + stime from /proc/<pid>/stat).
# The tools come from the Java lab (tests/integration/clients/java, kafka-tools 4.4.0), built
# into build/client-cache on first use; each run is its own JVM, as bin/*.sh starts them.
#
#   bench/run_perf_tools_bench.sh
#
# Environment: KB_PERF_RECORDS_100 (default 1000000), KB_PERF_RECORDS_1K (default 300000),
# KB_BENCH_PIN (default 1: broker on CPU 1, the tools on CPU 0).
set -euo pipefail

readonly RECORDS_100=${KB_PERF_RECORDS_100:-1000000}
readonly RECORDS_1K=${KB_PERF_RECORDS_1K:-300000}

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_perf_tools_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir perf-tools-bench

install_java_lab
TOOLS_CLASSPATH=$(java_lab_classpath 4)
readonly TOOLS_CLASSPATH

if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=OFF \
    >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; die "cmake failed"; }
fi
build_broker required

choose_placement broker tools
warn_if_busy
start_broker "$WORK/data" "num.partitions=1" || die "the broker did not start"
readonly BOOTSTRAP=127.0.0.1:$BROKER_PORT

# The broker's CPU seconds per GB over the kafka_tool call that follows.
measured_tool() {
  local gigabytes=$1 before after
  shift
  before=$(cpu_ticks "$BROKER_PID")
  kafka_tool "$@"
  after=$(cpu_ticks "$BROKER_PID")
  CPU_PER_GB=$(awk -v t=$((after - before)) -v hz="$CLOCK_TICKS" -v g="$gigabytes" \
    'BEGIN { printf "%.1f", (t / hz) / g }')
}

produce_rows=()
consume_rows=()
produce_chart=()
consume_chart=()
for size in 100 1024; do
  records=$RECORDS_100
  [[ $size == 1024 ]] && records=$RECORDS_1K
  gigabytes=$(awk -v s="$size" -v m="$records" 'BEGIN { print s * m / 1e9 }')
  for acks in 1 all; do
    for partitions in 1 8; do
      topic=perf-$size-$acks-$partitions
      kafka_tool TopicCommand --bootstrap-server "$BOOTSTRAP" --create --topic "$topic" \
        --partitions "$partitions"
      measured_tool "$gigabytes" ProducerPerformance --bootstrap-server "$BOOTSTRAP" \
        --topic "$topic" --num-records "$records" --record-size "$size" --throughput -1 \
        --command-property "acks=$acks"
      summary=$(producer_perf_fields "$OUT")
      produce_rows+=("$(printf '%-7s %-4s %3s %12s %8s %8s %6s %6s %6s %7s %8s %9s' "$size B" \
        "$acks" "$partitions" "$(field "$summary" records_per_sec)" \
        "$(field "$summary" mb_per_sec)" "$(field "$summary" avg_ms)" \
        "$(field "$summary" p50_ms)" "$(field "$summary" p95_ms)" "$(field "$summary" p99_ms)" \
        "$(field "$summary" p999_ms)" "$(field "$summary" max_ms)" "$CPU_PER_GB")")
      produce_chart+=("$size B acks=$acks p=$partitions|$(field "$summary" mb_per_sec)|$(field \
        "$summary" p99_ms)|$CPU_PER_GB")
      measured_tool "$gigabytes" ConsumerPerformance --bootstrap-server "$BOOTSTRAP" \
        --topic "$topic" --num-records "$records" --timeout 60000 --group "perf-$topic"
      summary=$(consumer_perf_fields "$OUT")
      consume_rows+=("$(printf '%-7s %-4s %3s %12s %8s %12s %8s %10s %9s' "$size B" "$acks" \
        "$partitions" "$(field "$summary" fetch_records_per_sec)" \
        "$(field "$summary" fetch_mb_per_sec)" "$(field "$summary" records_per_sec)" \
        "$(field "$summary" mb_per_sec)" "$(field "$summary" join_ms)" "$CPU_PER_GB")")
      consume_chart+=("$size B acks=$acks p=$partitions|$(field "$summary" fetch_mb_per_sec)|$CPU_PER_GB")
    done
  done
done

printf '\n== kafka-producer-perf-test (kafka-tools 4.4.0, producer defaults) (%s) ==\n' \
  "$PLACEMENT"
printf '%-7s %-4s %3s %12s %8s %8s %6s %6s %6s %7s %8s %9s\n' size acks "p" "records/s" \
  "MB/s" "avg ms" "p50" "p95" "p99" "p99.9" "max ms" "CPU s/GB"
printf '%s\n' "${produce_rows[@]}"
printf '\n== kafka-consumer-perf-test (fetch phase; whole run incl. group join) ==\n'
printf '%-7s %-4s %3s %12s %8s %12s %8s %10s %9s\n' size acks "p" "fetch rec/s" "MB/s" \
  "all rec/s" "MB/s" "join ms" "CPU s/GB"
printf '%s\n' "${consume_rows[@]}"
printf 'broker RSS at the end: %s KiB\n' "$(rss_kib "$BROKER_PID")"
chart_table "kafka-producer-perf-test (kafka-tools 4.4.0, producer defaults; $PLACEMENT)" run \
  "MB/s" "p99 ms" "broker CPU s/GB"
for row in "${produce_chart[@]}"; do
  IFS='|' read -r -a cells <<<"$row"
  chart_row "${cells[@]}"
done
chart_table "kafka-consumer-perf-test (fetch phase)" run "MB/s" "broker CPU s/GB"
for row in "${consume_chart[@]}"; do
  IFS='|' read -r -a cells <<<"$row"
  chart_row "${cells[@]}"
done
write_chart
