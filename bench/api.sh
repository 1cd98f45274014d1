#!/usr/bin/env bash
# bench/api.sh - HTTP throughput and latency of the CKAN Action API, with wrk.
#
# Measures package_show and package_search on two catalogs: the demo catalog
# (examples/catalog, 21 real datasets) and a generated one (bench/gen-catalog.py,
# BENCH_DATASETS datasets, 100,000 by default, loaded with `kaifang load`). In the same run,
# nginx serves the very bytes of one package_show response as a static file: the ceiling
# for this machine, wrk and loopback.
#
# Prints a Markdown report on stdout (paste it into BENCHMARKS.md); progress on stderr.
#
# Environment:
#   KAIFANG_BIN          binary to measure (default: build/kaifang, a RelWithDebInfo build)
#   BENCH_DATASETS       generated catalog size (default 100000; 0 skips it)
#   BENCH_DURATION       wrk duration per endpoint (default 10s)
#   BENCH_CONNECTIONS    wrk connections (default 32)
#   BENCH_WRK_THREADS    wrk threads (default 2)
#   BENCH_SERVER_THREADS kaifang serve --threads (default: kaifang's default)
#   BENCH_KEEP=1         keep the work directory (portals, logs) for inspection
#
# Needs wrk and nginx (scripts/install-deps.sh --bench) and python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build/kaifang}
N=${BENCH_DATASETS:-100000}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_SERVER_THREADS:-}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

for tool in wrk nginx; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench/api.sh: $tool not found (scripts/install-deps.sh --bench)" >&2
        exit 1
    }
