#!/usr/bin/env bash
# Fetch throughput: one consumer reads a whole 1 GiB partition from the broker with Fetch v12
# (max_bytes 50 MiB, partition_max_bytes 8 MiB, one request in flight), against a ceiling: a
# minimal server handing out the same page-cached .log file over loopback in the same
# request/response pattern, once with pread + write in 1 MiB chunks and once with sendfile.
#
#   bench/run_fetch_bench.sh
#
# The three servers run side by side and are measured in rounds: each round is one pass
# against each of them (in an order that rotates), so a change in the machine's load hits all
# three alike. Prints MB/s (10^6 record bytes per second, median of the passes) for the broker
# and both ceiling variants, the broker/ceiling ratio against its target (>= 0.8; the ceiling
# is the faster variant), the median of the per-round ratios (each against that round's faster
# ceiling), each server's CPU time per GB and the broker's RSS.
#
# The partition (uncompressed batches of 1 KiB records written with the storage library in
# Kafka's format) is generated once and cached under <build>/bench-data/; each run copies it
# into a temporary directory, so the cache never sees what the broker does to its log dir.
#
# Environment: KB_BENCH_PASSES (measured rounds, default 7), KB_BENCH_WARMUP_PASSES
# (default 1), KB_FETCH_BYTES (partition size, default 1073741824), KB_FETCH_BATCH_BYTES (batch
# size limit, default 16384: the Java producer's batch.size), KB_FETCH_RECORD_BYTES (default
# 1024), KB_BENCH_PIN (default 1: servers on CPU 1, consumer on CPU 0), KB_BENCH_CACHE (default
# 1; 0 generates into the temporary directory and keeps nothing).
set -euo pipefail

# Settings.
readonly PASSES=${KB_BENCH_PASSES:-7}
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

# The servers, by name: pid, the consumer command line, and what the passes gave.
readonly SERVERS=(broker pread sendfile)
declare -A PID_OF ARGS_OF RATES TICKS BYTES
for name in "${SERVERS[@]}"; do RATES[$name]='' TICKS[$name]=0 BYTES[$name]=0; done

# One pass of the consumer against server `name`: sets PASS_MBS and adds the server's CPU
# ticks and the bytes delivered to its totals (unless `warmup`).
run_pass() {
  local name=$1 warmup=${2:-} line ticks_before ticks_after args
  read -r -a args <<<"${ARGS_OF[$name]}"
  ticks_before=$(cpu_ticks "${PID_OF[$name]}")
  line=$(bounded 300 "${CLIENT_ON_CPU[@]}" "$FETCH_BENCH" "${args[@]}" 2>"$WORK/consumer.err") ||
    { cat "$WORK/consumer.err" >&2; die "a pass against the $name server failed"; }
  ticks_after=$(cpu_ticks "${PID_OF[$name]}")
  if [[ -z $warmup ]]; then
    TICKS[$name]=$((TICKS[$name] + ticks_after - ticks_before))
    BYTES[$name]=$((BYTES[$name] + $(field "$line" bytes)))
  fi
  PASS_MBS=$(field "$line" mb_per_sec)
}

# --- Servers -----------------------------------------------------------------------------------

start_broker "$LOG_DIR" || die "the broker did not start"
PID_OF[broker]=$BROKER_PID
ARGS_OF[broker]="consume --port $BROKER_PORT --topic $TOPIC --max-bytes $MAX_BYTES \
--partition-max-bytes $PARTITION_MAX_BYTES --expect-end-offset $END_OFFSET"

for mode in pread sendfile; do
  : >"$WORK/serve-$mode.out"
  "${SERVER_ON_CPU[@]}" "$FETCH_BENCH" serve --file "$LOG_FILE" --mode "$mode" \
    >"$WORK/serve-$mode.out" 2>&1 &
  PID_OF[$mode]=$!
  PIDS+=("${PID_OF[$mode]}")
  port=$(wait_for_port "${PID_OF[$mode]}" "$WORK/serve-$mode.out" 'port=\([0-9]*\)') ||
    die "the $mode ceiling server did not start"
  ARGS_OF[$mode]="read --port $port --max-bytes $PARTITION_MAX_BYTES"
done

# --- Rounds ------------------------------------------------------------------------------------

log "$WARMUP_PASSES warm-up + $PASSES measured rounds of broker, pread and sendfile passes"
for ((pass = 0; pass < WARMUP_PASSES; pass++)); do
  for name in "${SERVERS[@]}"; do run_pass "$name" warmup; done
