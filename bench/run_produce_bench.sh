#!/usr/bin/env bash
# Produce throughput and latency: one producer connection sends Produce v9 requests of 1 KiB
# records in 16 KiB and 1 MiB batches, one batch per partition per request, to 1 and 8
# partitions, at acks=1 (up to 5 requests in flight, the Java producer's default) and at acks=-1
# with log.flush.interval.messages=1 (every request's data fdatasync'ed before its answer; one
# request in flight), against figures of the same disk measured in the same run:
#   - the disk's sequential write ceiling: a plain writer appending the same bytes to one file in
#     write() calls of one request's size, timed until an fdatasync at the end returns, beside
#     the broker timed from the first request until its log directory is fdatasync'ed after the
#     last answer (acks=1 itself does not sync: this is the rate the disk keeps up with);
#   - the page-cache write rate: the same plain writer timed before its fdatasync, beside the
#     broker's rate until the last answer (no disk in either: a memory-speed comparison);
#   - the fdatasync latency: that writer syncing after every request-sized write.
# For context, not for the verdicts, with 8 partitions the same plain writer also writes the
# broker's layout: each request's bytes as one write to each of 8 files, synced all at once
# (a thread per file), giving a "layout" disk rate and fdatasync latency beside the one-file ones.
#
#   bench/run_produce_bench.sh
#
# Prints, per configuration, MB/s (10^6 batch bytes per second) with request latency p50/p99,
# and the verdicts: acks=1 MB/s to disk >= 0.8 x the disk's write ceiling; acks=-1 p99 <= 2 x the
# fdatasync p99 of a write of the same size. The page-cache ratio is printed beside it.
#
# Page-cache and disk rates of this VM swing from run to run (0.5 to 6 GB/s has been seen for
# the page cache), so the plain writer and the acks=1 run alternate KB_PRODUCE_ROUNDS times and
# the medians are compared.
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
  rm -f "$WORK/plain.bin" "$WORK"/plain.bin.*
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
    if [[ $SYNC_AFTER == 1 ]]; then
      # Until what the broker was sent is on the disk: its files fdatasync'ed after the run.
      local synced
      synced=$(bounded 300 "$PRODUCE_BENCH" sync --dir "$WORK/data") || die "syncing the log failed"
      line+=$(awk -v b="$(field "$line" bytes)" -v s="$(field "$line" seconds)" \
        -v y="$(field "$synced" seconds)" 'BEGIN { printf " disk_mb_per_sec=%.1f", b / (s + y) / 1e6 }')
    fi
  fi
  stop_process "$BROKER_PID"
  echo "$line"
}

