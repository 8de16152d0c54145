#!/usr/bin/env bash
# This broker and Apache Kafka 4.4 side by side, on the same machine and the same CPU, one at a
# time: the same load against each in alternating rounds (the order flips every round), then
# the median of each figure for both, and their ratio.
#
#   bench/run_kafka_side_by_side.sh [--quick] [--only PART] [--results DIR]
#
# Kafka is `kafka.Kafka` from the Java lab's server class path (tests/integration/clients/java,
# kafka_2.13 4.4.0), started as bin/kafka-server-start.sh starts it (1 GiB heap, G1 and the
# script's other JVM options) with the settings of its config/server.properties, one node in
# KRaft combined mode, on a directory freshly formatted by kafka.tools.StorageTool. This broker
# runs with its defaults. Both get group.initial.rebalance.delay.ms=0 (as Kafka's shipped
# server.properties) and are pinned to CPU 1, the clients to CPU 0 (KB_BENCH_PIN=0: unpinned).
# Each round, for each server:
#   - start-up: the time from start to the first answered ApiVersions (kb_startup_probe) on a
#     directory holding PARTITIONS partitions (two topics, created through the server itself
#     before the first round and stopped cleanly after each start), and its RSS then;
#   - on a fresh directory: RSS idle (5 s after start); kafka-producer-perf-test and
#     kafka-consumer-perf-test (org.apache.kafka.tools.ProducerPerformance/ConsumerPerformance,
#     kafka-tools 4.4.0, each its own JVM) with 100 B and 1 KiB records, acks=1 and all, topics of
#     1 and 8 partitions: records/s, MB/s, p50/p99/p99.9 latency, the highest RSS sampled during
#     the producer runs, the server's CPU seconds (utime + stime, /proc/<pid>/stat) per GB of
#     payload produced and per GB consumed; librdkafka end to end (kb_client_bench, the load of
#     run_client_bench.sh); RSS with IDLE_CONNECTIONS idle connections; transactions
#     (kb.lab.TxnBench, the Java producer 4.4, 100 B records, acks=all): records/s of an
#     idempotent producer and of a transactional one committing every 10, 100 and 1,000 records,
#     with the commit's (EndTxn's) p50/p99; groups (kb.lab.GroupBench, the Java consumer 4.4 with
#     every default, all members in one JVM): the time a group of 2, 8, 32 and 128 members (one
#     partition each) takes to take in its last member, until every member owns a partition and
#     has read from it, with the classic and with the consumer (KIP-848) protocol, GROUP_JOINS
#     times per size and round (the newest member leaves and another joins; median and max);
#     share groups (kb.lab.ShareBench, KafkaShareConsumer 4.4 with every default, in one JVM):
#     records/s at which 1, 4 and 16 consumers of one share group receive SHARE_RECORDS records
#     of 100 B written to a one-partition topic once the group reads it (Kafka 4.4's storage tool
#     formats share.version 2, its latest production level, so share groups are on without
#     further settings).
# Writes table.md (markdown), summary.md (a few of its rows, for the README), chart.png (ours /
# Kafka per row, Kafka = 1, log scale; drawn with matplotlib pinned in chart-requirements.txt, in
# a virtual environment under build/), raw.tsv (every figure of every round) and run.tsv (machine,
# load, counts) into the results directory, and prints the table. side_by_side_report.py DIR
# draws them again from raw.tsv and run.tsv (the README's copy is bench/kafka-side-by-side/).
#
# --quick: one round, a fifth of the records, 2,000 partitions and 2,000 idle connections, for
# trying the script (about 10 minutes on a busy 2-core machine; the full run about 40).
# --only PART: just one part of each round: startup, perf-tools, librdkafka, transactions, groups,
# share or connections (the table then shows the others as missing).
# With KB_BENCH_CHART=FILE.png, the groups and share parts are also drawn by bench/chart.py (one
# bar per members x protocol x server, median and max; records/s per consumer count).
#
# Environment: KB_SIDE_ROUNDS, KB_SIDE_RECORDS_100, KB_SIDE_RECORDS_1K (perf tools and
# librdkafka), KB_SIDE_LATENCY_MESSAGES (librdkafka at 1,000 msgs/s), KB_SIDE_PARTITIONS,
# KB_SIDE_IDLE_CONNECTIONS, KB_SIDE_TXN_RECORDS (per transactional mode), KB_SIDE_GROUP_SIZES
# (members, blank-separated), KB_SIDE_GROUP_JOINS (joins measured per size and round),
# KB_SIDE_SHARE_CONSUMERS (blank-separated), KB_SIDE_SHARE_RECORDS override the figures of the
# mode; KB_SIDE_SERVERS (default "ours kafka") runs only the servers named; KB_BENCH_PIN as the
# other scripts.
set -euo pipefail

