#!/usr/bin/env bash
# The cost of metrics (kb.metrics.listener):
#   - produce throughput with the endpoint scraped every second against the endpoint off: one
#     producer connection sends 16 KiB batches of 1 KiB records to 8 partitions at acks=1 (5
#     requests in flight); the two setups alternate KB_METRICS_ROUNDS times and the medians are
#     compared (the broker counts its metrics either way: what the endpoint adds is the scrape);
#   - the scrape itself with 10,000 partitions (10 topics of 1,000 partitions, each holding a
#     batch, so every partition's log gauges are on the page): the time curl takes for the whole
#     page (median and worst of KB_METRICS_SCRAPES scrapes), its size and its series, and what
#     another connection sending ApiVersions one after another waits meanwhile (its worst wait is
#     about the broker's longest loop turn during the scrapes) and the longest loop turn the
#     broker itself reports (kb_event_loop_longest_turn_seconds);
#   - the scrape with KB_METRICS_TOPICS topics of one partition (default 10,000; 0 skips it),
#     each fetched once (one Fetch of every topic) so that each has its BrokerTopicMetrics
#     counters on the page: the same figures as above, for a page of per-topic series.
#
#   bench/run_metrics_bench.sh
#
# Prints a table of MB/s (10^6 batch bytes per second) per setup with their ratio, and the
# scrape figures. Environment: KB_PRODUCE_BYTES (bytes per run, default 268435456),
# KB_METRICS_ROUNDS (default 3; 0 skips the produce runs), KB_METRICS_SCRAPES (default 20),
# KB_METRICS_TOPICS (default 10000), KB_BENCH_PIN (default 1); KB_BENCH_BROKER runs another build's
# broker (for before/after figures).
set -euo pipefail

readonly BYTES=${KB_PRODUCE_BYTES:-268435456}
readonly ROUNDS=${KB_METRICS_ROUNDS:-3}
readonly SCRAPES=${KB_METRICS_SCRAPES:-20}
readonly TOPICS=${KB_METRICS_TOPICS:-10000}
readonly TOPIC=bench-topic-00000

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_metrics_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir metrics-bench
command -v curl >/dev/null || die "curl is needed"

build_tools bench/kb_produce_bench kb_produce_bench kb_bench_log_dir
readonly PRODUCE_BENCH=$BUILD_DIR/bench/kb_produce_bench
readonly LOG_DIR_TOOL=$BUILD_DIR/bench/kb_bench_log_dir
build_broker required

choose_placement broker producer
warn_if_busy

bounded 60 "$LOG_DIR_TOOL" batch --out "$WORK/batch-16k" --batch-bytes 16384 --record-bytes 1024 \
  >/dev/null || die "generating a batch failed"
bounded 60 "$LOG_DIR_TOOL" batch --out "$WORK/batch-small" --batch-bytes 200 --record-bytes 100 \
  >/dev/null || die "generating a batch failed"

# The metrics port the broker logs ("Metrics on http://127.0.0.1:<port>/metrics").
metrics_port() {
  wait_for_port "$BROKER_PID" "$WORK/broker.log" \
    '.*Metrics on http:\/\/127\.0\.0\.1:\([0-9]*\)\/metrics.*'
}