ACKS1_ROWS=()
ACKSALL_ROWS=()
ACKS1_CHART=()
ACKSALL_CHART=()
MISSES=0
SYNC_AFTER=0
for batch in 16384 1048576; do
  batch_file=${BATCH_FILE[$batch]}
  batch_bytes=$(stat -c %s "$batch_file")
  for partitions in 1 8; do
    request_bytes=$((batch_bytes * partitions))
    label="$((batch >> 10)) KiB x $partitions"
    log "== $label: ceiling, fdatasync latency, acks=1, acks=-1"

    # Ceiling and acks=1 alternate; the round with the median acks=1 rate gives the row's
    # latency and CPU figures, the ceiling column is the median ceiling.
    # Ceiling and acks=1 alternate; the round with the median acks=1 rate (to disk) gives the
    # row's latency and CPU figures, the ceiling columns are medians.
    ceilings=()
    disk_ceilings=()
    layout_ceilings=()
    acks1_runs=()
    acks1_failed=0
    BROKER_EXTRA=()
    SYNC_AFTER=1
    for ((round = 0; round < ROUNDS; round++)); do
      line=$(plain_writer --bytes "$BYTES" --chunk-bytes "$request_bytes" --sync end)
      ceilings+=("$(awk -v b="$(field "$line" bytes)" -v s="$(field "$line" write_seconds)" \
        'BEGIN { printf "%.1f", b / s / 1e6 }')")
      disk_ceilings+=("$(field "$line" mb_per_sec)")
      if ((partitions > 1)); then
        line=$(plain_writer --bytes "$BYTES" --chunk-bytes "$request_bytes" --sync end \
          --files "$partitions")
        layout_ceilings+=("$(field "$line" mb_per_sec)")
      fi
      line=$(producer_run --batch-file "$batch_file" --partitions "$partitions" --acks 1 \
        --in-flight 5 --bytes "$BYTES" --seconds 60)
      if [[ $line == failed ]]; then acks1_failed=1; else acks1_runs+=("$line"); fi
    done
    SYNC_AFTER=0
    ceiling_mbs=$(printf '%s\n' "${ceilings[@]}" | median)
    disk_ceiling_mbs=$(printf '%s\n' "${disk_ceilings[@]}" | median)
    layout_mbs=-
    if ((partitions > 1)); then
      layout_mbs=$(printf '%s\n' "${layout_ceilings[@]}" | median)
    fi
    acks1=failed
    if ((acks1_failed == 0)); then
      median_rate=$(for run in "${acks1_runs[@]}"; do field "$run" disk_mb_per_sec; done |
        sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
      for run in "${acks1_runs[@]}"; do
        if [[ $(field "$run" disk_mb_per_sec) == "$median_rate" ]]; then acks1=$run; fi
      done
    fi
    log "page cache: plain ${ceilings[*]}, broker $(for run in "${acks1_runs[@]}"; do
      field "$run" mb_per_sec
    done | tr '\n' ' ')MB/s; to disk: plain ${disk_ceilings[*]}, broker $(
      for run in "${acks1_runs[@]}"; do field "$run" disk_mb_per_sec; done | tr '\n' ' ')MB/s"

    fsync_line=$(plain_writer --bytes $((request_bytes * FSYNC_SAMPLES)) \
      --chunk-bytes "$request_bytes" --sync each)
    layout_sync_p99=-
    if ((partitions > 1)); then
      layout_line=$(plain_writer --bytes $((request_bytes * FSYNC_SAMPLES)) \
        --chunk-bytes "$request_bytes" --sync each --files "$partitions")
      layout_sync_p99=$(field "$layout_line" p99_us)
    fi
    BROKER_EXTRA=(log.flush.interval.messages=1)
    acksall=$(producer_run --batch-file "$batch_file" --partitions "$partitions" --acks -1 \
      --in-flight 1 --bytes "$BYTES" --seconds "$DURABLE_SECONDS")

    fsync_p50=$(field "$fsync_line" p50_us)
    fsync_p99=$(field "$fsync_line" p99_us)
    fsync_mbs=$(field "$fsync_line" mb_per_sec)
    if [[ $acks1 == failed ]]; then
      ratio=- disk_ratio=- verdict1=FAILED
      MISSES=$((MISSES + 1))
    else
      ratio=$(awk -v b="$(field "$acks1" mb_per_sec)" -v c="$ceiling_mbs" \
        'BEGIN { printf "%.2f", b / c }')
      disk_ratio=$(awk -v b="$(field "$acks1" disk_mb_per_sec)" -v c="$disk_ceiling_mbs" \
        'BEGIN { printf "%.2f", b / c }')
      verdict1=$(awk -v r="$disk_ratio" -v t="$TARGET_RATIO" \
        'BEGIN { print (r >= t) ? "ok" : "MISS" }')
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
    layout_ratio=-
    if [[ $layout_mbs != - && $acks1 != failed ]]; then
      layout_ratio=$(awk -v b="$(field "$acks1" disk_mb_per_sec)" -v c="$layout_mbs" \
        'BEGIN { printf "%.2f", b / c }')
    fi
    layout_factor=-
    if [[ $layout_sync_p99 != - && $acksall != failed ]]; then
      layout_factor=$(awk -v p="$(field "$acksall" p99_us)" -v f="$layout_sync_p99" \
        'BEGIN { printf "%.2f", p / f }')
    fi
    ACKS1_ROWS+=("$(printf '%-14s %9s | %9s %9s %5s %-4s | %9s %9s %5s | %9s %5s | %8s %8s %5s' \
      "$label" "$request_bytes" "$disk_ceiling_mbs" "$(field "$acks1" disk_mb_per_sec)" \
      "$disk_ratio" "$verdict1" "$ceiling_mbs" "$(field "$acks1" mb_per_sec)" "$ratio" \
      "$layout_mbs" "$layout_ratio" \
      "$(field "$acks1" p50_us)" "$(field "$acks1" p99_us)" "$(field "$acks1" cpu_s_per_gb)")")
    ACKSALL_ROWS+=("$(printf '%-14s %9s | %9s %8s %8s | %8s %8s %9s | %6s %-4s | %8s %6s' \
      "$label" "$request_bytes" "$(field "$acksall" mb_per_sec)" "$(field "$acksall" p50_us)" \
      "$(field "$acksall" p99_us)" "$fsync_p50" "$fsync_p99" "$fsync_mbs" "$factor" "$verdict2" \
      "$layout_sync_p99" "$layout_factor")")
    ACKS1_CHART+=("$label|$disk_ceiling_mbs|$(field "$acks1" disk_mb_per_sec)|$(field "$acks1" \
      p99_us)|$(field "$acks1" cpu_s_per_gb)")
    ACKSALL_CHART+=("$label|$(field "$acksall" mb_per_sec)|$(field "$acksall" p99_us)|$fsync_p99")
  done
