#!/usr/bin/env bash
# bench/search-uncached.sh - the cache-missing rows of bench/api.sh ("per request",
# bench/vary.lua) against an existing portal, without regenerating and reloading it.
#
#   bench/search-uncached.sh PORTAL [MODE...]
#
# PORTAL: a portal loaded with bench/gen-catalog.py's catalog (kaifang init + kaifang
# load); the binary may migrate its database, so use a copy when comparing binaries.
# MODE: show, search, facets (default: all three), as in bench/vary.lua.
# Environment: KAIFANG_BIN (default build-perf/kaifang), BENCH_DURATION (10s),
# BENCH_CONNECTIONS (32), BENCH_WRK_THREADS (2), BENCH_DATASETS (100000).
# Prints one Markdown row per mode, as bench/api.sh does.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build-perf/kaifang}
PORTAL=${1:?usage: bench/search-uncached.sh PORTAL [MODE...]}
shift
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(show search facets)
N=${BENCH_DATASETS:-100000}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}

ERR=$(mktemp /tmp/kaifang-search-bench.XXXXXX)
"$BIN" serve --portal "$PORTAL" --listen 127.0.0.1:0 --access-log '' 2>"$ERR" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -f "$ERR" "$ERR.out"' EXIT
URL=
for _ in $(seq 1 600); do
    URL=$(sed -n 's#^kaifang: serving \(http://[^ ]*\)/$#\1#p' "$ERR" | head -1)
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$ERR" >&2; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { echo "server not ready" >&2; exit 1; }

for mode in "${MODES[@]}"; do
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -s "$ROOT/bench/vary.lua" "$URL" -- "$mode" "$N" >/dev/null
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$ROOT/bench/vary.lua" "$URL" \
        -- "$mode" "$N" >"$ERR.out"
    if grep -q "Non-2xx" "$ERR.out"; then
        cat "$ERR.out" >&2
        exit 1
    fi
    printf '| %s | %s | %s | %s | %s |\n' "$mode" \
        "$(awk '/^Requests\/sec:/ {print $2}' "$ERR.out")" \
        "$(awk '$1 == "50%" {print $2}' "$ERR.out")" \
        "$(awk '$1 == "99%" {print $2}' "$ERR.out")" \
        "$(awk '/requests in/ {print $1}' "$ERR.out")"
done
