#!/usr/bin/env bash
# Installs the Debian packages this project needs, only those missing.
#   scripts/install-deps.sh          build the broker
#   scripts/install-deps.sh test     build and run every test
#   scripts/install-deps.sh bench    build the benchmarks (librdkafka for the client benchmark)
set -euo pipefail

packages=(g++ cmake ninja-build pkgconf libspdlog-dev libfmt-dev zlib1g-dev libsnappy-dev liblz4-dev
  libzstd-dev libssl-dev)
if [ "${1:-}" = "test" ]; then
  packages+=(libgtest-dev python3 kcat python3-kafka python3-confluent-kafka clang-format clang
    libclang-rt-14-dev clang-tidy curl prometheus openssl)
  # (openssl: the TLS tests make their certificates with the command at test time.)
  # kafkajs comes from npm; any Node.js that brings npm will do.
  command -v npm >/dev/null || packages+=(nodejs npm)
  # @confluentinc/kafka-javascript builds its addon and librdkafka with make.
  command -v make >/dev/null || packages+=(make)
  # Kafka's tools and Java clients come from Maven Central (tests/integration/clients/java):
  # they need Java 17 and Maven.
  command -v javac >/dev/null || packages+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || packages+=(maven)
  # franz-go and Sarama (tests/integration/clients/go) need Go 1.26 or newer, as the machine
  # brings it: Debian 12's golang-go (1.19) cannot build them, so it is not installed here.
  # The Python lab (tests/integration/clients/python) makes a virtual environment
  # with Python 3.11's venv (Debian's python3-venv brings its ensurepip).
  python3.11 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
fi
if [ "${1:-}" = "bench" ]; then
  packages+=(librdkafka-dev openssl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "missing packages: ${missing[*]} (and no apt-get to install them)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
