#!/usr/bin/env bash
# Fetch throughput: one consumer reads a whole 1 GiB partition from the broker with Fetch v12
# (max_bytes 50 MiB, partition_max_bytes 8 MiB, one request in flight), against a ceiling: a
# minimal server handing out the same page-cached .log file over loopback in the same
# request/response pattern, once with pread + write in 1 MiB chunks and once with sendfile.
#
#   bench/run_fetch_bench.sh
#
# Prints MB/s (10^6 record bytes per second, median of the passes) for the broker and both
# ceiling variants, the broker/ceiling ratio against its target (>= 0.8; the ceiling is the
# faster variant), each server's CPU time per GB and the broker's RSS.
#
# The partition (uncompressed batches of 1 KiB records written with the storage library in
# Kafka's format) is generated once and cached under <build>/bench-data/; each run copies it
# into a temporary directory, so the cache never sees what the broker does to its log dir.
#
# Environment: KB_BENCH_PASSES (measured passes per server, default 5), KB_BENCH_WARMUP_PASSES
# (default 1), KB_FETCH_BYTES (partition size, default 1073741824), KB_FETCH_BATCH_BYTES (batch
# size limit, default 16384: the Java producer's batch.size), KB_FETCH_RECORD_BYTES (default
# 1024), KB_BENCH_PIN (default 1: servers on CPU 1, consumer on CPU 0), KB_BENCH_CACHE (default
# 1; 0 generates into the temporary directory and keeps nothing).
set -euo pipefail

# Settings.
readonly PASSES=${KB_BENCH_PASSES:-5}
readonly WARMUP_PASSES=${KB_BENCH_WARMUP_PASSES:-1}
readonly PARTITION_BYTES=${KB_FETCH_BYTES:-1073741824}
readonly BATCH_BYTES=${KB_FETCH_BATCH_BYTES:-16384}
readonly RECORD_BYTES=${KB_FETCH_RECORD_BYTES:-1024}
readonly CACHE=${KB_BENCH_CACHE:-1}
readonly MAX_BYTES=$((50 << 20))
readonly PARTITION_MAX_BYTES=$((8 << 20))
readonly TARGET_RATIO=0.8
readonly TOPIC=bench-fetch

# Shared plumbing (lib.sh); its errors name this script.
# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_fetch_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A cache directory being generated: removed if the script ends before it is complete.
PARTIAL_CACHE=
cleanup_extra() {
  if [[ -n $PARTIAL_CACHE ]]; then rm -rf "$PARTIAL_CACHE"; fi
}
start_work_dir fetch-bench

# --- Build -------------------------------------------------------------------------------------

build_tools bench/kb_fetch_bench kb_fetch_bench kb_bench_log_dir
readonly FETCH_BENCH=$BUILD_DIR/bench/kb_fetch_bench
readonly LOG_DIR_TOOL=$BUILD_DIR/bench/kb_bench_log_dir
build_broker required

# --- Data --------------------------------------------------------------------------------------

readonly DATA_NAME="fetch-${PARTITION_BYTES}b-batch${BATCH_BYTES}-record${RECORD_BYTES}"
readonly LOG_DIR=$WORK/data
if [[ $CACHE == 1 ]]; then
  CACHE_DIR=$BUILD_DIR/bench-data/$DATA_NAME
  if [[ ! -f $CACHE_DIR/generated ]]; then
    log "generating the partition into $CACHE_DIR (once)"
    rm -rf "$CACHE_DIR"
    mkdir -p "$(dirname "$CACHE_DIR")"
    PARTIAL_CACHE=$CACHE_DIR.partial
    rm -rf "$PARTIAL_CACHE"
    bounded 600 "$LOG_DIR_TOOL" fetch --dir "$PARTIAL_CACHE/logs" --topic "$TOPIC" \
      --bytes "$PARTITION_BYTES" --batch-bytes "$BATCH_BYTES" --record-bytes "$RECORD_BYTES" \
      >"$WORK/generated" || die "generating the partition failed"
    mv "$WORK/generated" "$PARTIAL_CACHE/generated"
    mv "$PARTIAL_CACHE" "$CACHE_DIR"
    PARTIAL_CACHE=
  fi
  GENERATED=$(cat "$CACHE_DIR/generated")
  log "copying the cached partition"
  cp -a "$CACHE_DIR/logs" "$LOG_DIR"
else
  log "generating the partition"
  GENERATED=$(bounded 600 "$LOG_DIR_TOOL" fetch --dir "$LOG_DIR" --topic "$TOPIC" \
    --bytes "$PARTITION_BYTES" --batch-bytes "$BATCH_BYTES" --record-bytes "$RECORD_BYTES") ||
    die "generating the partition failed"
fi
END_OFFSET=$(field "$GENERATED" end_offset)
readonly END_OFFSET
readonly LOG_FILE=$LOG_DIR/$TOPIC-0/00000000000000000000.log
[[ $(field "$GENERATED" segments) == 1 ]] || die "the partition has more than one segment"
# On disk and in the page cache before anything is timed.
sync "$LOG_FILE"
cat "$LOG_FILE" >/dev/null
LOG_FILE_BYTES=$(stat -c %s "$LOG_FILE")
readonly LOG_FILE_BYTES

# --- Placement ---------------------------------------------------------------------------------

choose_placement servers consumer
warn_if_busy

# --- Helpers -----------------------------------------------------------------------------------

