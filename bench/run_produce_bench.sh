#!/usr/bin/env bash
# Produce throughput and latency: one producer connection sends Produce v9 requests of 1 KiB
# records in 16 KiB and 1 MiB batches, one batch per partition per request, to 1 and 8
# partitions, at acks=1 (up to 5 requests in flight, the Java producer's default) and at acks=-1
# with log.flush.interval.messages=1 (every request's data fdatasync'ed before its answer; one
# request in flight), against figures of the same disk measured in the same run:
#   - the sequential write ceiling: a plain writer appending the same bytes to one file in
#     write() calls of one request's size (no sync, as acks=1 does not sync);
#   - the fdatasync latency: that writer syncing after every request-sized write.
#
#   bench/run_produce_bench.sh
#
# Prints, per configuration, MB/s (10^6 batch bytes per second) with request latency p50/p99,
# and the verdicts: acks=1 MB/s >= 0.8 x the write ceiling; acks=-1 p99 <= 2 x the fdatasync p99
# of a write of the same size.
#
# The page-cache write rate of this VM swings from run to run (0.5 to 6 GB/s has been seen), so
# the ceiling and the acks=1 run alternate KB_PRODUCE_ROUNDS times and the medians are compared.
#
# Environment: KB_PRODUCE_BYTES (bytes per acks=1 run and per ceiling run, default 268435456),
# KB_PRODUCE_ROUNDS (ceiling/acks=1 rounds per configuration, default 3),
# KB_PRODUCE_SECONDS (length of each acks=-1 run, default 5), KB_FSYNC_SAMPLES (writes in each
# fdatasync latency run, default 200), KB_BENCH_PIN (default 1: broker on CPU 1, client on CPU 0).
# Data goes to a temporary directory under /tmp (the disk measured) and is removed afterwards.
set -euo pipefail

readonly BYTES=${KB_PRODUCE_BYTES:-268435456}
readonly ROUNDS=${KB_PRODUCE_ROUNDS:-3}
readonly DURABLE_SECONDS=${KB_PRODUCE_SECONDS:-5}
readonly FSYNC_SAMPLES=${KB_FSYNC_SAMPLES:-200}
readonly RECORD_BYTES=1024
readonly TOPIC=bench-topic-00000
readonly TARGET_RATIO=0.8
readonly TARGET_LATENCY_FACTOR=2

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_produce_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir produce-bench

build_tools bench/kb_produce_bench kb_produce_bench kb_bench_log_dir
readonly PRODUCE_BENCH=$BUILD_DIR/bench/kb_produce_bench
readonly LOG_DIR_TOOL=$BUILD_DIR/bench/kb_bench_log_dir
build_broker required

choose_placement broker producer
warn_if_busy

# Batch templates: 1 KiB records, as many as fit in the batch size.
declare -A BATCH_FILE
for size in 16384 1048576; do
  BATCH_FILE[$size]=$WORK/batch-$size
  bounded 60 "$LOG_DIR_TOOL" batch --out "${BATCH_FILE[$size]}" --batch-bytes "$size" \
    --record-bytes "$RECORD_BYTES" >/dev/null || die "generating a $size-byte batch failed"
done

# Dirty pages from a previous step would slow the next one down: write them out first.
settle() { sync; }

# A fresh log directory with the topic's 8 partitions (empty), as Kafka leaves a new topic.
fresh_log_dir() {
  rm -rf "$WORK/data"
  bounded 60 "$LOG_DIR_TOOL" topics --dir "$WORK/data" --topics 1 --partitions 8 >/dev/null ||
    die "generating the log directory failed"
}

# Runs the plain writer with `args...`; prints its result line.
plain_writer() {
  settle
  local line
  line=$(bounded 300 "${CLIENT_ON_CPU[@]}" "$PRODUCE_BENCH" write --file "$WORK/plain.bin" "$@") ||
    die "the plain writer failed"
  rm -f "$WORK/plain.bin"
  echo "$line"
}

# Runs the producer against a freshly started broker (extra broker properties in BROKER_EXTRA);
# prints its result line, or "failed".
producer_run() {
  fresh_log_dir
  settle
  start_broker "$WORK/data" "${BROKER_EXTRA[@]}" || die "the broker did not start"
  local line before after
  before=$(cpu_ticks "$BROKER_PID")
  if ! line=$(bounded 300 "${CLIENT_ON_CPU[@]}" "$PRODUCE_BENCH" produce --port "$BROKER_PORT" \
    --topic "$TOPIC" "$@" 2>"$WORK/producer.err"); then
    log "producer failed: $(cat "$WORK/producer.err")"
    tail -n 5 "$WORK/broker.log" >&2
    line=failed
  else
    after=$(cpu_ticks "$BROKER_PID")
    # The broker's own cost, whatever else the machine runs: CPU seconds per GB.
    line+=$(awk -v t=$((after - before)) -v hz="$CLOCK_TICKS" -v b="$(field "$line" bytes)" \
      'BEGIN { printf " cpu_s_per_gb=%.2f", (t / hz) / (b / 1e9) }')
  fi
  stop_process "$BROKER_PID"
  echo "$line"
}

