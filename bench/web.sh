#!/usr/bin/env bash
# bench/web.sh - HTTP throughput and latency of the web portal's HTML pages, with wrk,
# and the home page's weight.
#
# Measures the home page, search pages and a dataset page on the demo catalog
# (examples/catalog) and on a generated one (bench/gen-catalog.py, BENCH_DATASETS
# datasets, 100,000 by default, loaded with `kaifang load`). Also reports what a browser
# transfers for the home page (the HTML gzip'ed as served, plus its stylesheet) and
# whether the home page has any script (none may block rendering).
#
# Prints a Markdown report on stdout (paste it into BENCHMARKS.md); progress on stderr.
#
# Environment:
#   KAIFANG_BIN          binary to measure (default: build/kaifang, a RelWithDebInfo build)
#   BENCH_DATASETS       generated catalog size (default 100000; 0 skips it)
#   BENCH_DURATION       wrk duration per page (default 10s)
#   BENCH_CONNECTIONS    wrk connections (default 32)
#   BENCH_WRK_THREADS    wrk threads (default 2)
#   BENCH_KEEP=1         keep the work directory (portals, logs) for inspection
#   BENCH_FRESH=1        every request misses the page cache (bench/fresh.lua adds a query
#                        argument of its own to each): what a first view after a write costs
#                        (the rows "per request" always do: bench/vary.lua's page and
#                        results modes, a random dataset or a random word and page)
#   BENCH_PORTAL=DIR     an existing portal holding the generated catalog (gen-NNNNNN of
#                        bench/gen-catalog.py, BENCH_DATASETS of them) instead of generating
#                        and loading one; it is served as it is (a newer binary migrates it)
#
# Needs wrk (scripts/install-deps.sh --bench), curl and python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build/kaifang}
N=${BENCH_DATASETS:-100000}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

command -v wrk >/dev/null 2>&1 || {
    echo "bench/web.sh: wrk not found (scripts/install-deps.sh --bench)" >&2
    exit 1
}
[ -x "$BIN" ] || { echo "bench/web.sh: no kaifang binary at $BIN (make build)" >&2; exit 1; }

