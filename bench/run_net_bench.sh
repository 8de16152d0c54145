#!/usr/bin/env bash
# Network benchmark: the broker against kb_echo_server, a minimal epoll server that answers every
# request with a same-sized canned frame and so marks the I/O ceiling on this machine.
#
#   bench/run_net_bench.sh
#
# Prints requests/s and p50/p99 latency for (1 conn, depth 1), (16 conn, depth 1) and
# (16 conn, depth 16) against both servers with the broker/echo ratio next to its target, then
# the broker's RSS when idle and with 1,000 idle connections. Without a broker binary only the
# echo columns are measured.
#
# Environment: KB_BENCH_SECONDS (measured seconds per run, default 3), KB_BENCH_WARMUP (default
# 1), KB_BENCH_RESPONSE_BYTES (echo response size when no broker answers, default 256),
# KB_BENCH_PIN (default 1: servers on CPU 1, load generator on CPU 0; 0 leaves placement to the
# scheduler, which makes depth-1 results swing several-fold between same-CPU and cross-CPU runs).
set -euo pipefail

# Settings.
readonly RUN_SECONDS=${KB_BENCH_SECONDS:-3}
readonly WARMUP_SECONDS=${KB_BENCH_WARMUP:-1}
readonly FALLBACK_RESPONSE_BYTES=${KB_BENCH_RESPONSE_BYTES:-256}
readonly IDLE_CONNECTIONS=1000
readonly IDLE_TARGET_KIB=$((16 * 1024))
readonly PER_CONNECTION_TARGET_KIB=64
# connections, depth, minimum broker/echo throughput ratio
readonly SCENARIOS=("1 1 0.8" "16 1 0.7" "16 16 0.5")

# Shared plumbing (lib.sh); its errors name this script.
# shellcheck disable=SC2034  # die in lib.sh names the script with it
BENCH_NAME=run_net_bench
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_work_dir net-bench

# The idle-connection test needs 1,000+ descriptors in the load generator and the servers.
raise_open_file_limit 4096

# --- Build -------------------------------------------------------------------------------------

build_tools bench/kb_load_generator kb_load_generator kb_echo_server
readonly LOADGEN=$BUILD_DIR/bench/kb_load_generator
readonly ECHO_SERVER=$BUILD_DIR/bench/kb_echo_server
build_broker optional
warn_if_busy

# --- Placement ---------------------------------------------------------------------------------

choose_placement servers "load generator"

# --- Servers -----------------------------------------------------------------------------------

# Waits up to 10 s for `pid` to listen on `port`; shows its log if it exits or never listens.
wait_for_listener() {
  local pid=$1 port=$2 log_file=$3
  for _ in {1..100}; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited before listening on port $port; its log:"
      tail -n 20 "$log_file" >&2
      return 1
    fi
    [[ -n $(ss -Htln "sport = :$port") ]] && return 0
    sleep 0.1
  done
  log "process $pid is not listening on port $port after 10 s; its log:"
  tail -n 20 "$log_file" >&2
  return 1
}

BROKER_PID=
BROKER_PORT=
BROKER_FRESH_RSS=
RESPONSE_BYTES=$FALLBACK_RESPONSE_BYTES
if [[ -x $BROKER ]]; then
  mkdir -p "$WORK/broker-data"
  if ! start_broker "$WORK/broker-data"; then
    log "the broker did not start: broker columns skipped"
    BROKER_PID=
  elif ! RESPONSE_BYTES=$(bounded 15 "$LOADGEN" --host 127.0.0.1 --port "$BROKER_PORT" \
    --response-size 2>"$WORK/probe.err"); then
    cat "$WORK/probe.err" >&2
    log "the broker did not answer ApiVersions v4: broker columns skipped"
    RESPONSE_BYTES=$FALLBACK_RESPONSE_BYTES
    BROKER_PID=
  else
    BROKER_FRESH_RSS=$(rss_kib "$BROKER_PID")
  fi
else
  log "no broker binary at $BROKER: measuring the echo server only"
fi

ECHO_PORT=$(pick_free_port)
"${SERVER_ON_CPU[@]}" "$ECHO_SERVER" --port "$ECHO_PORT" --response-bytes "$RESPONSE_BYTES" \
  >"$WORK/echo.log" 2>&1 &
readonly ECHO_PID=$!
PIDS+=("$ECHO_PID")
wait_for_listener "$ECHO_PID" "$ECHO_PORT" "$WORK/echo.log" || die "the echo server did not start"
ECHO_FRESH_RSS=$(rss_kib "$ECHO_PID")

broker_alive() { [[ -n $BROKER_PID ]] && kill -0 "$BROKER_PID" 2>/dev/null; }

# --- Throughput --------------------------------------------------------------------------------

# Prints the load generator's result line; its stderr goes to $WORK/load.err.
run_load() {
  local port=$1 connections=$2 depth=$3
  bounded $((RUN_SECONDS + WARMUP_SECONDS + 20)) \
    "${CLIENT_ON_CPU[@]}" "$LOADGEN" --host 127.0.0.1 --port "$port" \
    --connections "$connections" --depth "$depth" --seconds "$RUN_SECONDS" \
    --warmup "$WARMUP_SECONDS" 2>"$WORK/load.err"
}

