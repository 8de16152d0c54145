#!/usr/bin/env bash
# Log cleaning throughput: the broker starts on one compacted partition (keyed records, about
# KB_CLEAN_LIVE_PERCENT% of them live, written in Kafka's format by kb_bench_log_dir) and its
# log cleaner cleans it once, on its helper thread. Prints the cleaner's own figures (bytes read
# and written, records kept, seconds) and MB/s: of the partition (its bytes over the clean's
# seconds) and of the cleaner's reads (the map pass and the copy pass both read the log), for
# each of KB_BENCH_PASSES fresh copies, and the medians.
#
#   bench/run_clean_bench.sh
#
# Then, with kb_client_bench (librdkafka) built, one more copy for clients: a produce-and-fetch
# client (kb_client_bench latency, on another topic of the same broker) measures its p99 while
# the broker is idle and again while the cleaner cleans the partition, and their ratio (the
# cleaner must not stall clients: near 1 is the goal).
#
# Then, with KB_CLEAN_KAFKA=1 (Java and Maven needed: the Java lab's server class path), Apache
# Kafka 4.4 (kafka.Kafka, KRaft combined) opens a copy of the same directory and its log cleaner
# cleans the same partition: its own figures, and MB/s of the log as above.
#
# Environment: KB_BENCH_PASSES (default 3), KB_CLEAN_BYTES (partition size, default 268435456;
# the issue's figure is for 1073741824), KB_CLEAN_LIVE_PERCENT (default 10), KB_CLEAN_RECORD_BYTES
# (default 100), KB_CLEAN_SEGMENT_BYTES (default 67108864), KB_CLEAN_IO_BYTES_PER_SECOND
# (log.cleaner.io.max.bytes.per.second; default unlimited), KB_CLEAN_LATENCY_MESSAGES (default
# 2000) and KB_CLEAN_LATENCY_RATE (messages a second, default 1000) for the client.
set -euo pipefail

readonly PASSES=${KB_BENCH_PASSES:-3}
readonly PARTITION_BYTES=${KB_CLEAN_BYTES:-268435456}
readonly LIVE_PERCENT=${KB_CLEAN_LIVE_PERCENT:-10}
readonly RECORD_BYTES=${KB_CLEAN_RECORD_BYTES:-100}
readonly SEGMENT_BYTES=${KB_CLEAN_SEGMENT_BYTES:-67108864}
readonly IO_RATE=${KB_CLEAN_IO_BYTES_PER_SECOND:-}
readonly LATENCY_MESSAGES=${KB_CLEAN_LATENCY_MESSAGES:-2000}
readonly LATENCY_RATE=${KB_CLEAN_LATENCY_RATE:-1000}
readonly TOPIC=bench-clean

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_clean_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir clean-bench

build_tools bench/kb_bench_log_dir kb_bench_log_dir
readonly LOG_DIR_TOOL=$BUILD_DIR/bench/kb_bench_log_dir
# The client is optional (it needs librdkafka): without it the latency pass is left out.
readonly CLIENT=$BUILD_DIR/bench/kb_client_bench
if has_ninja_target bench/kb_client_bench; then
  bounded 900 ninja -C "$BUILD_DIR" bench/kb_client_bench >>"$WORK/build.log" 2>&1 ||
    log "warning: building kb_client_bench failed; no latency figures"
fi
build_broker required
choose_placement broker tools
warn_if_busy

log "generating the partition ($PARTITION_BYTES bytes, ${LIVE_PERCENT}% live keys)"
bounded 900 "$LOG_DIR_TOOL" compacted --dir "$WORK/template" --topic "$TOPIC" \
  --bytes "$PARTITION_BYTES" --record-bytes "$RECORD_BYTES" --live-percent "$LIVE_PERCENT" \
  --segment-bytes "$SEGMENT_BYTES" >"$WORK/generated" || die "generating the partition failed"
log "generated: $(cat "$WORK/generated")"

extra=("log.cleaner.backoff.ms=100")
if [[ -n $IO_RATE ]]; then extra+=("log.cleaner.io.max.bytes.per.second=$IO_RATE"); fi

