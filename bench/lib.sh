# shellcheck shell=bash
# Plumbing shared by the benchmark scripts in this folder. A script sets BENCH_NAME (the name its
# error messages carry), runs `set -euo pipefail` and sources this file; it then calls
# start_work_dir before anything else that needs WORK or starts a process.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly PIN=${KB_BENCH_PIN:-1}

log() { printf '%s\n' "$*" >&2; }

# Errors name the script, since several of them may run one after another.
die() {
  log "${BENCH_NAME:-bench}: error: $*"
  exit 1
}

# Runs a command with a time limit but in our process group, so that Ctrl-C reaches it and, when
# it dies of that signal, the script too (plain `timeout` would shield it in a group of its own).
bounded() {
  local seconds=$1
  shift
  timeout --foreground --kill-after=5 "$seconds" "$@"
}

# --- Processes and the work directory ----------------------------------------------------------

# Every process a script starts in the background goes into PIDS, so the EXIT trap can stop it.
PIDS=()

# Drops a reaped process from PIDS so cleanup never signals a recycled pid.
forget_process() {
  local pid kept=()
  for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  PIDS=("${kept[@]}")
}

# TERM, then KILL if the process is still there after `seconds` (default 2; a JVM's orderly
# shutdown wants more).
stop_process() {
  local pid=$1 tenths=$((${2:-2} * 10)) i
  if kill -TERM "$pid" 2>/dev/null; then
    for ((i = 0; i < tenths; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_process "$pid"
}

# The EXIT trap: stops what is still running, lets the script remove what it alone knows about
# (a function named cleanup_extra, if it defines one), then removes WORK.
cleanup() {
  set +e
  local pid
  for pid in "${PIDS[@]}"; do stop_process "$pid"; done
  if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
  rm -rf "$WORK"
}

# Creates WORK under /tmp (named after `prefix`) and installs the traps that clean up after the
# script however it ends: INT and TERM exit with the conventional status, which runs EXIT.
start_work_dir() {
  WORK=$(mktemp -d "/tmp/kb-$1.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# --- Build -------------------------------------------------------------------------------------

# Reuse the main Release tree when it already holds a broker; otherwise use a private one.
if [[ -x $ROOT/build/release/src/broker/kafka-broker && -f $ROOT/build/release/build.ninja ]]; then
  BUILD_DIR=$ROOT/build/release
else
  BUILD_DIR=$ROOT/build/release-bench
fi
readonly BUILD_DIR
# KB_BENCH_BROKER runs another build's broker (e.g. main's, for before/after figures); it is
# used as it is, not rebuilt.
readonly BROKER=${KB_BENCH_BROKER:-$BUILD_DIR/src/broker/kafka-broker}

has_ninja_target() { ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q "^$1:"; }

# Configures BUILD_DIR if needed and builds the benchmark tools `targets...` (dying if that
# fails). A tree configured before bench/ existed lacks their targets: cmake is re-run then
# with the cached settings, `probe_target` (e.g. bench/kb_fetch_bench) being the one to look for.
build_tools() {
  local probe_target=$1
  shift
  log "building in $BUILD_DIR"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKB_BUILD_TESTS=OFF \
      >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; die "cmake failed"; }
  elif ! has_ninja_target "$probe_target"; then
    cmake -S "$ROOT" -B "$BUILD_DIR" >"$WORK/cmake.log" 2>&1 ||
      { cat "$WORK/cmake.log" >&2; die "cmake failed"; }
  fi
  bounded 900 ninja -C "$BUILD_DIR" "$@" >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" >&2; die "building the benchmark tools failed"; }
}

# Brings BROKER up to date. A failed build only warns, since an existing binary still gives
# figures; no binary at all is fatal if `mode` is required rather than optional.
build_broker() {
  local mode=$1
  if [[ -z ${KB_BENCH_BROKER:-} ]] && has_ninja_target src/broker/kafka-broker &&
    ! bounded 900 ninja -C "$BUILD_DIR" src/broker/kafka-broker >>"$WORK/build.log" 2>&1; then
    tail -n 20 "$WORK/build.log" >&2
    log "warning: building kafka-broker failed; using the existing binary if there is one"
  fi
  [[ -x $BROKER || $mode == optional ]] || die "no broker binary at $BROKER"
}

# --- Machine -----------------------------------------------------------------------------------

# Percentage of CPU time spent busy over the next second, from /proc/stat.
cpu_busy_percent() {
  local before after total=0 idle field
  read -r -a before < <(grep '^cpu ' /proc/stat)
  sleep 1
  read -r -a after < <(grep '^cpu ' /proc/stat)
  for field in 1 2 3 4 5 6 7 8; do ((total += after[field] - before[field])) || true; done
  idle=$((after[4] + after[5] - before[4] - before[5]))
  echo $((total > 0 ? 100 * (total - idle) / total : 0))
}

# Two cores leave no headroom: anything else running shows up directly in the figures.
warn_if_busy() {
  local busy
  busy=$(cpu_busy_percent)
  if ((busy > 10)); then
    log "warning: the CPUs are ${busy}% busy before the benchmark: the figures will be noisy"
  fi
}

# A request/response ping-pong costs very different amounts when client and server share a CPU
# and when they do not; fixing the placement makes runs comparable. Sets SERVER_ON_CPU and
# CLIENT_ON_CPU (command prefixes, empty when unpinned) and PLACEMENT, which names the server
# and client sides `server_label` and `client_label`.
# shellcheck disable=SC2034  # the scripts read all three
choose_placement() {
  if [[ $PIN == 1 ]] && (($(nproc) >= 2)) && command -v taskset >/dev/null; then
    SERVER_ON_CPU=(taskset -c 1)
    CLIENT_ON_CPU=(taskset -c 0)
    PLACEMENT="$1 on CPU 1, $2 on CPU 0"
  else
    SERVER_ON_CPU=()
    CLIENT_ON_CPU=()
    PLACEMENT="unpinned"
  fi
}

# --- Servers -----------------------------------------------------------------------------------

# A port nothing on this host uses, below the ephemeral range so clients cannot take it.
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

# Waits up to 10 s for a line matching `pattern` in `file` and prints the port it captures;
# shows the file if process `pid` exits or never reports.
wait_for_port() {
  local pid=$1 file=$2 pattern=$3 port
  for _ in {1..100}; do
    port=$(sed -n "s/$pattern/\1/p" "$file" | head -n 1)
    if [[ -n $port ]]; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "process $pid did not report its port; its output:"
  tail -n 20 "$file" >&2
  return 1
}

# Starts BROKER on 127.0.0.1 with a port the kernel picks and log.dirs `log_dir` (further
# `key=value` arguments are added to its properties), on the server CPU, its output in
# $WORK/broker.log. Sets BROKER_PID (tracked in PIDS) and, once the broker logs its listener,
# BROKER_PORT; returns non-zero if it never does.
# shellcheck disable=SC2034  # BROKER_PORT is for the script
start_broker() {
  printf 'listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=%s\n' "$1" >"$WORK/broker.properties"
  shift
  if (($# > 0)); then printf '%s\n' "$@" >>"$WORK/broker.properties"; fi
  # Emptied here, not by the background child's redirection: wait_for_port could otherwise
  # read the previous broker's port from the old log before the child truncates it.
  : >"$WORK/broker.log"
  "${SERVER_ON_CPU[@]}" "$BROKER" "$WORK/broker.properties" >>"$WORK/broker.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  BROKER_PORT=$(wait_for_port "$BROKER_PID" "$WORK/broker.log" \
    '.*Listening on PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\).*')
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Raises the soft open-file limit to at least `count` (this shell and what it starts inherit it).
raise_open_file_limit() {
  local count=$1
  if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < count)); then
    ulimit -n "$count" 2>/dev/null || ulimit -n "$(ulimit -Hn)" ||
      die "cannot raise the open-file limit (hard limit: $(ulimit -Hn))"
  fi
  [[ $(ulimit -n) == unlimited ]] || (($(ulimit -n) >= count)) ||
    die "the open-file limit $(ulimit -n) is below the $count this benchmark needs"
}

# Sets BEFORE_KIB and WITH_KIB: the RSS of process `pid` before and while kb_load_generator (built
# with build_tools) holds `count` idle connections to `port`, `settle` seconds (default 1) after
# the last handshake. Returns non-zero if the connections could not be held.
# shellcheck disable=SC2034  # BEFORE_KIB and WITH_KIB are for the scripts
measure_idle_connections() {
  local pid=$1 port=$2 count=$3 settle=${4:-1} holder status=0
  BEFORE_KIB=$(rss_kib "$pid")
  : >"$WORK/idle.out"
  timeout --kill-after=5 $((settle + 40)) "$BUILD_DIR/bench/kb_load_generator" --host 127.0.0.1 \
    --port "$port" --idle "$count" --seconds $((settle + 3)) >"$WORK/idle.out" 2>"$WORK/idle.err" &
  holder=$!
  PIDS+=("$holder")
  for _ in {1..300}; do
    grep -q established "$WORK/idle.out" && break
    kill -0 "$holder" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q established "$WORK/idle.out"; then
    cat "$WORK/idle.err" >&2
    stop_process "$holder"
    return 1
  fi
  sleep "$settle" # The handshakes are done; give the server time to accept and set up each one.
  WITH_KIB=$(rss_kib "$pid")
  wait "$holder" || status=$?
  forget_process "$holder"
  if ((status != 0)); then
    cat "$WORK/idle.err" >&2
    return 1
  fi
}

# utime + stime of a process, in clock ticks (CLOCK_TICKS a second).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# shellcheck disable=SC2034  # for the scripts
CLOCK_TICKS=$(getconf CLK_TCK)
# shellcheck disable=SC2034
readonly CLOCK_TICKS

# --- Kafka's own tools (the Java lab) ----------------------------------------------------------

# Builds the Java lab (tests/integration/clients/java: Apache Kafka's jars from Maven Central) into
# JAVA_LAB_CACHE (KB_CLIENT_CACHE_DIR, default build/client-cache) on first use; later calls
# return at once unless the lab's files changed.
install_java_lab() {
  local tool
  for tool in java javac mvn; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh test installs it)"
  done
  log "building the Java lab into $JAVA_LAB_CACHE (downloads from Maven Central on first use)"
  bounded 900 "$ROOT/tests/integration/clients/java/install.sh" "$JAVA_LAB_CACHE" \
    >"$WORK/lab.log" 2>&1 || { tail -n 40 "$WORK/lab.log" >&2; die "building the Java lab failed"; }
}
JAVA_LAB_CACHE=${KB_CLIENT_CACHE_DIR:-$ROOT/build/client-cache}
readonly JAVA_LAB_CACHE

# The class path of one of the lab's jar sets (`4`: kafka-clients/tools 4.4.0; `server`: Kafka
# 4.4.0 itself with its tools), after the lab's own classes.
java_lab_classpath() {
  printf '%s:%s' "$JAVA_LAB_CACHE/java/build/classes" "$(cat "$JAVA_LAB_CACHE/java/classpath-$1.txt")"
}

# Writes Apache Kafka's single-node KRaft settings (broker and controller in one process, as its
# config/server.properties) to FILE: data in DIR, clients on PORT, the controller on
# CONTROLLER_PORT. Callers append what their run needs.
write_kafka_kraft_properties() {
  local file=$1 dir=$2 port=$3 controller_port=$4
  cat >"$file" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
EOF
}

# Writes a log4j2 configuration to FILE that sends Kafka's INFO log to standard output (which the
# scripts send to a file).
write_kafka_log4j2() {
  printf '%s\n' 'status = warn' 'appender.out.type = Console' 'appender.out.name = OUT' \
    'appender.out.layout.type = PatternLayout' 'appender.out.layout.pattern = [%d] %p %m (%c)%n' \
    'rootLogger.level = info' 'rootLogger.appenderRef.out.ref = OUT' >"$1"
}

# Runs Kafka tool `main` (a class under org.apache.kafka.tools) in its own JVM on the client CPU,
# as bin/*.sh starts it, with class path TOOLS_CLASSPATH; its output goes to OUT.
# shellcheck disable=SC2034  # OUT is for the scripts
kafka_tool() {
  local main=$1
  shift
  OUT=$(bounded 900 "${CLIENT_ON_CPU[@]}" java -Xmx1g -cp "$TOOLS_CLASSPATH" \
    "org.apache.kafka.tools.$main" "$@" 2>"$WORK/tool.err") ||
    { tail -n 20 "$WORK/tool.err" >&2; die "$main $* failed"; }
}

# kafka-producer-perf-test's summary, the last line of its output ("<n> records sent, <r>
# records/sec (<m> MB/sec), <avg> ms avg latency, <max> ms max latency, <p50> ms 50th, <p95> ms
# 95th, <p99> ms 99th, <p999> ms 99.9th."), as key=value fields for `field`.
producer_perf_fields() {
  tail -n 1 <<<"$1" | awk '{ gsub(/[(),]/, "");
    printf "records_per_sec=%s mb_per_sec=%s avg_ms=%s max_ms=%s p50_ms=%s p95_ms=%s p99_ms=%s p999_ms=%s\n",
      $4, $6, $8, $12, $16, $19, $22, $25 }'
}

# kafka-consumer-perf-test's result line (start.time, end.time, MB, MB.sec, nMsg, nMsg.sec,
# rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec) as key=value fields: the whole
# run's and the fetch phase's rates, and the group join time.
consumer_perf_fields() {
  tail -n 1 <<<"$1" | awk -F', ' '{
    printf "mb_per_sec=%s records_per_sec=%s join_ms=%s fetch_mb_per_sec=%s fetch_records_per_sec=%s\n",
      $4, $6, $7, $9, $10 }'
}

# --- Results -----------------------------------------------------------------------------------

# The value of `key` in a tool's result line of space-separated key=value fields.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# The median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- Charts ------------------------------------------------------------------------------------

# A script records the table it prints with chart_table and chart_row; with KB_BENCH_CHART set to
# a file name, write_chart draws it there as a PNG (bench/chart.py) once the run is over. The
# note under the chart's title (KB_BENCH_CHART_NOTE) should say where the figures come from; its
# default says only when and on how many CPUs they were measured.
CHART=${KB_BENCH_CHART:+$(realpath -m "$KB_BENCH_CHART")}
readonly CHART
# A machine already busier than its CPUs at the start says so: such figures are illustrative.
default_chart_note() {
  local load cpus
  load=$(cut -d' ' -f1 /proc/loadavg)
  cpus=$(nproc)
  printf 'measured %s on %s CPUs' "$(date -u '+%Y-%m-%d')" "$cpus"
  if awk -v l="$load" -v c="$cpus" 'BEGIN { exit !(l > c) }'; then
    printf ', loaded machine (load average %s): illustrative, not a performance claim' "$load"
  fi
}
CHART_NOTE=${KB_BENCH_CHART_NOTE:-$(default_chart_note)}
readonly CHART_NOTE

# Starts a table in the chart: `title`, then the row label's heading and the figure columns'
# names (with their units: each becomes a panel of its own).
chart_table() {
  [[ -n ${WORK:-} ]] || return 0
  local title=$1
  shift
  printf '#table\t%s\n' "$title" >>"$WORK/chart.tsv"
  (
    IFS=$'\t'
    printf '#columns\t%s\n' "$*"
  ) >>"$WORK/chart.tsv"
}

# One row of the current table: its label, then its figures in the columns' order.
chart_row() {
  [[ -n ${WORK:-} ]] || return 0
  (
    IFS=$'\t'
    printf '%s\n' "$*"
  ) >>"$WORK/chart.tsv"
}

# The chart's Python: matplotlib (pinned in chart-requirements.txt) in a virtual environment kept
# between runs. Prints plain python3 when it cannot be made, so callers can go on without charts.
readonly CHART_VENV=$ROOT/build/bench-venv
chart_python() {
  local stamp
  stamp=$(sha256sum "$ROOT/bench/chart-requirements.txt" | cut -d' ' -f1)
  if [[ ! -f $CHART_VENV/stamp || $(cat "$CHART_VENV/stamp") != "$stamp" ]]; then
    log "making $CHART_VENV (matplotlib from PyPI)"
    rm -rf "$CHART_VENV"
    if ! { python3 -m venv "$CHART_VENV" &&
      bounded 600 "$CHART_VENV/bin/pip" install -q --disable-pip-version-check --no-input \
        --only-binary=:all: -r "$ROOT/bench/chart-requirements.txt"; } >"$WORK/venv.log" 2>&1; then
      tail -n 20 "$WORK/venv.log" >&2
      log "warning: no matplotlib; the table is written without the chart"
      echo python3
      return
    fi
    echo "$stamp" >"$CHART_VENV/stamp"
  fi
  echo "$CHART_VENV/bin/python"
}

# Draws the recorded tables into KB_BENCH_CHART, if it is set. A chart that cannot be drawn only
# warns: the figures are already printed.
write_chart() {
  [[ -n $CHART ]] || return 0
  [[ -s $WORK/chart.tsv ]] || { log "warning: no table recorded for the chart"; return 0; }
  local python
  python=$(chart_python)
  if [[ $python == python3 ]]; then return 0; fi
  if "$python" "$ROOT/bench/chart.py" "$WORK/chart.tsv" "$CHART" "$CHART_NOTE"; then
    log "chart written: $CHART"
  else
    log "warning: the chart could not be drawn"
  fi
}