printf '\n== Throughput: ApiVersions v4, %s-byte responses, %s s per run after %s s warmup ==\n' \
  "$RESPONSE_BYTES" "$RUN_SECONDS" "$WARMUP_SECONDS"
printf '(%s)\n' "$PLACEMENT"
printf '%-18s %12s %12s %8s %12s %20s %20s\n' scenario "echo req/s" "broker req/s" ratio \
  target "echo p50/p99 us" "broker p50/p99 us"
chart_table "Throughput: ApiVersions v4, $RESPONSE_BYTES-byte responses ($PLACEMENT)" scenario \
  "echo req/s" "broker req/s" "broker / echo" "broker p99 us"
NOTES=()
for scenario in "${SCENARIOS[@]}"; do
  read -r connections depth target <<<"$scenario"
  name="$connections conn, depth $depth"

  echo_line=$(run_load "$ECHO_PORT" "$connections" "$depth") ||
    { cat "$WORK/load.err" >&2; die "load against the echo server failed ($name)"; }
  echo_rate=$(field "$echo_line" requests_per_sec)
  echo_latency="$(field "$echo_line" p50_us)/$(field "$echo_line" p99_us)"

  broker_rate=- broker_latency=- ratio=- verdict=''
  if broker_alive; then
    if broker_line=$(run_load "$BROKER_PORT" "$connections" "$depth"); then
      broker_rate=$(field "$broker_line" requests_per_sec)
      broker_latency="$(field "$broker_line" p50_us)/$(field "$broker_line" p99_us)"
      ratio=$(awk -v b="$broker_rate" -v e="$echo_rate" 'BEGIN { printf "%.2f", b / e }')
      verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t) ? "ok" : "MISS" }')
    else
      broker_rate=failed
      NOTES+=("broker run '$name' failed: $(tr '\n' ' ' <"$WORK/load.err")")
    fi
  fi
  printf '%-18s %12s %12s %8s %12s %20s %20s\n' "$name" "$echo_rate" "$broker_rate" "$ratio" \
    ">= $target $verdict" "$echo_latency" "$broker_latency"
  chart_row "$name" "$echo_rate" "$broker_rate" "$ratio" "${broker_latency#*/}"
done
for note in "${NOTES[@]}"; do log "$note"; done
if [[ -n $BROKER_PID ]] && ! broker_alive; then
  log "the broker exited during the runs; its log:"
  tail -n 20 "$WORK/broker.log" >&2
fi

# --- Memory ------------------------------------------------------------------------------------

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
per_connection_kib() {
  awk -v a="$1" -v b="$2" -v n="$IDLE_CONNECTIONS" 'BEGIN { printf "%.1f", (b - a) / n }'
}
meets() { awk -v v="$1" -v t="$2" 'BEGIN { print (v < t) ? "ok" : "MISS" }'; }

measure_idle_connections "$ECHO_PID" "$ECHO_PORT" "$IDLE_CONNECTIONS" ||
  die "holding idle connections to the echo server failed"
echo_before=$BEFORE_KIB echo_with=$WITH_KIB
echo_per_connection=$(per_connection_kib "$echo_before" "$echo_with")

broker_fresh=- broker_before=- broker_with=- broker_per_connection=- fresh_verdict='' per_verdict=
broker_with_kib=-
if broker_alive; then
  broker_fresh=$(mib "$BROKER_FRESH_RSS")
  fresh_verdict=$(meets "$BROKER_FRESH_RSS" "$IDLE_TARGET_KIB")
  if measure_idle_connections "$BROKER_PID" "$BROKER_PORT" "$IDLE_CONNECTIONS"; then
    broker_before=$(mib "$BEFORE_KIB")
    broker_with=$(mib "$WITH_KIB")
    broker_with_kib=$WITH_KIB
    broker_per_connection=$(per_connection_kib "$BEFORE_KIB" "$WITH_KIB")
    per_verdict=$(meets "$broker_per_connection" "$PER_CONNECTION_TARGET_KIB")
    broker_per_connection="$broker_per_connection KiB"
  else
    broker_with=failed
    log "holding $IDLE_CONNECTIONS idle connections to the broker failed"
  fi
fi

printf '\n== Memory: VmRSS ==\n'
printf '%-28s %14s %14s %s\n' "" broker echo target
printf '%-28s %14s %14s %s\n' "idle, fresh start" "$broker_fresh" "$(mib "$ECHO_FRESH_RSS")" \
  "< $((IDLE_TARGET_KIB / 1024)) MiB $fresh_verdict"
printf '%-28s %14s %14s\n' "idle, after the load runs" "$broker_before" "$(mib "$echo_before")"
printf '%-28s %14s %14s\n' "with $IDLE_CONNECTIONS idle connections" "$broker_with" \
  "$(mib "$echo_with")"
printf '%-28s %14s %14s %s\n' "per idle connection" "$broker_per_connection" \
  "$echo_per_connection KiB" "< $PER_CONNECTION_TARGET_KIB KiB $per_verdict"
chart_table "Memory: VmRSS (KiB)" "" broker echo
chart_row "idle, fresh start" "${BROKER_FRESH_RSS:--}" "$ECHO_FRESH_RSS"
chart_row "with $IDLE_CONNECTIONS idle connections" "$broker_with_kib" "$echo_with"
write_chart
