#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build/fuzz) and runs each for
# a bounded time on a copy of its seed corpus (fuzz/corpus/<target>).
#   scripts/fuzz.sh              30 s per target
#   scripts/fuzz.sh 600          10 minutes per target
#   scripts/fuzz.sh 30 request   only the named targets
#   scripts/fuzz.sh --seeds      regenerate fuzz/corpus with the project's encoders (keeping
#                                the regression-* reproducers)
#   scripts/fuzz.sh --coverage   line coverage of src/ by each target's corpus (the seeds plus
#                                what the last run found, build/fuzz/corpus), via llvm-cov
# A crash, sanitizer report, timeout (a hang) or an allocation over the bounds
# below fails the run; the reproducer is left in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/fuzz
jobs=$(nproc)
if [ -n "${CCACHE_DIR:-}" ] && command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
else
  launcher=()
fi
CC=clang CXX=clang++ cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DKB_FUZZ=ON \
  -DKB_BUILD_TESTS=OFF -DKB_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$jobs"

if [ "${1:-}" = "--seeds" ]; then
  # Reproducers of fixed bugs (regression-*) are kept: no encoder writes them.
  [ -d fuzz/corpus ] && find fuzz/corpus -type f ! -name 'regression-*' -delete
  "$build"/fuzz/fuzz_seed_generator fuzz/corpus
  exit 0
fi

all_targets=(frame request message record_batch metadata_log segment_recovery properties sasl)

if [ "${1:-}" = "--coverage" ]; then
  cov=build/fuzz-coverage
  CC=clang CXX=clang++ cmake -G Ninja -S . -B "$cov" -DCMAKE_BUILD_TYPE=Debug -DKB_FUZZ=ON \
    -DKB_BUILD_TESTS=OFF -DKB_BUILD_BENCH=OFF "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
    -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
  cmake --build "$cov" -j "$jobs"
  [ -w /dev/shm ] && export TMPDIR=/dev/shm
  rm -f "$cov"/*.profraw
  objects=()
  for t in "${all_targets[@]}"; do
    corpora=(fuzz/corpus/"$t")
    [ -d "$build/corpus/$t" ] && corpora+=("$build/corpus/$t")
    LLVM_PROFILE_FILE="$cov/$t.profraw" ASAN_OPTIONS=detect_leaks=0 \
      "$cov/fuzz/${t}_fuzzer" -runs=0 "${corpora[@]}" >/dev/null 2>&1
    objects+=(-object "$cov/fuzz/${t}_fuzzer")
  done
  llvm-profdata-14 merge -sparse "$cov"/*.profraw -o "$cov/all.profdata"
  echo "== Line coverage of src/ by the fuzz corpora (all targets together)"
  llvm-cov-14 report "${objects[@]:1}" -instr-profile="$cov/all.profdata" \
    "$(pwd)/src" | awk 'NR <= 2 || /^TOTAL/ || /\.cpp/' | sed "s|$(pwd)/||"
  exit 0
fi

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

mkdir -p "$build/artifacts"
# The storage targets write small log directories per input; on tmpfs their
# fsyncs cost nothing.
[ -w /dev/shm ] && export TMPDIR=/dev/shm
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  rm -rf "$work"
  mkdir -p "$work"
  cp fuzz/corpus/"$t"/* "$work"/
  echo "== fuzz $t (${seconds} s)"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb/-malloc_limit_mb:
  # memory beyond these is a bug (no input justifies it).
  if ! "$build/fuzz/${t}_fuzzer" "$work" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" 2>"$build/$t.log"; then
    failed+=("$t")
    tail -n 60 "$build/$t.log"
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
    "$build/$t.log" | tr '\n' ' ' || true
  echo
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]} (reproducers in $build/artifacts/)" >&2
  exit 1
fi