ROWS=()
MISSES=0
for batch in 16384 1048576; do
  batch_file=${BATCH_FILE[$batch]}
  batch_bytes=$(stat -c %s "$batch_file")
  for partitions in 1 8; do
    request_bytes=$((batch_bytes * partitions))
    label="$((batch >> 10)) KiB x $partitions"
    log "== $label: ceiling, fdatasync latency, acks=1, acks=-1"

    # Ceiling and acks=1 alternate; the round with the median acks=1 rate gives the row's
    # latency and CPU figures, the ceiling column is the median ceiling.
    ceilings=()
    acks1_runs=()
    acks1_failed=0
    BROKER_EXTRA=()
    for ((round = 0; round < ROUNDS; round++)); do
      line=$(plain_writer --bytes "$BYTES" --chunk-bytes "$request_bytes" --sync none)
      ceilings+=("$(field "$line" mb_per_sec)")
      line=$(producer_run --batch-file "$batch_file" --partitions "$partitions" --acks 1 \
        --in-flight 5 --bytes "$BYTES" --seconds 60)
      if [[ $line == failed ]]; then acks1_failed=1; else acks1_runs+=("$line"); fi
    done
    ceiling_mbs=$(printf '%s\n' "${ceilings[@]}" | median)
    acks1=failed
    if ((acks1_failed == 0)); then
      median_rate=$(for run in "${acks1_runs[@]}"; do field "$run" mb_per_sec; done |
        sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
      for run in "${acks1_runs[@]}"; do
        if [[ $(field "$run" mb_per_sec) == "$median_rate" ]]; then acks1=$run; fi
      done
    fi
    log "ceilings: ${ceilings[*]} MB/s; acks=1: $(for run in "${acks1_runs[@]}"; do
      field "$run" mb_per_sec
    done | tr '\n' ' ')MB/s"

    fsync_line=$(plain_writer --bytes $((request_bytes * FSYNC_SAMPLES)) \
      --chunk-bytes "$request_bytes" --sync each)
    BROKER_EXTRA=(log.flush.interval.messages=1)
    acksall=$(producer_run --batch-file "$batch_file" --partitions "$partitions" --acks -1 \
      --in-flight 1 --bytes "$BYTES" --seconds "$DURABLE_SECONDS")

    fsync_p50=$(field "$fsync_line" p50_us)
    fsync_p99=$(field "$fsync_line" p99_us)
    fsync_mbs=$(field "$fsync_line" mb_per_sec)
    if [[ $acks1 == failed ]]; then
      ratio=- verdict1=FAILED
      MISSES=$((MISSES + 1))
    else
      ratio=$(awk -v b="$(field "$acks1" mb_per_sec)" -v c="$ceiling_mbs" \
        'BEGIN { printf "%.2f", b / c }')
      verdict1=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "ok" : "MISS" }')
      [[ $verdict1 == ok ]] || MISSES=$((MISSES + 1))
    fi
    if [[ $acksall == failed ]]; then
      factor=- verdict2=FAILED
      MISSES=$((MISSES + 1))
    else
      factor=$(awk -v p="$(field "$acksall" p99_us)" -v f="$fsync_p99" \
        'BEGIN { printf "%.2f", p / f }')
      verdict2=$(awk -v x="$factor" -v t="$TARGET_LATENCY_FACTOR" \
        'BEGIN { print (x <= t) ? "ok" : "MISS" }')
      [[ $verdict2 == ok ]] || MISSES=$((MISSES + 1))
    fi
    ROWS+=("$(printf '%-14s %9s %9s | %9s %8s %8s %5s %6s %-4s | %9s %8s %8s | %8s %8s %9s %6s %-4s' \
      "$label" "$request_bytes" "$ceiling_mbs" \
      "$(field "$acks1" mb_per_sec)" "$(field "$acks1" p50_us)" "$(field "$acks1" p99_us)" \
      "$(field "$acks1" cpu_s_per_gb)" "$ratio" "$verdict1" \
      "$(field "$acksall" mb_per_sec)" "$(field "$acksall" p50_us)" "$(field "$acksall" p99_us)" \
      "$fsync_p50" "$fsync_p99" "$fsync_mbs" "$factor" "$verdict2")")
  done
done

printf '\n== Produce: 1 KiB records, one batch per partition per request (%s) ==\n' "$PLACEMENT"
printf 'acks=1: %s MB per run, 5 requests in flight, median of %s rounds alternating with the\n' \
  "$((BYTES / 1000000))" "$ROUNDS"
printf 'ceiling (median too); acks=-1: log.flush.interval.messages=1,\n'
printf '%s s per run, 1 request in flight. ceiling: plain write() of the request size, no sync;\n' \
  "$DURABLE_SECONDS"
printf 'fdatasync: write() + fdatasync of the request size, %s samples. cpu/G: broker CPU s per GB\n' \
  "$FSYNC_SAMPLES"
printf 'at acks=1. MB = 10^6 bytes, us = µs. Load average at the end: %s\n' \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %9s %9s | %9s %8s %8s %5s %6s %-4s | %9s %8s %8s | %8s %8s %9s %6s %-4s\n' \
  "batch x parts" "req bytes" "ceil MB/s" "acks1MB/s" "p50 us" "p99 us" "cpu/G" "ratio" "" \
  "acksAMB/s" "p50 us" "p99 us" "sync p50" "sync p99" "sync MB/s" "p99/sp" ""
printf '%s\n' "${ROWS[@]}"
printf '\ntargets: acks=1 MB/s >= %s x ceiling; acks=-1 p99 <= %s x fdatasync p99. misses: %s\n' \
  "$TARGET_RATIO" "$TARGET_LATENCY_FACTOR" "$MISSES"
