#!/usr/bin/env bash
# bench/dcat.sh - how long the metadata exports of a large catalog take, and the server's
# memory while it writes them (issue 7: /data.json and /catalog.ttl of a 100,000-dataset
# catalog, < 2 s each, peak RSS < 100 MB).
#
# Generates BENCH_DATASETS datasets with bench/gen-catalog.py (as bench/api.sh does),
# loads them with `kaifang load`, serves the portal and fetches with curl:
#   - /data.json (DCAT-US, the whole catalog in one document) three times, identity, and
#     once gzipped; its dataset count is checked;
#   - /catalog.ttl?page=N (DCAT-AP, catalog_page_size datasets a page): the first, a
#     middle and the last page, three times each;
#   - every page of /catalog.ttl in turn over one keep-alive connection: the whole
#     catalog in Turtle;
# and reads the server's VmRSS/VmHWM (/proc/<pid>/status) before and after.
# Prints a Markdown report on stdout (for BENCHMARKS.md); progress on stderr.
#
# Environment:
#   KAIFANG_BIN      binary to measure (default build/kaifang, a RelWithDebInfo build)
#   BENCH_DATASETS   catalog size (default 100000)
#   BENCH_PORTAL     an already loaded portal to use instead (skips generating and loading;
#                    its kaifang.conf gets the keys below if it has none)
#   BENCH_KEEP=1     keep the work directory
#   BENCH_RESTARTS=N after the runs, N times: a new server on the same port (the same
#                    site URL) with files/dcat removed, and one on another port (a new
#                    site URL) with files/dcat removed: the first data.json of each, wall
#                    time and the server's CPU time (user + system, /proc/<pid>/stat)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build/kaifang}
N=${BENCH_DATASETS:-100000}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

command -v curl >/dev/null || { echo "bench/dcat.sh: curl not found" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench/dcat.sh: no kaifang binary at $BIN (make build)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/kaifang-bench-dcat.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench/dcat.sh: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { echo "bench/dcat.sh: $*" >&2; }
now() { date +%s.%N; }
elapsed() { $PY -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
median() { $PY -c "import sys, statistics; print('%.3f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

# The catalog options of the runs (a portal given without them gets them).
add_conf() {
    grep -q '^catalog_contact_email' "$PORTAL/kaifang.conf" 2>/dev/null || cat >>"$PORTAL/kaifang.conf" <<'EOF'
catalog_contact_email = opendata@example.gov
bureau_code = 015:11
program_code = 015:001
EOF
}

# ---- the portal -----------------------------------------------------------------------
if [ -n "${BENCH_PORTAL:-}" ]; then
    PORTAL=$BENCH_PORTAL
    LOADNOTE="- portal: \`$PORTAL\` (loaded before the run)"
else
    PORTAL=$WORK/portal
    log "generating $N datasets"
    t0=$(now)
    $PY "$ROOT/bench/gen-catalog.py" "$WORK/gen" "$N" 2>>"$WORK/gen.txt"
    t1=$(now)
    GENNOTE="generated $N dataset folders in $(elapsed "$t0" "$t1") s"
    "$BIN" init --portal "$PORTAL" >/dev/null 2>&1
    # Before the load: the entries kept in the store are made with these options
    # (docs/internals/dcat.md, "Speed and memory").
    add_conf
    log "loading $N datasets"
    t0=$(now)
    "$BIN" load "$WORK/gen" --portal "$PORTAL" >"$WORK/load.txt" 2>&1
    t1=$(now)
    LOADNOTE="- catalog: \`bench/gen-catalog.py\` $GENNOTE; \`kaifang load\` took $(elapsed "$t0" "$t1") s; kaifang.db $(du -sh "$PORTAL/kaifang.db" | cut -f1)"
fi
add_conf

# ---- the server --------------------------------------------------------------------------
"$BIN" serve --portal "$PORTAL" --listen 127.0.0.1:0 --access-log '' 2>"$WORK/serve.txt" &
SERVER_PID=$!
URL=""
for i in $(seq 1 600); do
    URL=$(sed -n 's#^kaifang: serving \(http://[^ ]*\)/$#\1#p' "$WORK/serve.txt" | head -1)
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.txt" >&2; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { log "server not ready"; exit 1; }
curl -sf "$URL/healthz" >/dev/null
RSS_START=$(status_kb "$SERVER_PID" VmRSS)

# fetch URL OUT [curl args…]: prints "total_seconds bytes".
fetch() {
    local url=$1 out=$2
    shift 2
    curl -sf -o "$out" -w '%{time_total} %{size_download}\n' "$@" "$url"
}

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); }

# ---- data.json ---------------------------------------------------------------------------
log "data.json"
times=()
for i in 1 2 3; do
    read -r t bytes < <(fetch "$URL/data.json" "$WORK/data.json" -H 'Accept-Encoding: identity')
    times+=("$t")
done
count=$($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['dataset']))" "$WORK/data.json")
[ "$count" -ge "$N" ] || { log "data.json holds $count datasets, expected $N or more"; exit 1; }
HWM_DATAJSON=$(status_kb "$SERVER_PID" VmHWM)
row "/data.json ($count datasets), identity" "${times[0]} / ${times[1]} / ${times[2]} s" \
    "$(median "${times[@]}") s" "$((bytes / 1048576)) MiB"