# The source revision, read now: the tree may move while the benchmark runs.
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
WORK=$(mktemp -d /tmp/kaifang-bench-web.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench/web.sh: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { echo "bench/web.sh: $*" >&2; }

start_server() {
    local portal=$1 name=$2 err="$WORK/$2.stderr" i
    "$BIN" serve --portal "$portal" --listen 127.0.0.1:0 --access-log '' 2>"$err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for i in $(seq 1 600); do
        SERVER_URL=$(sed -n 's#^kaifang: serving \(http://[^ ]*\)/$#\1#p' "$err" | head -1)
        [ -n "$SERVER_URL" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$err" >&2; exit 1; }
        sleep 0.1
    done
    log "server $name not ready"; cat "$err" >&2; exit 1
}

stop_server() {
    kill -TERM "$1"
    wait "$1" || { log "kaifang serve exited $?"; exit 1; }
}

# The server's CPU time so far, user + sys, in clock ticks (/proc/PID/stat fields 14, 15).
cpu_ticks() {
    awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}

# bench LABEL URL [MODE]: one wrk run (browser-like headers: gzip, English) after a 2 s
# warm-up; appends a row to $WORK/rows.md with the server's CPU time (user + sys) over
# the run, per request, and the load average at its end. MODE: a bench/vary.lua mode
# (a different URL per request, URL then only gives the host); else with BENCH_FRESH=1
# bench/fresh.lua (the URL with an argument of its own per request).
bench() {
    local label=$1 url=$2 mode=${3:-} out="$WORK/wrk-$(echo "$1" | tr -c 'a-zA-Z0-9' '_').txt"
    local h=(-H 'Accept-Encoding: gzip' -H 'Accept-Language: en-GB,en;q=0.9') args=()
    if [ -n "$mode" ]; then
        h+=(-s "$ROOT/bench/vary.lua")
        args=(-- "$mode" "$N")
    elif [ "${BENCH_FRESH:-0}" = 1 ]; then
        h+=(-s "$ROOT/bench/fresh.lua")
    fi
    curl -sf -o /dev/null "$url" || { log "$label: $url does not answer 200"; exit 1; }
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s "${h[@]}" "$url" "${args[@]}" >/dev/null
    local c0 c1 hz
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$SERVER_PID")
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "${h[@]}" "$url" "${args[@]}" >"$out"
    c1=$(cpu_ticks "$SERVER_PID")
    if grep -q "Non-2xx" "$out"; then
        log "$label: non-2xx responses:"; cat "$out" >&2; exit 1
    fi
    local rps p50 p99 reqs errs cpu per load
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    errs=$(awk -F'Socket errors: ' '/Socket errors/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    reqs=$(awk '/requests in/ {print $1}' "$out")
    cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
    per=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.3f ms", n ? (b - a) / hz * 1000 / n : 0}')
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    printf '| %s | %s | %s | %s | %s | %s s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "$reqs" "$cpu" "$per" "$load" "${errs:-none}" >>"$WORK/rows.md"
    log "$label: $rps req/s, p50 $p50, p99 $p99, server CPU $cpu s ($per per request), load $load"
}

# weight URL LABEL: bytes a browser transfers for the home page (gzip'ed HTML, the
# stylesheet) and the scripts it has.
weight() {
    local url=$1 label=$2 html css scripts raw
    html=$(curl -sf -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url/")
    raw=$(curl -sf -o /dev/null -w '%{size_download}' "$url/")
    css=$(curl -sf -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url/static/kaifang.css")
    scripts=$(curl -sf "$url/" | grep -c '<script' || true)
    echo "- $label home page: $html B of HTML as sent with gzip ($raw B uncompressed) + $css B of stylesheet = $((html + css)) B transferred; <script> elements: $scripts" >>"$WORK/notes.md"
}

: >"$WORK/rows.md"
: >"$WORK/notes.md"

log "demo catalog: init + load examples/catalog"
"$BIN" init --portal "$WORK/demo" >/dev/null 2>&1
"$BIN" load "$ROOT/examples/catalog" --portal "$WORK/demo" >"$WORK/demo-load.txt" 2>&1
start_server "$WORK/demo" demo
DEMO_PID=$SERVER_PID
U=$SERVER_URL
weight "$U" "demo"
bench "demo: / (home)" "$U/"
bench "demo: /dataset?q=weather" "$U/dataset?q=weather"
bench "demo: /dataset?q=美国 (US)" "$U/dataset?q=%E7%BE%8E%E5%9B%BD"
bench "demo: /dataset (all, 5 facets)" "$U/dataset"
bench "demo: /dataset/noaa-seattle-daily-weather" "$U/dataset/noaa-seattle-daily-weather"
RID=$(curl -sf "$U/api/3/action/package_show?id=noaa-seattle-daily-weather" |
      $PY -c 'import json,sys; print(json.load(sys.stdin)["result"]["resources"][0]["id"])')
bench "demo: resource page (25-row preview)" "$U/dataset/noaa-seattle-daily-weather/resource/$RID"
stop_server "$DEMO_PID"

if [ "$N" -gt 0 ]; then
    if [ -n "${BENCH_PORTAL:-}" ]; then
        BIG=$BENCH_PORTAL
        # Its files into the OS page cache first, as a freshly loaded portal's are: a
        # copied portal read from disk measures the disk.
        cat "$BIG"/*.db >/dev/null 2>&1 || true
    else
        BIG=$WORK/big
        log "generating $N datasets"
        $PY "$ROOT/bench/gen-catalog.py" "$WORK/gen" "$N" 2>>"$WORK/gen.txt"
        "$BIN" init --portal "$BIG" >/dev/null 2>&1
        log "loading $N datasets"
        "$BIN" load "$WORK/gen" --portal "$BIG" >"$WORK/big-load.txt" 2>&1
    fi
    start_server "$BIG" big
    BIG_PID=$SERVER_PID
    U=$SERVER_URL
    MID=$(printf 'gen-%06d' $((N / 2)))
    weight "$U" "$N-dataset"
    bench "$N: / (home)" "$U/"
    bench "$N: /dataset?q=transport" "$U/dataset?q=transport"
    bench "$N: /dataset?q=交通 (2 CJK chars)" "$U/dataset?q=%E4%BA%A4%E9%80%9A"
    bench "$N: /dataset?q=transport&page=3" "$U/dataset?q=transport&page=3"
    bench "$N: /dataset (all, 5 facets)" "$U/dataset"
    bench "$N: /dataset/$MID" "$U/dataset/$MID"
    bench "$N: /dataset/gen-NNNNNN, a random one per request" "$U/" page
    bench "$N: /dataset?q=WORD&page=P, a random word and page per request" "$U/" results
    stop_server "$BIG_PID"
fi

echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM. Binary: \`$BIN\` (built from $REV, if it was built from this tree)."
echo "wrk: \`wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency -H 'Accept-Encoding: gzip' -H 'Accept-Language: en-GB,en;q=0.9'$([ "${BENCH_FRESH:-0}" = 1 ] && echo " -s bench/fresh.lua") URL\` after a 2 s warm-up; server: \`kaifang serve --listen 127.0.0.1:0 --access-log ''\`. wrk and the server share the machine."
echo
echo "| page | requests/s | p50 | p99 | requests | server CPU (user+sys) | CPU per request | load average (1, 5, 15 min) | wrk socket errors |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
cat "$WORK/rows.md"
echo
cat "$WORK/notes.md"