rates=()
log_rates=()
cpu_rates=()
for ((pass = 1; pass <= PASSES; pass++)); do
  rm -rf "$WORK/data"
  cp -a "$WORK/template" "$WORK/data"
  sync
  start_broker "$WORK/data" "${extra[@]}" || die "the broker did not start"
  line=
  for _ in {1..6000}; do
    line=$(grep -m1 "cleaned $TOPIC-0:" "$WORK/broker.log" || true)
    [[ -n $line ]] && break
    grep -q "cleaning $TOPIC-0 failed" "$WORK/broker.log" && die "cleaning failed: $(tail -n 5 "$WORK/broker.log")"
    sleep 0.1
  done
  [[ -n $line ]] || die "the partition was not cleaned within 600 s"
  # The broker does nothing else: its CPU time is the start-up's and the clean's (a machine
  # shared with other work stretches the wall time, not this).
  cpu_seconds=$(awk -v t="$(cpu_ticks "$BROKER_PID")" -v hz="$CLOCK_TICKS" 'BEGIN { printf "%.2f", t / hz }')
  stop_process "$BROKER_PID"
  forget_process "$BROKER_PID"
  # "cleaned T-0: N segment(s), X KiB read, Y KiB written, K of R records kept, M MiB/s read,
  # S s; ..."
  read_kib=$(sed -n 's/.* \([0-9.]*\) KiB read.*/\1/p' <<<"$line")
  written_kib=$(sed -n 's/.* \([0-9.]*\) KiB written.*/\1/p' <<<"$line")
  kept=$(sed -n 's/.* \([0-9]* of [0-9]*\) records kept.*/\1/p' <<<"$line")
  seconds=$(sed -n 's/.* \([0-9.]*\) s; clean up to.*/\1/p' <<<"$line")
  rate=$(awk -v k="$read_kib" -v s="$seconds" 'BEGIN { printf "%.1f", k * 1024 / 1e6 / s }')
  rates+=("$rate")
  log_rate=$(awk -v b="$PARTITION_BYTES" -v s="$seconds" 'BEGIN { printf "%.1f", b / 1e6 / s }')
  log_rates+=("$log_rate")
  cpu_rate=$(awk -v b="$PARTITION_BYTES" -v s="$cpu_seconds" 'BEGIN { printf "%.1f", b / 1e6 / s }')
  cpu_rates+=("$cpu_rate")
  printf 'pass %d: read %.1f MiB, wrote %.1f MiB, %s records kept, %.2f s (broker CPU %s s): %s MB/s of the log, %s MB/s read, %s MB of the log per CPU second\n' "$pass" \
    "$(awk -v k="$read_kib" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="$written_kib" 'BEGIN { print k / 1024 }')" "$kept" "$seconds" "$cpu_seconds" "$log_rate" "$rate" "$cpu_rate"
done
printf 'cleaning: %s MB/s of the log, %s MB/s read, %s MB of the log per broker CPU second (medians of %d passes; %s bytes, %s%% live keys, %s-byte records)\n' \
  "$(printf '%s\n' "${log_rates[@]}" | median)" "$(printf '%s\n' "${rates[@]}" | median)" \
  "$(printf '%s\n' "${cpu_rates[@]}" | median)" \
  "$PASSES" "$PARTITION_BYTES" "$LIVE_PERCENT" "$RECORD_BYTES"
chart_table "Log cleaning: $PARTITION_BYTES bytes, $LIVE_PERCENT% live keys, $RECORD_BYTES-byte records" \
  pass "MB/s of the log" "MB/s read" "MB of the log per CPU s"
for ((pass = 1; pass <= PASSES; pass++)); do
  chart_row "pass $pass" "${log_rates[pass - 1]}" "${rates[pass - 1]}" "${cpu_rates[pass - 1]}"
done
write_chart

