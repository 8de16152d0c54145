#!/usr/bin/env bash
# TLS against plaintext on the same broker in the same run: librdkafka (kb_client_bench
# throughput) produces 1 KiB messages to one partition and consumes them back, once through the
# PLAINTEXT listener and once through an SSL listener (TLS 1.3, an ECDSA P-256 certificate made
# here by the openssl command), in alternating rounds (the order flips every round), then sends
# messages at a steady rate through the same listener and times each from produce to consume
# (kb_client_bench latency); prints the median MB/s of each, the broker's CPU seconds per GB and
# the median p50 and p99 produce-to-consume latency. Kernel TLS is used only where the
# kernel offers the "tls" ULP (/proc/sys/net/ipv4/tcp_available_ulp); the script says which.
#
#   bench/run_tls_bench.sh [--with-kafka]
#
# --with-kafka: then the same against Apache Kafka 4.4 (kafka.Kafka from the Java lab's server
# class path, started as bench/run_kafka_side_by_side.sh starts it, with the same PEM key store
# on an SSL listener), so both rows sit beside ours.
#
# Environment: KB_TLS_MESSAGES (default 300000), KB_TLS_ROUNDS (default 3), KB_CLIENT_ACKS
# (default 1), KB_TLS_LATENCY_MESSAGES (default 3000) and KB_TLS_LATENCY_RATE (msgs/s, default
# 1000) for the latency run, KB_BENCH_PIN (default 1: broker on CPU 1, client on CPU 0).
set -euo pipefail

readonly MESSAGES=${KB_TLS_MESSAGES:-300000}
readonly ROUNDS=${KB_TLS_ROUNDS:-3}
readonly ACKS=${KB_CLIENT_ACKS:-1}
readonly LATENCY_MESSAGES=${KB_TLS_LATENCY_MESSAGES:-3000}
readonly LATENCY_RATE=${KB_TLS_LATENCY_RATE:-1000}
readonly SIZE=1024
WITH_KAFKA=0
if [[ ${1:-} == --with-kafka ]]; then WITH_KAFKA=1; fi
readonly WITH_KAFKA

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_tls_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_work_dir tls-bench

"$ROOT/scripts/install-deps.sh" bench
build_tools bench/kb_client_bench kb_client_bench
readonly CLIENT=$BUILD_DIR/bench/kb_client_bench
[[ -x $CLIENT ]] || die "kb_client_bench was not built (is librdkafka-dev installed?)"
build_broker required

# A CA and the broker's certificate for 127.0.0.1.
certs=$WORK/certs
mkdir -p "$certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/ca.key" \
  -out "$certs/ca.pem" -days 2 -subj /CN=bench-ca >/dev/null 2>&1 || die "openssl req failed"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/server.key" \
  -out "$certs/server.csr" -subj /CN=localhost >/dev/null 2>&1 || die "openssl req failed"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$certs/server.ext"
openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
  -CAcreateserial -out "$certs/server.pem" -days 2 -extfile "$certs/server.ext" >/dev/null 2>&1 ||
  die "openssl x509 failed"
cat "$certs/server.pem" "$certs/server.key" >"$certs/server-bundle.pem"

choose_placement broker client
warn_if_busy
start_broker "$WORK/data" \
  "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0" \
  "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL" \
  "ssl.keystore.type=PEM" "ssl.keystore.location=$certs/server-bundle.pem" ||
  die "the broker did not start"
SSL_PORT=$(wait_for_port "$BROKER_PID" "$WORK/broker.log" \
  '.*Listening on SSL:\/\/127\.0\.0\.1:\([0-9]*\).*') || die "no SSL listener"

if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
  KTLS="kernel TLS available (tls ULP)"
else
  KTLS="no kernel TLS (no tls ULP): file ranges are copied and encrypted in the broker"
fi