QUICK=0
RESULTS=
ONLY=
while (($# > 0)); do
  case $1 in
    --quick) QUICK=1 ;;
    --only)
      (($# > 1)) || { echo "--only needs a part" >&2; exit 2; }
      case $2 in
        startup | perf-tools | librdkafka | transactions | groups | share | connections) ONLY=$2 ;;
        *) echo "unknown part: $2 (see --help)" >&2; exit 2 ;;
      esac
      shift
      ;;
    --results)
      (($# > 1)) || { echo "--results needs a directory" >&2; exit 2; }
      RESULTS=$2
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if ((QUICK)); then
  defaults=(1 100000 30000 1000 2000 2000 10000 3 50000)
else
  defaults=(3 500000 150000 5000 10000 10000 50000 5 200000)
fi
readonly ROUNDS=${KB_SIDE_ROUNDS:-${defaults[0]}}
readonly RECORDS_100=${KB_SIDE_RECORDS_100:-${defaults[1]}}
readonly RECORDS_1K=${KB_SIDE_RECORDS_1K:-${defaults[2]}}
readonly LATENCY_MESSAGES=${KB_SIDE_LATENCY_MESSAGES:-${defaults[3]}}
readonly PARTITIONS=${KB_SIDE_PARTITIONS:-${defaults[4]}}
readonly IDLE_CONNECTIONS=${KB_SIDE_IDLE_CONNECTIONS:-${defaults[5]}}
readonly TXN_RECORDS=${KB_SIDE_TXN_RECORDS:-${defaults[6]}}
readonly TXN_SIZES=(10 100 1000)
readonly GROUP_JOINS=${KB_SIDE_GROUP_JOINS:-${defaults[7]}}
readonly SHARE_RECORDS=${KB_SIDE_SHARE_RECORDS:-${defaults[8]}}
read -r -a SHARE_CONSUMERS <<<"${KB_SIDE_SHARE_CONSUMERS:-1 4 16}"
readonly SHARE_CONSUMERS
if ((QUICK)); then group_sizes_default="2 8 32"; else group_sizes_default="2 8 32 128"; fi
read -r -a GROUP_SIZES <<<"${KB_SIDE_GROUP_SIZES:-$group_sizes_default}"
readonly GROUP_SIZES
readonly LATENCY_RATE=1000
readonly IDLE_SETTLE_SECONDS=5
read -r -a SERVERS <<<"${KB_SIDE_SERVERS:-ours kafka}"
readonly SERVERS
# Kafka's JVM as bin/kafka-server-start.sh and bin/kafka-run-class.sh start it.
readonly KAFKA_JVM_OPTIONS=(-Xmx1G -Xms1G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15
  -Djava.awt.headless=true)

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_kafka_side_by_side
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$ROOT/bench/results/side-by-side}
readonly RESULTS
start_work_dir side-by-side

# Kafka keeps a descriptor per partition (its .log; indexes are mapped) and per connection; the
# connections and the partitions are not measured together. This broker plans its own budget.
raise_open_file_limit $(((IDLE_CONNECTIONS > PARTITIONS ? IDLE_CONNECTIONS : PARTITIONS) + 4096))

# --- Tools -------------------------------------------------------------------------------------

"$ROOT/scripts/install-deps.sh" bench
install_java_lab
TOOLS_CLASSPATH=$(java_lab_classpath server)
CLIENTS_CLASSPATH=$(java_lab_classpath 4)
readonly TOOLS_CLASSPATH CLIENTS_CLASSPATH
JAVA=$(command -v java)
readonly JAVA
build_tools bench/kb_client_bench kb_client_bench kb_startup_probe kb_topic_create_bench \
  kb_load_generator
readonly CLIENT=$BUILD_DIR/bench/kb_client_bench
readonly PROBE=$BUILD_DIR/bench/kb_startup_probe
readonly CREATE=$BUILD_DIR/bench/kb_topic_create_bench
[[ -x $CLIENT ]] || die "kb_client_bench was not built (is librdkafka-dev installed?)"
build_broker required

CHART_PYTHON=$(chart_python)
readonly CHART_PYTHON

choose_placement "each server" clients

# --- The servers -------------------------------------------------------------------------------

# Kafka's settings: its config/server.properties (KRaft, combined), on `port` and `controller_port`.
write_kafka_properties() {
  local file=$1 dir=$2 port=$3 controller_port=$4
  write_kafka_kraft_properties "$file" "$dir" "$port" "$controller_port"
  cat >>"$file" <<EOF
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
num.partitions=1
num.recovery.threads.per.data.dir=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
group.initial.rebalance.delay.ms=0
EOF
}

# Kafka's INFO log on its standard output, which goes to a file.
write_kafka_log4j2 "$WORK/log4j2.properties"
readonly KAFKA_COMMAND=("$JAVA" "${KAFKA_JVM_OPTIONS[@]}"
  "-Dlog4j2.configurationFile=$WORK/log4j2.properties" -cp "$TOOLS_CLASSPATH" kafka.Kafka)

write_our_properties() {
  printf 'listeners=PLAINTEXT://127.0.0.1:%s\nlog.dirs=%s\ngroup.initial.rebalance.delay.ms=0\n' \
    "$3" "$2" >"$1"
}

# Kafka's storage tool formats one directory, once; every fresh Kafka directory is a copy of it.
readonly KAFKA_TEMPLATE=$WORK/kafka-formatted
format_kafka_template() {
  local cluster_id
  cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22)
  write_kafka_properties "$WORK/format.properties" "$KAFKA_TEMPLATE" 9092 9093
  bounded 120 "$JAVA" -cp "$TOOLS_CLASSPATH" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$WORK/format.properties" >"$WORK/format.log" 2>&1 ||
    { cat "$WORK/format.log" >&2; die "kafka.tools.StorageTool format failed"; }
}

