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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly RUNS=${KB_STARTUP_RUNS:-5}
readonly TOPICS=${KB_STARTUP_TOPICS:-1000}
readonly PARTITIONS=${KB_STARTUP_PARTITIONS:-10}
readonly PIN=${KB_BENCH_PIN:-1}
readonly TARGET_MS=500

log() { printf '%s\n' "$*" >&2; }
die() {
  log "startup_bench: error: $*"
  exit 1
}

bounded() {
  local seconds=$1
  shift
  timeout --foreground --kill-after=5 "$seconds" "$@"
}

WORK=$(mktemp -d /tmp/kb-startup-bench.XXXXXX)
# The probe kills the broker it started when it ends (and the kernel does if the probe dies), so
# only the work directory needs cleaning up.
cleanup() {
  log "removing $WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Build -------------------------------------------------------------------------------------

if [[ -x $ROOT/build/release/src/broker/kafka-broker && -f $ROOT/build/release/build.ninja ]]; then
  BUILD_DIR=$ROOT/build/release
else
  BUILD_DIR=$ROOT/build/release-bench
fi
readonly BUILD_DIR

has_ninja_target() { ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q "^$1:"; }

log "building in $BUILD_DIR"
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=OFF \
    >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; die "cmake failed"; }
elif ! has_ninja_target bench/kb_startup_probe; then
  cmake -S "$ROOT" -B "$BUILD_DIR" >"$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log" >&2; die "cmake failed"; }
fi
bounded 900 ninja -C "$BUILD_DIR" kb_startup_probe kb_bench_log_dir >"$WORK/build.log" 2>&1 ||
  { tail -n 40 "$WORK/build.log" >&2; die "building the benchmark tools failed"; }
readonly PROBE=$BUILD_DIR/bench/kb_startup_probe
readonly LOG_DIR_TOOL=$BUILD_DIR/bench/kb_bench_log_dir
readonly BROKER=$BUILD_DIR/src/broker/kafka-broker
if ! bounded 900 ninja -C "$BUILD_DIR" kafka-broker >>"$WORK/build.log" 2>&1; then
  tail -n 20 "$WORK/build.log" >&2
  log "warning: building kafka-broker failed; using the existing binary if there is one"
fi
[[ -x $BROKER ]] || die "no broker binary at $BROKER"

if [[ $PIN == 1 ]] && (($(nproc) >= 2)) && command -v taskset >/dev/null; then
  BROKER_ON_CPU=(--server-cpu 1)
  PROBE_ON_CPU=(taskset -c 0)
  PLACEMENT="broker on CPU 1, probe on CPU 0"
else
  BROKER_ON_CPU=()
  PROBE_ON_CPU=()
  PLACEMENT="unpinned"
fi

# --- Data --------------------------------------------------------------------------------------

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

readonly LOG_DIR=$WORK/data
log "generating $TOPICS topics x $PARTITIONS partitions"
GENERATED=$(bounded 600 "$LOG_DIR_TOOL" topics --dir "$LOG_DIR" --topics "$TOPICS" \
  --partitions "$PARTITIONS") || die "generating the log directory failed"

# --- Runs --------------------------------------------------------------------------------------

pick_free_port() {
  local port
  for _ in {1..100}; do
    port=$((20000 + RANDOM % 12000))
    if [[ -z $(ss -Htan "( sport = :$port or dport = :$port )") ]]; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

TIMES=()
RSS=()
for ((run = 1; run <= RUNS; run++)); do
  port=$(pick_free_port)
  printf 'listeners=PLAINTEXT://127.0.0.1:%s\nlog.dirs=%s\n' "$port" "$LOG_DIR" \
    >"$WORK/broker.properties"
  line=$(bounded 120 "${PROBE_ON_CPU[@]}" "$PROBE" --port "$port" --log "$WORK/broker-$run.log" \
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