# One produce run against a fresh broker: "off" (no endpoint) or "scraped" (the endpoint, read
# every second by curl meanwhile). Prints the producer's MB/s.
produce_run() {
  rm -rf "$WORK/data"
  bounded 60 "$LOG_DIR_TOOL" topics --dir "$WORK/data" --topics 1 --partitions 8 >/dev/null ||
    die "generating the log directory failed"
  sync
  local extra=() scraper=
  [[ $1 == scraped ]] && extra=(kb.metrics.listener=http://127.0.0.1:0/metrics)
  start_broker "$WORK/data" "${extra[@]}" || die "the broker did not start"
  if [[ $1 == scraped ]]; then
    local port
    port=$(metrics_port) || die "no metrics endpoint"
    (while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$port/metrics" || true; done) &
    scraper=$!
    PIDS+=("$scraper")
  fi
  local line
  line=$(bounded 300 "${CLIENT_ON_CPU[@]}" "$PRODUCE_BENCH" produce --port "$BROKER_PORT" \
    --topic "$TOPIC" --batch-file "$WORK/batch-16k" --partitions 8 --acks 1 --in-flight 5 \
    --bytes "$BYTES" --seconds 60) || die "the producer failed"
  [[ -n $scraper ]] && stop_process "$scraper"
  stop_process "$BROKER_PID"
  field "$line" mb_per_sec
}

off=()
scraped=()
for ((round = 0; round < ROUNDS; round++)); do
  off+=("$(produce_run off)")
  scraped+=("$(produce_run scraped)")
  log "round $((round + 1)): off ${off[-1]} MB/s, scraped ${scraped[-1]} MB/s"
done
off_mbs=-
scraped_mbs=-
if ((ROUNDS > 0)); then
  off_mbs=$(printf '%s\n' "${off[@]}" | median)
  scraped_mbs=$(printf '%s\n' "${scraped[@]}" | median)
fi

# The scrape with 10,000 partitions, each holding a batch (so each log is open).
rm -rf "$WORK/data"
bounded 120 "$LOG_DIR_TOOL" topics --dir "$WORK/data" --topics 10 --partitions 1000 >/dev/null ||
  die "generating the log directory failed"
start_broker "$WORK/data" kb.metrics.listener=http://127.0.0.1:0/metrics ||
  die "the broker did not start"
port=$(metrics_port) || die "no metrics endpoint"
for ((t = 0; t < 10; t++)); do
  bounded 300 "$PRODUCE_BENCH" produce --port "$BROKER_PORT" --topic "$(printf 'bench-topic-%05d' "$t")" \
    --batch-file "$WORK/batch-small" --partitions 1000 --acks 1 --in-flight 1 \
    --bytes $((1000 * $(stat -c %s "$WORK/batch-small"))) --seconds 120 >/dev/null ||
    die "producing to every partition failed"
done
# Another client's ApiVersions while idle, then during the scrapes.
idle_ping=$(bounded 60 "$PRODUCE_BENCH" ping --port "$BROKER_PORT" --seconds 2) ||
  die "the idle pinger failed"
# (Not through `bounded`: TERM must reach the pinger itself, which then prints its figures; its
# own --seconds bounds it.)
"$PRODUCE_BENCH" ping --port "$BROKER_PORT" --seconds 600 >"$WORK/ping.txt" &
pinger=$!
PIDS+=("$pinger")
sleep 0.5
times=()
turns=()
for ((i = 0; i < SCRAPES; i++)); do
  times+=("$(curl -s -o "$WORK/page.txt" -w '%{time_total}' "http://127.0.0.1:$port/metrics")")
  # The broker's longest loop turn since the previous scrape: from the second page on, that
  # covers the scrape before.
  ((i == 0)) || turns+=("$(awk '/^kb_event_loop_longest_turn_seconds / { print $2 * 1000 }' "$WORK/page.txt")")
done
stop_process "$pinger"
page_bytes=$(stat -c %s "$WORK/page.txt")
series=$(grep -vc '^#' "$WORK/page.txt")
log_series=$(grep -c '^kafka_log_log_size{' "$WORK/page.txt")
stop_process "$BROKER_PID"
scrape_ms=$(printf '%s\n' "${times[@]}" | awk '{ print $1 * 1000 }' | median)
worst_ms=$(printf '%s\n' "${times[@]}" | awk '{ print $1 * 1000 }' | sort -g | tail -n 1)
busy_ping=$(tail -n 1 "$WORK/ping.txt")

# The scrape with TOPICS topics of one partition, each fetched once: a page of per-topic counters.
if ((TOPICS > 0)); then
  rm -rf "$WORK/data"
  bounded 300 "$LOG_DIR_TOOL" topics --dir "$WORK/data" --topics "$TOPICS" --partitions 1 >/dev/null ||
    die "generating the log directory failed"
  start_broker "$WORK/data" kb.metrics.listener=http://127.0.0.1:0/metrics ||
    die "the broker did not start"
  port=$(metrics_port) || die "no metrics endpoint"
  # One Fetch (v4) of partition 0 of every topic, made and read here.
  bounded 300 python3 - "$BROKER_PORT" "$TOPICS" <<'EOF' || die "fetching every topic failed"
import socket, struct, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b
body = struct.pack(">iiiib", -1, 0, 0, 64 << 20, 0) + struct.pack(">i", count)
for t in range(count):
    body += string("bench-topic-%05d" % t) + struct.pack(">iiqi", 1, 0, 0, 1 << 20)
request = struct.pack(">hhi", 1, 4, 7) + string("kb-metrics-bench") + body
sock = socket.create_connection(("127.0.0.1", port), timeout=240)
sock.sendall(struct.pack(">i", len(request)) + request)
def take(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit("connection closed")
        data += chunk
    return data
size = struct.unpack(">i", take(4))[0]
if struct.unpack(">i", take(size)[:4])[0] != 7:
    sys.exit("correlation id mismatch")
EOF
  "$PRODUCE_BENCH" ping --port "$BROKER_PORT" --seconds 600 >"$WORK/topic-ping.txt" &
  pinger=$!
  PIDS+=("$pinger")
  sleep 0.5
  topic_times=()
  topic_turns=()
  for ((i = 0; i < SCRAPES; i++)); do
    topic_times+=("$(curl -s -o "$WORK/page.txt" -w '%{time_total}' "http://127.0.0.1:$port/metrics")")
    ((i == 0)) || topic_turns+=("$(awk '/^kb_event_loop_longest_turn_seconds / { print $2 * 1000 }' "$WORK/page.txt")")
  done
  # Up to 10 s to print its figures after TERM: a loaded machine is slow to schedule it.
  stop_process "$pinger" 10
  topic_page_bytes=$(stat -c %s "$WORK/page.txt")
  topic_series=$(grep -vc '^#' "$WORK/page.txt")
  topics_listed=$(grep -c '^kafka_server_brokertopicmetrics_totalfetchrequests_total{topic=' "$WORK/page.txt")
  stop_process "$BROKER_PID"
  topic_scrape_ms=$(printf '%s\n' "${topic_times[@]}" | awk '{ print $1 * 1000 }' | median)
  topic_worst_ms=$(printf '%s\n' "${topic_times[@]}" | awk '{ print $1 * 1000 }' | sort -g | tail -n 1)
  topic_turn_ms=$(printf '%s\n' "${topic_turns[@]}" | sort -g | tail -n 1)
  topic_ping=$(tail -n 1 "$WORK/topic-ping.txt")
  [[ $topic_ping == pings=* ]] || die "the pinger printed nothing during the topic scrapes"
fi

if ((ROUNDS > 0)); then
  printf '%-34s %12s\n' "produce, 16 KiB x 8, acks=1" "MB/s"
  printf '%-34s %12s\n' "metrics endpoint off" "$off_mbs"
  printf '%-34s %12s\n' "endpoint scraped every second" "$scraped_mbs"
  awk -v a="$scraped_mbs" -v b="$off_mbs" 'BEGIN { printf "%-34s %12.3f\n", "ratio (scraped / off)", a / b }'
  echo
fi
[[ $busy_ping == pings=* ]] ||
  { tail -n 5 "$WORK/broker.log" >&2; die "the pinger printed nothing during the scrapes"; }
ms_of() { awk -v us="$(field "$1" "$2")" 'BEGIN { printf "%.2f", us / 1000 }'; }
longest_turn_ms=$(printf '%s\n' "${turns[@]}" | sort -g | tail -n 1)
printf 'scrape with 10,000 partitions: median %.1f ms, worst %.1f ms, %s bytes, %s series (%s partitions listed)\n' \
  "$scrape_ms" "$worst_ms" "$page_bytes" "$series" "$log_series"
printf "the broker's longest loop turn while scraped: %.1f ms\n" "$longest_turn_ms"
printf "another client's ApiVersions, idle: p99 %s ms, worst %s ms; during the scrapes: %s answered, p99 %s ms, worst %s ms\n" \
  "$(ms_of "$idle_ping" p99_us)" "$(ms_of "$idle_ping" max_us)" "$(field "$busy_ping" pings)" \
  "$(ms_of "$busy_ping" p99_us)" "$(ms_of "$busy_ping" max_us)"
if ((TOPICS > 0)); then
  printf 'scrape with %s topics: median %.1f ms, worst %.1f ms, %s bytes, %s series (%s topics listed)\n' \
    "$TOPICS" "$topic_scrape_ms" "$topic_worst_ms" "$topic_page_bytes" "$topic_series" "$topics_listed"
  printf "the broker's longest loop turn while scraped: %.1f ms; another client's ApiVersions: %s answered, p99 %s ms, worst %s ms\n" \
    "$topic_turn_ms" "$(field "$topic_ping" pings)" "$(ms_of "$topic_ping" p99_us)" \
    "$(ms_of "$topic_ping" max_us)"
fi
if ((ROUNDS > 0)); then
  chart_table "Produce, 16 KiB batches to 8 partitions, acks=1 (median of $ROUNDS rounds)" setup "MB/s"
  chart_row "metrics endpoint off" "$off_mbs"
  chart_row "endpoint scraped every second" "$scraped_mbs"
fi
chart_table "Scrape with 10,000 partitions ($SCRAPES scrapes)" "" "ms"
chart_row "median" "$scrape_ms"
chart_row "worst" "$worst_ms"
chart_table "The loop while scraped" "" "ms"
chart_row "the broker's longest loop turn" "$longest_turn_ms"
chart_row "another client's worst ApiVersions wait" "$(ms_of "$busy_ping" max_us)"
if ((TOPICS > 0)); then
  chart_table "Scrape with $TOPICS topics ($SCRAPES scrapes)" "" "ms"
  chart_row "median" "$topic_scrape_ms"
  chart_row "worst" "$topic_worst_ms"
  chart_row "the broker's longest loop turn" "$topic_turn_ms"
  chart_row "another client's worst ApiVersions wait" "$(ms_of "$topic_ping" max_us)"
fi
write_chart