# A fresh, empty log directory for `server`. For the share part this broker's is formatted with
# share.version 1 (a new log has it at 0, as Kafka at 4.0-IV3); Kafka 4.4's format gives 2.
fresh_dir() {
  rm -rf "$2"
  if [[ $1 == kafka ]]; then
    cp -a "$KAFKA_TEMPLATE" "$2"
  elif wanted share; then
    printf 'log.dirs=%s\n' "$2" >"$WORK/format-ours.properties"
    "$BROKER" format -t "$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22)" \
      -c "$WORK/format-ours.properties" --feature share.version=1 >"$WORK/format-ours.log" 2>&1 ||
      { cat "$WORK/format-ours.log" >&2; die "kafka-broker format failed"; }
  else
    mkdir -p "$2"
  fi
}

# Starts `server` on log directory `dir` on the server CPU; sets BROKER_PID and BROKER_PORT.
start_server() {
  local server=$1 dir=$2 controller_port
  if [[ $server == ours ]]; then
    start_broker "$dir" group.initial.rebalance.delay.ms=0 || die "the broker did not start"
    return
  fi
  BROKER_PORT=$(pick_free_port)
  controller_port=$(pick_free_port)
  write_kafka_properties "$WORK/kafka.properties" "$dir" "$BROKER_PORT" "$controller_port"
  : >"$WORK/kafka.log"
  "${SERVER_ON_CPU[@]}" "${KAFKA_COMMAND[@]}" "$WORK/kafka.properties" >>"$WORK/kafka.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  for _ in {1..1800}; do
    grep -q 'Kafka Server started' "$WORK/kafka.log" && return
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 30 "$WORK/kafka.log" >&2
  die "Apache Kafka did not start"
}

