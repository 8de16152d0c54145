#!/usr/bin/env bash
# TLS against plaintext on the same broker in the same run: librdkafka (kb_client_bench
# throughput) produces 1 KiB messages to one partition and consumes them back, once through the
# PLAINTEXT listener and once through an SSL listener (TLS 1.3, an ECDSA P-256 certificate made
# here by the openssl command), in alternating rounds (the order flips every round); prints the
# median MB/s of each and the broker's CPU seconds per GB. Kernel TLS is used only where the
# kernel offers the "tls" ULP (/proc/sys/net/ipv4/tcp_available_ulp); the script says which.
#
#   bench/run_tls_bench.sh
#
# Environment: KB_TLS_MESSAGES (default 300000), KB_TLS_ROUNDS (default 3), KB_CLIENT_ACKS
# (default 1), KB_BENCH_PIN (default 1: broker on CPU 1, client on CPU 0).
set -euo pipefail

readonly MESSAGES=${KB_TLS_MESSAGES:-300000}
readonly ROUNDS=${KB_TLS_ROUNDS:-3}
readonly ACKS=${KB_CLIENT_ACKS:-1}
readonly SIZE=1024

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
readonly SSL_PORT
if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
  KTLS="kernel TLS available (tls ULP)"
else
  KTLS="no kernel TLS (no tls ULP): file ranges are copied and encrypted in the broker"
fi

# One run through `listener`; appends "listener produce_MB/s consume_MB/s cpu_s_per_GB".
run_once() {
  local listener=$1 round=$2 port extra=() before after line
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
  printf '%s %s %s %s\n' "$listener" "$(field "$line" produce_mb_per_sec)" \
    "$(field "$line" consume_mb_per_sec)" \
    "$(awk -v t=$((after - before)) -v hz="$CLOCK_TICKS" -v m="$MESSAGES" -v s="$SIZE" \
      'BEGIN { printf "%.2f", (t / hz) / (2 * m * s / 1e9) }')" >>"$WORK/results"
}

for ((round = 1; round <= ROUNDS; ++round)); do
  if ((round % 2)); then order=(PLAINTEXT SSL); else order=(SSL PLAINTEXT); fi
  for listener in "${order[@]}"; do run_once "$listener" "$round"; done
done

printf '\n== TLS against plaintext: librdkafka %s, %s x %s B, acks=%s, %s rounds (%s) ==\n' \
  "$(pkg-config --modversion rdkafka)" "$MESSAGES" "$SIZE" "$ACKS" "$ROUNDS" "$PLACEMENT"
printf '%s\n' "$KTLS"
printf '%-10s %16s %16s %22s\n' listener "produce MB/s" "consume MB/s" "broker CPU s/GB moved"
for listener in PLAINTEXT SSL; do
  printf '%-10s %16s %16s %22s\n' "$listener" \
    "$(awk -v l="$listener" '$1 == l { print $2 }' "$WORK/results" | median)" \
    "$(awk -v l="$listener" '$1 == l { print $3 }' "$WORK/results" | median)" \
    "$(awk -v l="$listener" '$1 == l { print $4 }' "$WORK/results" | median)"
done