# Runs the warm-up and measured passes of `consumer args...` against server `pid`. Sets
# RESULT_MBS (median), RESULT_ALL (every measured pass) and RESULT_CPU_PER_GB (server CPU
# seconds per GB delivered over the measured passes).
run_passes() {
  local pid=$1 line rates=() ticks_before ticks_after bytes=0 pass
  shift
  for ((pass = 0; pass < WARMUP_PASSES; pass++)); do
    bounded 300 "${CLIENT_ON_CPU[@]}" "$FETCH_BENCH" "$@" >/dev/null 2>"$WORK/consumer.err" ||
      { cat "$WORK/consumer.err" >&2; return 1; }
  done
  ticks_before=$(cpu_ticks "$pid")
  for ((pass = 0; pass < PASSES; pass++)); do
    line=$(bounded 300 "${CLIENT_ON_CPU[@]}" "$FETCH_BENCH" "$@" 2>"$WORK/consumer.err") ||
      { cat "$WORK/consumer.err" >&2; return 1; }
    rates+=("$(field "$line" mb_per_sec)")
    bytes=$((bytes + $(field "$line" bytes)))
  done
  ticks_after=$(cpu_ticks "$pid")
  RESULT_MBS=$(printf '%s\n' "${rates[@]}" | median)
  RESULT_ALL=${rates[*]}
  RESULT_CPU_PER_GB=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$CLOCK_TICKS" -v b="$bytes" \
    'BEGIN { printf "%.2f", (t / hz) / (b / 1e9) }')
}

# --- Broker ------------------------------------------------------------------------------------

start_broker "$LOG_DIR" || die "the broker did not start"

log "broker: $WARMUP_PASSES warm-up + $PASSES measured passes"
BROKER_MBS=failed BROKER_ALL='' BROKER_CPU=- BROKER_RSS=-
if run_passes "$BROKER_PID" consume --port "$BROKER_PORT" --topic "$TOPIC" \
  --max-bytes "$MAX_BYTES" --partition-max-bytes "$PARTITION_MAX_BYTES" \
  --expect-end-offset "$END_OFFSET"; then
  BROKER_MBS=$RESULT_MBS BROKER_ALL=$RESULT_ALL BROKER_CPU=$RESULT_CPU_PER_GB
  BROKER_RSS=$(awk -v k="$(rss_kib "$BROKER_PID")" 'BEGIN { printf "%.1f MiB", k / 1024 }')
else
  log "the broker run failed; broker log:"
  tail -n 20 "$WORK/broker.log" >&2
fi
stop_process "$BROKER_PID"

# --- Ceiling -----------------------------------------------------------------------------------

declare -A CEILING_MBS CEILING_ALL CEILING_CPU
for mode in pread sendfile; do
  "${SERVER_ON_CPU[@]}" "$FETCH_BENCH" serve --file "$LOG_FILE" --mode "$mode" \
    >"$WORK/serve.out" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_PORT=$(wait_for_port "$SERVER_PID" "$WORK/serve.out" 'port=\([0-9]*\)') ||
    die "the $mode ceiling server did not start"
  log "ceiling ($mode): $WARMUP_PASSES warm-up + $PASSES measured passes"
  run_passes "$SERVER_PID" read --port "$SERVER_PORT" --max-bytes "$PARTITION_MAX_BYTES" ||
    die "the $mode ceiling run failed"
  CEILING_MBS[$mode]=$RESULT_MBS CEILING_ALL[$mode]=$RESULT_ALL
  CEILING_CPU[$mode]=$RESULT_CPU_PER_GB
  stop_process "$SERVER_PID"
done

# --- Report ------------------------------------------------------------------------------------

CEILING=$(awk -v a="${CEILING_MBS[pread]}" -v b="${CEILING_MBS[sendfile]}" \
  'BEGIN { print (a > b) ? a : b }')
RATIO=- VERDICT=''
if [[ $BROKER_MBS != failed ]]; then
  RATIO=$(awk -v b="$BROKER_MBS" -v c="$CEILING" 'BEGIN { printf "%.2f", b / c }')
  VERDICT=$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "ok" : "MISS" }')
fi

printf '\n== Fetch throughput: one partition, %s MiB (%s batches of %s B, %s records of %s B) ==\n' \
  "$((LOG_FILE_BYTES >> 20))" "$(field "$GENERATED" batches)" "$(field "$GENERATED" batch_bytes)" \
  "$(field "$GENERATED" records)" "$RECORD_BYTES"
printf '(Fetch v12, max_bytes %s MiB, partition_max_bytes %s MiB, one request in flight; %s;\n' \
  "$((MAX_BYTES >> 20))" "$((PARTITION_MAX_BYTES >> 20))" "$PLACEMENT"
printf ' median of %s passes after %s warm-up; MB = 10^6 bytes)\n' "$PASSES" "$WARMUP_PASSES"
printf '%-30s %10s %14s   %s\n' server "MB/s" "CPU s per GB" "passes (MB/s)"
printf '%-30s %10s %14s   %s\n' "broker" "$BROKER_MBS" "$BROKER_CPU" "$BROKER_ALL"
printf '%-30s %10s %14s   %s\n' "ceiling: pread+write 1 MiB" "${CEILING_MBS[pread]}" \
  "${CEILING_CPU[pread]}" "${CEILING_ALL[pread]}"
printf '%-30s %10s %14s   %s\n' "ceiling: sendfile" "${CEILING_MBS[sendfile]}" \
  "${CEILING_CPU[sendfile]}" "${CEILING_ALL[sendfile]}"
printf '\nbroker / ceiling (%s MB/s): %s   target >= %s %s\n' "$CEILING" "$RATIO" "$TARGET_RATIO" \
  "$VERDICT"
printf 'broker RSS after the passes: %s\n' "$BROKER_RSS"