done

printf '\n== Produce: 1 KiB records, one batch per partition per request (%s) ==\n' "$PLACEMENT"
printf 'Load average at the end: %s. MB = 10^6 bytes, us = µs.\n' \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '\nacks=1: %s MB per run, 5 requests in flight, median of %s rounds alternating with the\n' \
  "$((BYTES / 1000000))" "$ROUNDS"
printf 'plain writer (write() of the request size, then one fdatasync). To disk: the plain writer\n'
printf 'until its fdatasync returns, the broker until its log directory is fdatasync'"'"'ed after the\n'
printf 'last answer. Page cache: the plain writer before its fdatasync, the broker until the last\n'
printf 'answer. layout: the plain writer to disk writing one file per partition (context only).\n'
printf 'cpu/G: broker CPU s per GB.\n'
printf '%-14s %9s | %9s %9s %5s %-4s | %9s %9s %5s | %9s %5s | %8s %8s %5s\n' \
  "batch x parts" "req bytes" "disk MB/s" "broker" "ratio" "" "page MB/s" "broker" "ratio" \
  "layout" "ratio" "p50 us" "p99 us" "cpu/G"
printf '%s\n' "${ACKS1_ROWS[@]}"
printf '\nacks=-1: log.flush.interval.messages=1, %s s per run, 1 request in flight, against\n' \
  "$DURABLE_SECONDS"
printf 'write() + fdatasync of the request size, %s samples; layout: the same written to one\n' \
  "$FSYNC_SAMPLES"
printf 'file per partition and all of them fdatasync'"'"'ed at once (context only).\n'
printf '%-14s %9s | %9s %8s %8s | %8s %8s %9s | %6s %-4s | %8s %6s\n' \
  "batch x parts" "req bytes" "MB/s" "p50 us" "p99 us" "sync p50" "sync p99" "sync MB/s" \
  "p99/sp" "" "lay p99" "p99/lp"
printf '%s\n' "${ACKSALL_ROWS[@]}"
printf '\ntargets: acks=1 MB/s to disk >= %s x the disk'"'"'s write ceiling; acks=-1 p99 <= %s x\n' \
  "$TARGET_RATIO" "$TARGET_LATENCY_FACTOR"
printf 'fdatasync p99. misses: %s\n' "$MISSES"
chart_table "Produce acks=1, 1 KiB records, median of $ROUNDS rounds ($PLACEMENT)" \
  "batch x partitions" "disk ceiling MB/s" "broker MB/s to disk" "broker p99 us" "broker CPU s/GB"
for row in "${ACKS1_CHART[@]}"; do
  IFS='|' read -r -a cells <<<"$row"
  chart_row "${cells[@]}"
done
chart_table "Produce acks=-1 with log.flush.interval.messages=1" "batch x partitions" "MB/s" \
  "p99 us" "write+fdatasync p99 us"
for row in "${ACKSALL_CHART[@]}"; do
  IFS='|' read -r -a cells <<<"$row"
  chart_row "${cells[@]}"
done
write_chart