done
[ -x "$BIN" ] || { echo "bench/api.sh: no kaifang binary at $BIN (make build)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/kaifang-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench/api.sh: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { echo "bench/api.sh: $*" >&2; }

now() { date +%s.%N; }
elapsed() { $PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server PORTAL NAME: starts kaifang serve, sets SERVER_PID and SERVER_URL.
start_server() {
    local portal=$1 name=$2 err="$WORK/$2.stderr" i
    local args=(serve --portal "$portal" --listen 127.0.0.1:0 --access-log '')
    [ -n "$SERVER_THREADS" ] && args+=(--threads "$SERVER_THREADS")
    "$BIN" "${args[@]}" 2>"$err" &
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

vm_hwm() { awk '/^VmHWM/ {print $2 " " $3}' "/proc/$1/status"; }

# bench LABEL URL [MODE N]: one wrk run; appends a row to $WORK/rows.md. With MODE,
# bench/vary.lua makes every request's URL different (cache misses).
bench() {
    local label=$1 url=$2 out="$WORK/wrk-$(echo "$1" | tr -c 'a-zA-Z0-9' '_').txt"
    local script=()
    [ $# -ge 3 ] && script=(-s "$ROOT/bench/vary.lua")
    shift 2
    # Warm up (caches, connections), then measure.
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s "${script[@]}" "$url" ${1:+-- "$@"} >/dev/null
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "${script[@]}" "$url" ${1:+-- "$@"} >"$out"
    if grep -q "Non-2xx" "$out"; then
        log "$label: non-2xx responses:"; cat "$out" >&2; exit 1
    fi
    local rps p50 p99 reqs errs
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    errs=$(awk -F'Socket errors: ' '/Socket errors/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    reqs=$(awk '/requests in/ {print $1}' "$out")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "$reqs" "${errs:-none}" >>"$WORK/rows.md"
    log "$label: $rps req/s, p50 $p50, p99 $p99"
}

: >"$WORK/rows.md"
: >"$WORK/notes.md"

# ---- The demo catalog ---------------------------------------------------------------
log "demo catalog: init + load examples/catalog"
"$BIN" init --portal "$WORK/demo" >/dev/null 2>&1
t0=$(now)
"$BIN" load "$ROOT/examples/catalog" --portal "$WORK/demo" >"$WORK/demo-load.txt" 2>&1
t1=$(now)
echo "- demo catalog (examples/catalog, $(ls "$ROOT"/examples/catalog/*/metadata.json | wc -l) datasets): \`kaifang load\` took $(elapsed "$t0" "$t1") s" >>"$WORK/notes.md"

start_server "$WORK/demo" demo
DEMO_PID=$SERVER_PID
DEMO_URL=$SERVER_URL
SHOW_ID=noaa-seattle-daily-weather
curl -sf "$DEMO_URL/api/3/action/package_show?id=$SHOW_ID" >"$WORK/package_show.json"
bench "demo: package_show?id=$SHOW_ID" "$DEMO_URL/api/3/action/package_show?id=$SHOW_ID"
bench "demo: package_search?q=weather" "$DEMO_URL/api/3/action/package_search?q=weather"
bench "demo: package_search?q=美国 (US)" "$DEMO_URL/api/3/action/package_search?q=%E7%BE%8E%E5%9B%BD"
bench "demo: package_search facets (tags, organization, license_id)" \
    "$DEMO_URL/api/3/action/package_search?rows=0&facet.field=%5B%22tags%22%2C%22organization%22%2C%22license_id%22%5D"
echo "- demo server peak RSS (VmHWM): $(vm_hwm "$DEMO_PID")" >>"$WORK/notes.md"
stop_server "$DEMO_PID"

# ---- nginx serving the same package_show bytes: the ceiling -----------------------
NGX="$WORK/nginx"
mkdir -p "$NGX/www" "$NGX/logs" "$NGX/tmp"
cp "$WORK/package_show.json" "$NGX/www/package_show.json"
NGX_PORT=$(free_port)
cat >"$NGX/nginx.conf" <<EOF
user root;
worker_processes auto;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $NGX/www;
        location / { default_type application/json; }
    }
}
EOF
nginx -p "$NGX" -c "$NGX/nginx.conf" -g 'daemon off;' 2>"$NGX/logs/stderr" &
NGX_PID=$!
PIDS+=("$NGX_PID")
for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$NGX_PORT/package_show.json" >/dev/null && break
    sleep 0.1
done
cmp -s "$NGX/www/package_show.json" <(curl -sf "http://127.0.0.1:$NGX_PORT/package_show.json") ||
    { log "nginx does not serve the file"; exit 1; }
bench "nginx: the same package_show bytes as a static file ($(wc -c <"$NGX/www/package_show.json") B)" \
    "http://127.0.0.1:$NGX_PORT/package_show.json"
kill -TERM "$NGX_PID"
wait "$NGX_PID" || true

# ---- A generated catalog -------------------------------------------------------------
if [ "$N" -gt 0 ]; then
    log "generating $N datasets"
    t0=$(now)
    $PY "$ROOT/bench/gen-catalog.py" "$WORK/gen" "$N" 2>>"$WORK/gen.txt"
    t1=$(now)
    echo "- generated catalog: \`bench/gen-catalog.py\` wrote $N dataset folders (1 in 100 with a CSV) in $(elapsed "$t0" "$t1") s" >>"$WORK/notes.md"
    "$BIN" init --portal "$WORK/big" >/dev/null 2>&1
    log "loading $N datasets"
    t0=$(now)
    "$BIN" load "$WORK/gen" --portal "$WORK/big" >"$WORK/big-load.txt" 2>&1
    t1=$(now)
    echo "- \`kaifang load\` of the generated catalog: $(elapsed "$t0" "$t1") s ($(tail -1 "$WORK/big-load.txt" | tr -d '\r' | sed 's/.*\r//'))" >>"$WORK/notes.md"
    echo "- portal size after load: $(du -sh "$WORK/big" | cut -f1) (kaifang.db $(du -sh "$WORK/big/kaifang.db" | cut -f1))" >>"$WORK/notes.md"
    start_server "$WORK/big" big
    BIG_PID=$SERVER_PID
    BIG_URL=$SERVER_URL
    MID=$(printf 'gen-%06d' $((N / 2)))
    bench "$N: package_show?id=$MID" "$BIG_URL/api/3/action/package_show?id=$MID"
    bench "$N: package_search?q=transport (1 word in ~5%)" "$BIG_URL/api/3/action/package_search?q=transport"
    bench "$N: package_search?q=交通 (2 CJK chars)" "$BIG_URL/api/3/action/package_search?q=%E4%BA%A4%E9%80%9A"
    bench "$N: package_search?q=tags:year-2010&sort=metadata_modified desc" \
        "$BIG_URL/api/3/action/package_search?q=tags:year-2010&sort=metadata_modified%20desc"
    bench "$N: package_search (all) facets tags+organization" \
        "$BIG_URL/api/3/action/package_search?rows=0&facet.field=%5B%22tags%22%2C%22organization%22%5D"
    bench "$N: package_show, random id per request" "$BIG_URL" show "$N"
    bench "$N: package_search, random word (EN/ZH) and page per request" "$BIG_URL" search "$N"
    bench "$N: package_search facets, random word+year per request" "$BIG_URL" facets "$N"
    echo "- $N-dataset server peak RSS (VmHWM): $(vm_hwm "$BIG_PID")" >>"$WORK/notes.md"
    stop_server "$BIG_PID"
fi

# ---- Report ------------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
cat <<EOF
### Run of $(date -u +%Y-%m-%dT%H:%MZ)

Machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr). Binary: \`$BIN\`
($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo "?")). wrk: \`wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency URL\`
after a 2 s warm-up; server: \`kaifang serve --listen 127.0.0.1:0 --access-log ''${SERVER_THREADS:+ --threads $SERVER_THREADS}\`.
wrk, the server and nginx share the same $(nproc) CPUs. Rows with one fixed URL repeat the
same request, which Kaifang's response cache answers after the first time (an anonymous
GET of a cacheable action); rows marked "per request" use \`bench/vary.lua\` so that almost
every request misses that cache.

| endpoint | requests/s | p50 | p99 | requests | wrk socket errors |
| --- | ---: | ---: | ---: | ---: | --- |
$(cat "$WORK/rows.md")

$(cat "$WORK/notes.md")
EOF
