#!/usr/bin/env bash
# Runs every libFuzzer harness (tests/fuzz/fuzz-*.c) for a bounded time under
# AddressSanitizer + UndefinedBehaviorSanitizer, starting from its corpus. `make test`
# runs it with FUZZ_SECONDS=10 per harness; `make fuzz-long FUZZ_SECONDS=600` searches
# longer. JOBS harnesses run at once (default: the cores). New inputs go to a scratch
# directory, never into the committed corpus; a crash leaves its input in
# build-fuzz/crashes/ and fails the run.
#   scripts/fuzz-short.sh [HARNESS…]   (names as in tests/fuzz/fuzz-<name>.c; default all)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-10}
JOBS=${JOBS:-$(nproc)}

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in tests/fuzz/fuzz-*.c; do
        n=$(basename "$f" .c)
        names+=("${n#fuzz-}")
    done
fi

CC=clang cmake -S . -B "$BUILD_FUZZ" -DCMAKE_BUILD_TYPE=Debug -DKAIFANG_FUZZ=ON \
    -DKAIFANG_SANITIZE=ON >/dev/null
targets=()
for n in "${names[@]}"; do targets+=("fuzz-$n"); done
cmake --build "$BUILD_FUZZ" -j "$JOBS" --target "${targets[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$BUILD_FUZZ/crashes"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One harness: 0 when it found nothing; its log's tail on stderr when it failed.
run_one() {
    local n=$1 corpus=tests/fuzz/corpus/$1 work=$scratch/$1 dict=()
    mkdir -p "$work"
    [ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
    echo "fuzz-short: $n for ${SECONDS_EACH}s"
    if ! "$BUILD_FUZZ/fuzz-$n" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=0 \
        -artifact_prefix="$BUILD_FUZZ/crashes/$n-" "$work" "$corpus" >"$scratch/$n.log" 2>&1; then
        echo "fuzz-short: $n FAILED; the log follows" >&2
        tail -n 60 "$scratch/$n.log" >&2
        return 1
    fi
}

# JOBS harnesses at a time (each fuzzer is one process on one core).
failed=0
running=0
for n in "${names[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    run_one "$n" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
exit $failed