# --- Apache Kafka cleaning the same partition ---------------------------------------------
if [[ ${KB_CLEAN_KAFKA:-0} == 1 ]]; then
  install_java_lab
  kafka_port=$(pick_free_port)
  controller_port=$(pick_free_port)
  rm -rf "$WORK/kafka-data"
  cp -a "$WORK/template" "$WORK/kafka-data"
  write_kafka_kraft_properties "$WORK/kafka.properties" "$WORK/kafka-data" "$kafka_port" \
    "$controller_port"
  echo "log.cleaner.backoff.ms=100" >>"$WORK/kafka.properties"
  write_kafka_log4j2 "$WORK/log4j2.properties"
  : >"$WORK/kafka.log"
  "${SERVER_ON_CPU[@]}" java -Xmx1g "-Dlog4j2.configurationFile=$WORK/log4j2.properties" \
    -cp "$(java_lab_classpath server)" kafka.Kafka "$WORK/kafka.properties" >"$WORK/kafka.log" 2>&1 &
  kafka_pid=$!
  PIDS+=("$kafka_pid")
  kafka_line=
  for _ in {1..3000}; do
    # "	1,024.0 MB of log processed in 9.3 seconds (110.1 MB/sec)." (Kafka's MB are MiB)
    kafka_line=$(grep -m1 "MB of log processed in" "$WORK/kafka.log" || true)
    [[ -n $kafka_line ]] && break
    kill -0 "$kafka_pid" 2>/dev/null || break
    sleep 0.2
  done
  stop_process "$kafka_pid"
  forget_process "$kafka_pid"
  if [[ -n $kafka_line ]]; then
    kafka_seconds=$(sed -n 's/.* processed in \([0-9.,]*\) seconds.*/\1/p' <<<"$kafka_line" | tr -d ,)
    printf 'Apache Kafka 4.4 cleaning the same partition: %s; %s MB/s of the log\n' \
      "$(sed 's/^[[:space:]]*//' <<<"$kafka_line")" \
      "$(awk -v b="$PARTITION_BYTES" -v s="$kafka_seconds" 'BEGIN { printf "%.1f", b / 1e6 / s }')"
  else
    log "Apache Kafka did not clean the partition: $(tail -n 5 "$WORK/kafka.log")"
  fi
fi

# --- The client's latency while the cleaner runs --------------------------------------------
[[ -x $CLIENT ]] || { log "no kb_client_bench (librdkafka): no latency figures"; exit 0; }
# The cleaner's first look comes log.cleaner.backoff.ms after start-up (at most 15 s): the idle
# figure is taken before it, the other as soon as the clean starts.
latency_seconds=$(awk -v m="$LATENCY_MESSAGES" -v r="$LATENCY_RATE" 'BEGIN { printf "%d", m / r + 1 }')
backoff_ms=$(((latency_seconds + 6) * 1000))
((backoff_ms <= 15000)) || die "KB_CLEAN_LATENCY_MESSAGES / KB_CLEAN_LATENCY_RATE must stay under 9 s"
rm -rf "$WORK/data"
cp -a "$WORK/template" "$WORK/data"
sync
start_broker "$WORK/data" "log.cleaner.backoff.ms=$backoff_ms" ${IO_RATE:+"log.cleaner.io.max.bytes.per.second=$IO_RATE"} ||
  die "the broker did not start"
readonly BOOTSTRAP=127.0.0.1:$BROKER_PORT
latency() {
  bounded 120 "${CLIENT_ON_CPU[@]}" "$CLIENT" latency --bootstrap "$BOOTSTRAP" --topic "$1" \
    --messages "$LATENCY_MESSAGES" --rate "$LATENCY_RATE" 2>"$WORK/client.err" ||
    { cat "$WORK/client.err" >&2; die "kb_client_bench latency failed"; }
}
idle_line=$(latency clean-latency-idle)
grep -q "cleaning $TOPIC-0:" "$WORK/broker.log" &&
  die "the clean began before the idle measurement ended: raise log.cleaner.backoff.ms"
for _ in {1..300}; do
  grep -q "cleaning $TOPIC-0:" "$WORK/broker.log" && break
  sleep 0.05
done
grep -q "cleaning $TOPIC-0:" "$WORK/broker.log" || die "the clean did not begin"
busy_line=$(latency clean-latency-busy)
# Whether the clean outlasted the client: otherwise part of the figure is of an idle broker.
overlap="the clean outlasted the client"
grep -q "cleaned $TOPIC-0:" "$WORK/broker.log" && overlap="the clean ended before the client did"
stop_process "$BROKER_PID"
forget_process "$BROKER_PID"
idle_p99=$(field "$idle_line" p99_us)
busy_p99=$(field "$busy_line" p99_us)
printf 'client p99 (produce to fetch, %s messages at %s/s): idle %s us, while cleaning %s us, ratio %s (%s)\n' \
  "$LATENCY_MESSAGES" "$LATENCY_RATE" "$idle_p99" "$busy_p99" \
  "$(awk -v a="$busy_p99" -v b="$idle_p99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$overlap"