read -r t gzbytes < <(fetch "$URL/data.json" "$WORK/data.json.gz" -H 'Accept-Encoding: gzip')
row "/data.json, gzip (level 1, on the way)" "$t s" "$t s" "$((gzbytes / 1048576)) MiB"

# ---- catalog.ttl pages -------------------------------------------------------------------
PAGE_SIZE=$(awk -F' *= *' '$1 == "catalog_page_size" {print $2}' "$PORTAL/kaifang.conf")
PAGE_SIZE=${PAGE_SIZE:-100}
PAGES=$(( (count + PAGE_SIZE - 1) / PAGE_SIZE ))
for page in 1 $((PAGES / 2)) "$PAGES"; do
    log "catalog.ttl?page=$page"
    times=()
    for i in 1 2 3; do
        read -r t bytes < <(fetch "$URL/catalog.ttl?page=$page" "$WORK/page.ttl" -H 'Accept-Encoding: identity')
        times+=("$t")
    done
    row "/catalog.ttl?page=$page ($PAGE_SIZE datasets a page)" "${times[0]} / ${times[1]} / ${times[2]} s" \
        "$(median "${times[@]}") s" "$((bytes / 1024)) KiB"
done
log "every page of catalog.ttl ($PAGES)"
urls=()
for page in $(seq 1 "$PAGES"); do urls+=("$URL/catalog.ttl?page=$page"); done
t0=$(now)
curl -sf -H 'Accept-Encoding: identity' "${urls[@]}" >"$WORK/all.ttl"
t1=$(now)
row "every page of /catalog.ttl in turn ($PAGES requests, one connection)" "$(elapsed "$t0" "$t1") s" \
    "$(elapsed "$t0" "$t1") s" "$(( $(stat -c %s "$WORK/all.ttl") / 1048576 )) MiB"
HWM_END=$(status_kb "$SERVER_PID" VmHWM)

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || { log "kaifang serve exited $?"; exit 1; }
SERVER_PID=""

# ---- first data.json of new servers ----------------------------------------------------------
# serve_first PORT LABEL: a server on 127.0.0.1:PORT, its first data.json (wall s, server
# CPU s) as a row, then stopped.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
serve_first() {
    local port=$1 label=$2 pid c0 c1 t bytes
    "$BIN" serve --portal "$PORTAL" --listen "127.0.0.1:$port" --access-log '' 2>"$WORK/serve-$port.txt" &
    pid=$!
    for i in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/serve-$port.txt" >&2; exit 1; }
        sleep 0.1
    done
    c0=$(cpu_s "$pid")
    read -r t bytes < <(fetch "http://127.0.0.1:$port/data.json" "$WORK/first.json" -H 'Accept-Encoding: identity')
    c1=$(cpu_s "$pid")
    rows+=("| $label | $t s | server CPU $($PY -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$c0" "$c1") s, VmHWM $(( $(status_kb "$pid" VmHWM) / 1024 )) MiB | $((bytes / 1048576)) MiB |")
    kill -TERM "$pid"
    wait "$pid" || { log "kaifang serve exited $?"; exit 1; }
}
PORT_SAME=${URL##*:}
for r in $(seq 1 "${BENCH_RESTARTS:-0}"); do
    log "restart $r: same site URL, files/dcat removed"
    rm -rf "$PORTAL/files/dcat"
    serve_first "$PORT_SAME" "first /data.json of a new server, same site URL, files/dcat removed ($r)"
    log "restart $r: another site URL, files/dcat removed"
    rm -rf "$PORTAL/files/dcat"
    serve_first $((PORT_SAME + r)) "first /data.json of a new server, another site URL (port), files/dcat removed ($r)"
done

# ---- report --------------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
cat <<EOF
### Run of $(date -u +%Y-%m-%dT%H:%MZ)

Machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)
at the end. Binary: \`$BIN\` ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo "?")).
Server: \`kaifang serve --listen 127.0.0.1:0 --access-log ''\`; client: curl on the same machine,
\`curl -s -o FILE -w '%{time_total}' -H 'Accept-Encoding: identity' URL\` (wall time from the request to the
last byte received).
$LOADNOTE

| what | runs | median | size |
| --- | ---: | ---: | ---: |
$(printf '%s\n' "${rows[@]}")

- server RSS after start: $((RSS_START / 1024)) MiB; peak (VmHWM) after the data.json runs:
  $((HWM_DATAJSON / 1024)) MiB; at the end: $((HWM_END / 1024)) MiB
EOF
