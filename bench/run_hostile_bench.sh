#!/usr/bin/env bash
# Hostile clients: ApiVersions p99 latency of a well-behaved client on an idle broker and while
# 10,000 idle connections, 1,000 slowloris clients, clients that never read, bad frame sizes and
# a connection storm (one at a time, then all together) hit the broker, then while two producers
# write to a topic of 16 KiB segments and 256 KiB retention (descriptor-hungry: segments roll and
# are deleted all the time; the broker's descriptors are printed), then while one client floods
# it with big requests (Metadata naming 2,000 new topics each, JoinGroup offering 100,000
# protocols each, one after another), then while 500 connections a second to its SSL listener
# each send a ClientHello and never finish the handshake (tls-handshakes). Prints the p99 ratio to
# idle (target: within 2x) and the broker's RSS in each phase (bound: see README, "Failure
# behaviour").
#
#   bench/run_hostile_bench.sh
#
# Environment: KB_BENCH_SECONDS (measured seconds per phase, default 5), KB_BENCH_STORM_RATE (new
# connections per second in the storm, default 5000), KB_BENCH_FLOOD_TOPICS (topics a Metadata of
# the flood names, default 2000), KB_BENCH_FLOOD_PROTOCOLS (protocols a JoinGroup of the flood
# offers, default 100000), KB_BENCH_TLS_RATE (half-finished TLS handshakes a second, default
# 500), KB_BENCH_PIN (default 1: broker on CPU 1, clients on CPU 0), KB_BENCH_ONLY (phases to run
# after idle, comma-separated, e.g. tls-handshakes; default all).
set -euo pipefail

readonly PHASE_SECONDS=${KB_BENCH_SECONDS:-5}
readonly IDLE_CONNECTIONS=10000
readonly SLOWLORIS=1000
readonly STORM_RATE=${KB_BENCH_STORM_RATE:-5000}
readonly FLOOD_TOPICS=${KB_BENCH_FLOOD_TOPICS:-2000}
readonly FLOOD_PROTOCOLS=${KB_BENCH_FLOOD_PROTOCOLS:-100000}
readonly TLS_RATE=${KB_BENCH_TLS_RATE:-500}

# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_hostile_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_work_dir hostile-bench

# 10,000 + 1,000 connections, on both ends: the broker and the clients inherit this limit.
raise_open_file_limit $((IDLE_CONNECTIONS + SLOWLORIS + 1024))

build_tools bench/kb_hostile_bench kb_hostile_bench
readonly HOSTILE=$BUILD_DIR/bench/kb_hostile_bench
build_broker required
warn_if_busy
choose_placement broker clients

mkdir -p "$WORK/data"
# The SSL listener's certificate (ECDSA P-256, as run_tls_bench.sh makes it).
certs=$WORK/certs
mkdir -p "$certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/server.key" \
  -out "$certs/server.pem" -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 || die "openssl req failed"
cat "$certs/server.pem" "$certs/server.key" >"$certs/server-bundle.pem"
# No initial rebalance delay: the join flood's first join is answered at once. Retention every
# second, for the descriptor-hungry phase.
start_broker "$WORK/data" group.initial.rebalance.delay.ms=0 log.retention.check.interval.ms=1000 \
  "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0" \
  "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL" \
  "ssl.keystore.type=PEM" "ssl.keystore.location=$certs/server-bundle.pem" ||
  die "the broker did not start"
SSL_PORT=$(wait_for_port "$BROKER_PID" "$WORK/broker.log" \
  '.*Listening on SSL:\/\/127\.0\.0\.1:\([0-9]*\).*') || die "no SSL listener"

printf '\n== Hostile clients: ApiVersions v4 every 1 ms from one client, %s s per phase ==\n' \
  "$PHASE_SECONDS"
printf '(%s; max.connections and buffer caps at their defaults)\n' "$PLACEMENT"
bounded $((PHASE_SECONDS * 10 + 250)) "${CLIENT_ON_CPU[@]}" "$HOSTILE" --port "$BROKER_PORT" \
  --broker-pid "$BROKER_PID" --seconds "$PHASE_SECONDS" --idle "$IDLE_CONNECTIONS" \
  --slowloris "$SLOWLORIS" --storm-rate "$STORM_RATE" --flood-topics "$FLOOD_TOPICS" \
  --flood-protocols "$FLOOD_PROTOCOLS" --tls-port "$SSL_PORT" --tls-rate "$TLS_RATE" \
  ${KB_BENCH_ONLY:+--only "$KB_BENCH_ONLY"} | tee "$WORK/phases.txt" ||
  die "kb_hostile_bench failed"

kill -0 "$BROKER_PID" 2>/dev/null || {
  tail -n 20 "$WORK/broker.log" >&2
  die "the broker exited during the benchmark"
}
printf 'broker log: %s warnings (connections refused or closed for bad frames are logged)\n' \
  "$(grep -c ' warn' "$WORK/broker.log" || true)"
# The chart: each phase's row of kb_hostile_bench's table (phase, p50, p99, max, p99/idle, ...).
chart_table "ApiVersions v4 every 1 ms from one client during each phase ($PLACEMENT)" phase \
  "p50 us" "p99 us" "p99 / idle p99"
while read -r phase p50 p99 _ ratio _; do
  [[ $p50 =~ ^[0-9.]+$ && $ratio =~ ^[0-9.]+$ ]] && chart_row "$phase" "$p50" "$p99" "$ratio"
done <"$WORK/phases.txt"
write_chart
