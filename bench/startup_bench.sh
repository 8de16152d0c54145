#!/usr/bin/env bash
# Start-up time: the broker on a log directory with 1,000 topics of 10 partitions each, as Apache
# Kafka leaves it (meta.properties; a __cluster_metadata-0 log with one batch per topic holding
# its TopicRecord and 10 PartitionRecords; 10,000 partition directories, each with an empty
# 00000000000000000000.log/.index/.timeindex, partition.metadata and leader-epoch-checkpoint;
# the offset checkpoint files).
#
#   bench/startup_bench.sh
#
# Times each start from fork() to the first successful ApiVersions v4 answer (kb_startup_probe
# tries to connect every millisecond), then reads the broker's RSS and stops it. Prints every
# run, the median against its target (< 0.5 s) and the median RSS. The directory is generated
# once per invocation (page-cached, as after a restart); every run starts on it in turn, so runs
# after the first start from what the previous one left, as a restarted broker does.
#
# Environment: KB_STARTUP_RUNS (default 5), KB_STARTUP_TOPICS (default 1000),
# KB_STARTUP_PARTITIONS (default 10), KB_BENCH_PIN (default 1: the broker on CPU 1, the probe on
# CPU 0).
set -euo pipefail

# Settings.
readonly RUNS=${KB_STARTUP_RUNS:-5}
readonly TOPICS=${KB_STARTUP_TOPICS:-1000}
readonly PARTITIONS=${KB_STARTUP_PARTITIONS:-10}
readonly TARGET_MS=500

# Shared plumbing (lib.sh); its errors name this script.
# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=startup_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The probe kills the broker it started when it ends (and the kernel does if the probe dies), so
# PIDS stays empty and only the work directory needs cleaning up.
cleanup_extra() { log "removing $WORK"; }
start_work_dir startup-bench

# --- Build -------------------------------------------------------------------------------------

build_tools bench/kb_startup_probe kb_startup_probe kb_bench_log_dir
readonly PROBE=$BUILD_DIR/bench/kb_startup_probe
readonly LOG_DIR_TOOL=$BUILD_DIR/bench/kb_bench_log_dir
build_broker required

# The probe starts the broker itself, pinned with its --server-cpu option.
choose_placement broker probe
BROKER_ON_CPU=()
((${#SERVER_ON_CPU[@]} == 0)) || BROKER_ON_CPU=(--server-cpu 1)

# --- Data --------------------------------------------------------------------------------------

readonly LOG_DIR=$WORK/data
log "generating $TOPICS topics x $PARTITIONS partitions"
GENERATED=$(bounded 600 "$LOG_DIR_TOOL" topics --dir "$LOG_DIR" --topics "$TOPICS" \
  --partitions "$PARTITIONS") || die "generating the log directory failed"

# --- Runs --------------------------------------------------------------------------------------

TIMES=()
RSS=()
for ((run = 1; run <= RUNS; run++)); do
  port=$(pick_free_port)
  printf 'listeners=PLAINTEXT://127.0.0.1:%s\nlog.dirs=%s\n' "$port" "$LOG_DIR" \
    >"$WORK/broker.properties"
  line=$(bounded 120 "${CLIENT_ON_CPU[@]}" "$PROBE" --port "$port" --log "$WORK/broker-$run.log" \
    --timeout-seconds 60 "${BROKER_ON_CPU[@]}" -- "$BROKER" "$WORK/broker.properties") ||
    { tail -n 20 "$WORK/broker-$run.log" >&2; die "run $run failed"; }
  TIMES+=("$(field "$line" startup_ms)")
  RSS+=("$(field "$line" rss_kib)")
  replayed=$(grep -o 'metadata log: .*' "$WORK/broker-$run.log" | head -n 1 || true)
  log "run $run: $(field "$line" startup_ms) ms, RSS $(field "$line" rss_kib) KiB ($replayed)"
done

MEDIAN_MS=$(printf '%s\n' "${TIMES[@]}" | median)
MEDIAN_RSS=$(printf '%s\n' "${RSS[@]}" | median)
VERDICT=$(awk -v m="$MEDIAN_MS" -v t="$TARGET_MS" 'BEGIN { print (m < t) ? "ok" : "MISS" }')

printf '\n== Start-up: %s topics x %s partitions (%s partition directories, %s metadata records) ==\n' \
  "$TOPICS" "$PARTITIONS" "$(field "$GENERATED" partitions)" \
  "$(field "$GENERATED" metadata_records)"
printf '(start to first ApiVersions answer; %s; %s runs)\n' "$PLACEMENT" "$RUNS"
printf 'runs (ms):        %s\n' "${TIMES[*]}"
printf 'median:           %s ms   target < %s ms %s\n' "$MEDIAN_MS" "$TARGET_MS" "$VERDICT"
printf 'RSS after start:  %s MiB (median; runs in KiB: %s)\n' \
  "$(awk -v k="$MEDIAN_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" "${RSS[*]}"
chart_table "Start-up, $TOPICS topics x $PARTITIONS partitions: start to first ApiVersions answer ($PLACEMENT)" \
  run "ms" "RSS after start KiB"
for ((run = 1; run <= RUNS; run++)); do
  chart_row "run $run" "${TIMES[run - 1]}" "${RSS[run - 1]}"
done
write_chart