# An orderly stop, so the next start on the directory is a clean one.
stop_server() { stop_process "$BROKER_PID" 300; }

# The server's log, for errors.
server_log() { if [[ $1 == ours ]]; then echo "$WORK/broker.log"; else echo "$WORK/kafka.log"; fi; }

# Creates topic `name` of `partitions` partitions through the running server.
create_topic() {
  local line
  line=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CREATE" --port "$BROKER_PORT" --topic "$1" \
    --partitions "$2" --timeout-seconds 540) || die "creating topic $1 failed"
  [[ $(field "$line" error) == 0 ]] || die "creating topic $1: $line"
}

# Waits (up to 10 minutes) until `dir` holds `count` partition directories of topics `prefix`-*:
# Kafka answers CreateTopics once the controller committed it, and makes the logs after.
wait_for_partition_dirs() {
  local dir=$1 prefix=$2 count=$3 found
  for _ in {1..6000}; do
    found=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$prefix-*" | wc -l)
    ((found >= count)) && return
    sleep 0.1
  done
  die "$dir holds $found of $count partition directories"
}

# The start-up directories: PARTITIONS partitions in two topics (one CreateTopics of them all
# would pass Kafka's limit of 10,000 records per controller operation), made by each server.
prepare_startup_dir() {
  local server=$1 dir=$2 half=$((PARTITIONS / 2))
  log "$(date +%T) $server: creating $PARTITIONS partitions for the start-up runs"
  fresh_dir "$server" "$dir"
  start_server "$server" "$dir"
  create_topic startup-a "$half"
  create_topic startup-b $((PARTITIONS - half))
  wait_for_partition_dirs "$dir" startup "$PARTITIONS"
  stop_server
}

# --- Measurements ------------------------------------------------------------------------------

RAW=$WORK/raw.tsv
printf 'server\tround\tkey\tvalue\n' >"$RAW"
record() { printf '%s\t%s\t%s\t%s\n' "$SERVER" "$ROUND" "$1" "$2" >>"$RAW"; }