done
ROUND_RATIOS=()
for ((round = 0; round < PASSES; round++)); do
  declare -A this_round=()
  for ((i = 0; i < ${#SERVERS[@]}; i++)); do
    name=${SERVERS[$(((round + i) % ${#SERVERS[@]}))]}
    run_pass "$name"
    this_round[$name]=$PASS_MBS
    RATES[$name]+="${this_round[$name]} "
  done
  ROUND_RATIOS+=("$(awk -v b="${this_round[broker]}" -v p="${this_round[pread]}" \
    -v s="${this_round[sendfile]}" 'BEGIN { printf "%.2f", b / (p > s ? p : s) }')")
  log "round $((round + 1)): broker ${this_round[broker]}, pread ${this_round[pread]}," \
    "sendfile ${this_round[sendfile]} MB/s"
done
BROKER_RSS=$(awk -v k="$(rss_kib "${PID_OF[broker]}")" 'BEGIN { printf "%.1f MiB", k / 1024 }')
for name in "${SERVERS[@]}"; do stop_process "${PID_OF[$name]}"; done

# --- Report ------------------------------------------------------------------------------------

declare -A MEDIAN CPU_PER_GB
for name in "${SERVERS[@]}"; do
  # shellcheck disable=SC2086  # one rate per word
  MEDIAN[$name]=$(printf '%s\n' ${RATES[$name]} | median)
  CPU_PER_GB[$name]=$(awk -v t="${TICKS[$name]}" -v hz="$CLOCK_TICKS" -v b="${BYTES[$name]}" \
    'BEGIN { printf "%.2f", (t / hz) / (b / 1e9) }')
done
CEILING=$(awk -v a="${MEDIAN[pread]}" -v b="${MEDIAN[sendfile]}" 'BEGIN { print (a > b) ? a : b }')
RATIO=$(awk -v b="${MEDIAN[broker]}" -v c="$CEILING" 'BEGIN { printf "%.2f", b / c }')
VERDICT=$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "ok" : "MISS" }')
ROUND_RATIO=$(printf '%s\n' "${ROUND_RATIOS[@]}" | median)

printf '\n== Fetch throughput: one partition, %s MiB (%s batches of %s B, %s records of %s B) ==\n' \
  "$((LOG_FILE_BYTES >> 20))" "$(field "$GENERATED" batches)" "$(field "$GENERATED" batch_bytes)" \
  "$(field "$GENERATED" records)" "$RECORD_BYTES"
printf '(Fetch v12, max_bytes %s MiB, partition_max_bytes %s MiB, one request in flight; %s;\n' \
  "$((MAX_BYTES >> 20))" "$((PARTITION_MAX_BYTES >> 20))" "$PLACEMENT"
printf ' median of %s interleaved rounds after %s warm-up; MB = 10^6 bytes)\n' "$PASSES" \
  "$WARMUP_PASSES"
printf '%-30s %10s %14s   %s\n' server "MB/s" "CPU s per GB" "passes (MB/s)"
printf '%-30s %10s %14s   %s\n' "broker" "${MEDIAN[broker]}" "${CPU_PER_GB[broker]}" \
  "${RATES[broker]}"
printf '%-30s %10s %14s   %s\n' "ceiling: pread+write 1 MiB" "${MEDIAN[pread]}" \
  "${CPU_PER_GB[pread]}" "${RATES[pread]}"
printf '%-30s %10s %14s   %s\n' "ceiling: sendfile" "${MEDIAN[sendfile]}" \
  "${CPU_PER_GB[sendfile]}" "${RATES[sendfile]}"
printf '\nbroker / ceiling (%s MB/s): %s   target >= %s %s\n' "$CEILING" "$RATIO" "$TARGET_RATIO" \
  "$VERDICT"
printf 'per round, broker / that round'"'"'s faster ceiling: median %s   (%s)\n' "$ROUND_RATIO" \
  "${ROUND_RATIOS[*]}"
printf 'broker RSS after the passes: %s\n' "$BROKER_RSS"
chart_table "Fetch v12, one partition of $((LOG_FILE_BYTES >> 20)) MiB, median of $PASSES rounds ($PLACEMENT)" \
  server "MB/s" "CPU s per GB"
chart_row broker "${MEDIAN[broker]}" "${CPU_PER_GB[broker]}"
chart_row "ceiling: pread+write 1 MiB" "${MEDIAN[pread]}" "${CPU_PER_GB[pread]}"
chart_row "ceiling: sendfile" "${MEDIAN[sendfile]}" "${CPU_PER_GB[sendfile]}"
write_chart