# One run through `listener` of `server`; appends "server listener produce_MB/s consume_MB/s
# cpu_s_per_GB p50_us p99_us" to the results.
run_once() {
  local server=$1 listener=$2 round=$3 port extra=() before after line latency
  if [[ $listener == SSL ]]; then
    port=$SSL_PORT
    extra=(--set security.protocol=SSL --set "ssl.ca.location=$certs/ca.pem")
  else
    port=$BROKER_PORT
  fi
  before=$(cpu_ticks "$BROKER_PID")
  line=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CLIENT" throughput --bootstrap "127.0.0.1:$port" \
    --topic "tls-bench-$listener-$round" --messages "$MESSAGES" --size "$SIZE" --acks "$ACKS" \
    "${extra[@]}" 2>"$WORK/client.err") || { cat "$WORK/client.err" >&2; die "$listener run failed"; }
  after=$(cpu_ticks "$BROKER_PID")
  latency=$(bounded 600 "${CLIENT_ON_CPU[@]}" "$CLIENT" latency --bootstrap "127.0.0.1:$port" \
    --topic "tls-bench-latency-$listener-$round" --messages "$LATENCY_MESSAGES" \
    --rate "$LATENCY_RATE" --size "$SIZE" --acks "$ACKS" "${extra[@]}" 2>"$WORK/client.err") ||
    { cat "$WORK/client.err" >&2; die "$listener latency run failed"; }
  printf '%s %s %s %s %s %s %s\n' "$server" "$listener" "$(field "$line" produce_mb_per_sec)" \
    "$(field "$line" consume_mb_per_sec)" \
    "$(awk -v t=$((after - before)) -v hz="$CLOCK_TICKS" -v m="$MESSAGES" -v s="$SIZE" \
      'BEGIN { printf "%.2f", (t / hz) / (2 * m * s / 1e9) }')" \
    "$(field "$latency" p50_us)" "$(field "$latency" p99_us)" >>"$WORK/results"
}

rounds() {
  local server=$1 round order listener
  for ((round = 1; round <= ROUNDS; ++round)); do
    if ((round % 2)); then order=(PLAINTEXT SSL); else order=(SSL PLAINTEXT); fi
    for listener in "${order[@]}"; do run_once "$server" "$listener" "$round"; done
  done
}
rounds ours
stop_process "$BROKER_PID" 60

if ((WITH_KAFKA)); then
  install_java_lab
  TOOLS_CLASSPATH=$(java_lab_classpath server)
  readonly TOOLS_CLASSPATH
  kafka_dir=$WORK/kafka-data
  BROKER_PORT=$(pick_free_port)
  SSL_PORT=$(pick_free_port)
  controller_port=$(pick_free_port)
  cat >"$WORK/kafka.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$BROKER_PORT,SSL://127.0.0.1:$SSL_PORT,CONTROLLER://127.0.0.1:$controller_port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL
ssl.keystore.type=PEM
ssl.keystore.location=$certs/server-bundle.pem
num.network.threads=3
num.io.threads=8
log.dirs=$kafka_dir
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES
  bounded 120 java -cp "$TOOLS_CLASSPATH" kafka.tools.StorageTool format \
    -t "$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22)" \
    -c "$WORK/kafka.properties" >"$WORK/format.log" 2>&1 ||
    { cat "$WORK/format.log" >&2; die "kafka.tools.StorageTool format failed"; }
  # Kafka's INFO log (its "Kafka Server started" line) on its standard output.
  write_kafka_log4j2 "$WORK/log4j2.properties"
  # As bin/kafka-server-start.sh starts it.
  "${SERVER_ON_CPU[@]}" java -Xmx1G -Xms1G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$WORK/log4j2.properties" -cp "$TOOLS_CLASSPATH" kafka.Kafka "$WORK/kafka.properties" \
    >"$WORK/kafka.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  started=0
  for _ in {1..1800}; do
    if grep -q 'Kafka Server started' "$WORK/kafka.log"; then started=1 && break; fi
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  ((started)) || { tail -n 30 "$WORK/kafka.log" >&2; die "Apache Kafka did not start"; }
  rounds kafka
  stop_process "$BROKER_PID" 300
fi

printf '\n== TLS against plaintext: librdkafka %s, %s x %s B, acks=%s, %s rounds (%s) ==\n' \
  "$(pkg-config --modversion rdkafka)" "$MESSAGES" "$SIZE" "$ACKS" "$ROUNDS" "$PLACEMENT"
printf '%s\n' "$KTLS"
printf 'latency: %s msgs/s of %s B, produce to consume\n' "$LATENCY_RATE" "$SIZE"
printf '%-8s %-10s %16s %16s %22s %10s %10s\n' server listener "produce MB/s" "consume MB/s" \
  "server CPU s/GB moved" "p50 us" "p99 us"
servers=(ours)
if ((WITH_KAFKA)); then servers+=(kafka); fi
chart_table "TLS against plaintext, librdkafka, $MESSAGES x $SIZE B, median of $ROUNDS rounds" \
  "server listener" "produce MB/s" "consume MB/s" "server CPU s/GB moved"
for server in "${servers[@]}"; do
  for listener in PLAINTEXT SSL; do
    medians=()
    for column in 3 4 5 6 7; do
      medians+=("$(awk -v s="$server" -v l="$listener" -v c="$column" \
        '$1 == s && $2 == l { print $c }' "$WORK/results" | median)")
    done
    printf '%-8s %-10s %16s %16s %22s %10s %10s\n' "$server" "$listener" "${medians[@]}"
    chart_row "$server $listener" "${medians[@]:0:3}"
  done
done
write_chart