measure_startup() {
  local dir=$1 port controller_port line command
  port=$(pick_free_port)
  if [[ $SERVER == ours ]]; then
    write_our_properties "$WORK/startup.properties" "$dir" "$port"
    command=("$BROKER" "$WORK/startup.properties")
  else
    controller_port=$(pick_free_port)
    write_kafka_properties "$WORK/startup.properties" "$dir" "$port" "$controller_port"
    command=("${KAFKA_COMMAND[@]}" "$WORK/startup.properties")
  fi
  local pin=()
  ((${#SERVER_ON_CPU[@]} == 0)) || pin=(--server-cpu 1)
  line=$(bounded 900 "${CLIENT_ON_CPU[@]}" "$PROBE" --port "$port" --log "$WORK/startup.log" \
    --timeout-seconds 600 --stop-seconds 300 "${pin[@]}" -- "${command[@]}") ||
    { tail -n 30 "$WORK/startup.log" >&2; die "$SERVER: the start-up run failed"; }
  [[ $line != *'killed by signal 9'* ]] ||
    log "warning: $SERVER was killed after its start-up run; the next one recovers its logs"
  record startup_ms "$(field "$line" startup_ms)"
  record startup_rss_kib "$(field "$line" rss_kib)"
}

# Samples the server's RSS every 0.2 s into `file` until stopped (stop_process SAMPLER_PID).
start_rss_sampler() {
  local pid=$1 file=$2
  (while rss_kib "$pid" >>"$file" 2>/dev/null; do sleep 0.2; done) &
  SAMPLER_PID=$!
  PIDS+=("$SAMPLER_PID")
}

measure_perf_tools() {
  local size records acks partitions topic summary before ticks_produce=0 ticks_consume=0
  local bytes=0 key
  : >"$WORK/rss-produce"
  for size in 100 1024; do
    records=$RECORDS_100
    [[ $size == 1024 ]] && records=$RECORDS_1K
    for acks in 1 all; do
      for partitions in 1 8; do
        topic=perf-$size-$acks-$partitions
        key=$size.$acks.$partitions
        create_topic "$topic" "$partitions"
        start_rss_sampler "$BROKER_PID" "$WORK/rss-produce"
        before=$(cpu_ticks "$BROKER_PID")
        kafka_tool ProducerPerformance --bootstrap-server "127.0.0.1:$BROKER_PORT" \
          --topic "$topic" --num-records "$records" --record-size "$size" --throughput -1 \
          --command-property "acks=$acks"
        ticks_produce=$((ticks_produce + $(cpu_ticks "$BROKER_PID") - before))
        stop_process "$SAMPLER_PID"
        summary=$(producer_perf_fields "$OUT")
        for field_name in records_per_sec mb_per_sec p50_ms p99_ms p999_ms; do
          record "produce.$key.$field_name" "$(field "$summary" "$field_name")"
        done
        before=$(cpu_ticks "$BROKER_PID")
        kafka_tool ConsumerPerformance --bootstrap-server "127.0.0.1:$BROKER_PORT" \
          --topic "$topic" --num-records "$records" --timeout 60000 --group "perf-$topic"
        ticks_consume=$((ticks_consume + $(cpu_ticks "$BROKER_PID") - before))
        summary=$(consumer_perf_fields "$OUT")
        record "consume.$key.records_per_sec" "$(field "$summary" fetch_records_per_sec)"
        record "consume.$key.mb_per_sec" "$(field "$summary" fetch_mb_per_sec)"
        bytes=$((bytes + size * records))
      done
    done
  done
  record rss_produce_kib "$(sort -n "$WORK/rss-produce" | tail -n 1)"
  record cpu_produce_s_per_gb "$(awk -v t="$ticks_produce" -v hz="$CLOCK_TICKS" -v b="$bytes" \
    'BEGIN { printf "%.2f", (t / hz) / (b / 1e9) }')"
  record cpu_consume_s_per_gb "$(awk -v t="$ticks_consume" -v hz="$CLOCK_TICKS" -v b="$bytes" \
    'BEGIN { printf "%.2f", (t / hz) / (b / 1e9) }')"
}

measure_librdkafka() {
  local size messages line
  for size in 100 1024; do
    messages=$RECORDS_100
    [[ $size == 1024 ]] && messages=$RECORDS_1K
    line=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CLIENT" throughput \
      --bootstrap "127.0.0.1:$BROKER_PORT" --topic "rdkafka-$size" --messages "$messages" \
      --size "$size" --acks 1 2>"$WORK/client.err") ||
      { cat "$WORK/client.err" >&2; die "$SERVER: kb_client_bench throughput failed"; }
    for field_name in produce_msgs_per_sec produce_mb_per_sec consume_msgs_per_sec \
      consume_mb_per_sec; do
      record "rdkafka.$size.$field_name" "$(field "$line" "$field_name")"
    done
    line=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CLIENT" latency \
      --bootstrap "127.0.0.1:$BROKER_PORT" --topic "rdkafka-latency-$size" \
      --messages "$LATENCY_MESSAGES" --size "$size" --rate "$LATENCY_RATE" --acks 1 \
      2>"$WORK/client.err") ||
      { cat "$WORK/client.err" >&2; die "$SERVER: kb_client_bench latency failed"; }
    record "rdkafka.$size.p50_us" "$(field "$line" p50_us)"
    record "rdkafka.$size.p99_us" "$(field "$line" p99_us)"
  done
}

measure_transactions() {
  local line mode
  OUT=$(bounded 900 "${CLIENT_ON_CPU[@]}" java -Xmx1g -cp "$CLIENTS_CLASSPATH" kb.lab.TxnBench \
    "127.0.0.1:$BROKER_PORT" "txn-bench" "$TXN_RECORDS" 100 "${TXN_SIZES[@]}" \
    2>"$WORK/tool.err") || { tail -n 20 "$WORK/tool.err" >&2; die "$SERVER: TxnBench failed"; }
  while read -r line; do
    mode=$(field "$line" mode)
    [[ -n $mode ]] || continue
    record "txn.$mode.records_per_sec" "$(field "$line" records_per_sec)"
    if [[ $mode != plain ]]; then
      record "txn.$mode.commit_p50_ms" "$(field "$line" commit_p50_ms)"
      record "txn.$mode.commit_p99_ms" "$(field "$line" commit_p99_ms)"
    fi
  done <<<"$OUT"
}

# Every member of every size in one JVM: 128 consumers are 128 threads (and, with the consumer
# protocol, as many background threads) on one client CPU, where 128 JVMs would not fit in memory
# nor start in reasonable time. Each join is one figure; the report takes their median and max.
measure_groups() {
  local protocol line
  for protocol in classic consumer; do
    OUT=$(bounded 3600 "${CLIENT_ON_CPU[@]}" java -Xmx1g -cp "$CLIENTS_CLASSPATH" kb.lab.GroupBench \
      "127.0.0.1:$BROKER_PORT" "group-bench" "$protocol" "$GROUP_JOINS" "${GROUP_SIZES[@]}" \
      2>"$WORK/tool.err") || { tail -n 20 "$WORK/tool.err" >&2; die "$SERVER: GroupBench failed"; }
    while read -r line; do
      [[ -n $(field "$line" members) ]] || continue
      record "group.$protocol.$(field "$line" members).join_ms" "$(field "$line" join_ms)"
    done <<<"$OUT"
  done
}

measure_share() {
  local line
  OUT=$(bounded 1800 "${CLIENT_ON_CPU[@]}" java -Xmx1g -cp "$CLIENTS_CLASSPATH" kb.lab.ShareBench \
    "127.0.0.1:$BROKER_PORT" "share-bench" "$SHARE_RECORDS" 100 "${SHARE_CONSUMERS[@]}" \
    2>"$WORK/tool.err") || { tail -n 20 "$WORK/tool.err" >&2; die "$SERVER: ShareBench failed"; }
  while read -r line; do
    [[ -n $(field "$line" consumers) ]] || continue
    record "share.$(field "$line" consumers).records_per_sec" "$(field "$line" records_per_sec)"
    record "share.$(field "$line" consumers).redelivered" "$(field "$line" redelivered)"
  done <<<"$OUT"
}

# Whether this run measures `part` (all of them without --only).
wanted() { [[ -z $ONLY || $ONLY == "$1" ]]; }

# One round of everything against SERVER.
measure_server() {
  local dir=$WORK/$SERVER-data
  log "$(date +%T) round $ROUND: $SERVER (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  if wanted startup; then measure_startup "$WORK/$SERVER-startup"; fi
  fresh_dir "$SERVER" "$dir"
  start_server "$SERVER" "$dir"
  sleep "$IDLE_SETTLE_SECONDS"
  record rss_idle_kib "$(rss_kib "$BROKER_PID")"
  if wanted perf-tools; then measure_perf_tools; fi
  if wanted librdkafka; then measure_librdkafka; fi
  if wanted transactions; then measure_transactions; fi
  if wanted groups; then measure_groups; fi
  if wanted share; then measure_share; fi
  if wanted connections; then
    measure_idle_connections "$BROKER_PID" "$BROKER_PORT" "$IDLE_CONNECTIONS" 2 ||
      die "$SERVER: holding $IDLE_CONNECTIONS idle connections failed"
    record rss_idle_connections_kib "$WITH_KIB"
  fi
  kill -0 "$BROKER_PID" 2>/dev/null || { tail -n 30 "$(server_log "$SERVER")" >&2; die "$SERVER exited"; }
  stop_server
  rm -rf "$dir"
}

# --- Run ---------------------------------------------------------------------------------------

warn_if_busy
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
readonly LOAD_BEFORE
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
readonly STARTED
format_kafka_template
if wanted startup; then
  for SERVER in "${SERVERS[@]}"; do prepare_startup_dir "$SERVER" "$WORK/$SERVER-startup"; done
fi

LOADS=()
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  order=("${SERVERS[@]}")
  ((ROUND % 2 == 1 || ${#SERVERS[@]} < 2)) || order=("${SERVERS[1]}" "${SERVERS[0]}")
  for SERVER in "${order[@]}"; do
    measure_server
    LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Report ------------------------------------------------------------------------------------

# The figures of `key` for `server` in raw.tsv, one a line (empty ones left out).
raw_figures() {
  awk -F'\t' -v s="$1" -v k="$2" '$1 == s && $3 == k && $4 != "" { print $4 }' "$RAW"
}

# The groups' and share groups' figures as bench/chart.py tables (drawn if KB_BENCH_CHART is set).
chart_groups_and_share() {
  local members protocol server figures
  if wanted groups; then
    chart_table "A group takes in its last member (Java consumer 4.4, defaults; $PLACEMENT)" \
      "members, protocol, server" "median ms" "max ms"
    for members in "${GROUP_SIZES[@]}"; do
      for protocol in classic consumer; do
        for server in "${SERVERS[@]}"; do
          figures=$(raw_figures "$server" "group.$protocol.$members.join_ms")
          [[ -n $figures ]] || figures=-
          chart_row "$members $protocol, $server" "$(median <<<"$figures")" \
            "$(sort -g <<<"$figures" | tail -n 1)"
        done
      done
    done
  fi
  if wanted share; then
    chart_table "Share group on one partition (KafkaShareConsumer 4.4, 100 B records)" \
      "consumers, server" "records/s (median)"
    for members in "${SHARE_CONSUMERS[@]}"; do
      for server in "${SERVERS[@]}"; do
        figures=$(raw_figures "$server" "share.$members.records_per_sec")
        chart_row "$members, $server" "$(if [[ -n $figures ]]; then median <<<"$figures"; else echo -; fi)"
      done
    done
  fi
}

mkdir -p "$RESULTS"
cp "$RAW" "$RESULTS/raw.tsv"
{
  printf 'date\t%s\n' "$STARTED"
  printf 'machine\t%s, %s CPUs, %s MiB RAM, %s\n' \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" \
    "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)" "$(uname -sr)"
  printf 'placement\t%s\n' "$PLACEMENT"
  printf 'rounds\t%s\n' "$ROUNDS"
  printf 'load\tload average %s before, %s after; 1-minute load after each server run: %s\n' \
    "$LOAD_BEFORE" "$LOAD_AFTER" "${LOADS[*]}"
  printf 'kafka\tApache Kafka 4.4.0 (kafka_2.13), %s\n' "$("$JAVA" -version 2>&1 | head -n 1)"
  printf 'ours\tkafka-broker %s\n' "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
  printf 'records\t%s\t%s\n' "$RECORDS_100" "$RECORDS_1K"
  printf 'latency\t%s\t%s\n' "$LATENCY_MESSAGES" "$LATENCY_RATE"
  printf 'partitions\t%s\n' "$PARTITIONS"
  printf 'connections\t%s\n' "$IDLE_CONNECTIONS"
  printf 'rdkafka\t%s\n' "$(pkg-config --modversion rdkafka)"
} >"$RESULTS/run.tsv"
chart_args=()
[[ $CHART_PYTHON == python3 ]] && chart_args=(--no-chart)
"$CHART_PYTHON" "$ROOT/bench/side_by_side_report.py" "$RESULTS" "${chart_args[@]}" ||
  die "writing the report failed"
cat "$RESULTS/table.md"
chart_groups_and_share
write_chart
log "written: $RESULTS/table.md, $RESULTS/chart.png, $RESULTS/raw.tsv"
