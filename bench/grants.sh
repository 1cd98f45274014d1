#!/usr/bin/env bash
# bench/grants.sh - the cost of a restricted read: datastore_search under a grant (the
# grant check, the narrowing of the parameters, and the restricted_read ledger entry
# committed before the rows leave) against the same datastore_search on a public copy of
# the table (issue 8: target < 20 % overhead).
#
# Two datasets in one portal with the same 10,000-row table (region, year, value, name):
# one public, one "restricted public" with an approved grant (columns region, year,
# value; rows of 20 of the 50 regions). The same query on both: filters {"region":
# "r07"}, fields region,year,value, limit 10, with wrk on one connection (per-request
# latency) and on 4. The public query is measured anonymous and with a signed-in
# caller's token (the grantee's: the token lookup, memberships and roles are part of
# both).
#
# Each wrk run also reads the server's CPU time (utime + stime from /proc) before and
# after, reported per request: on a machine shared with other work, wall time moves with
# the load, CPU time much less. The store's counters (meta 'version' and 'catalog')
# before and after give the commits made during the runs: one restricted read's entry per
# commit without group commit, fewer commits than entries with it.
#
# Prints a Markdown report on stdout; progress on stderr.
#
# Environment:
#   KAIFANG_BIN     binary to measure (default: build/kaifang, a RelWithDebInfo build)
#   BENCH_DURATION  wrk duration per run (default 10s)
#   BENCH_ROWS      rows of each table (default 10000)
#   BENCH_ROUNDS    interleaved rounds; each figure is their median (default 3)
#   BENCH_THREADS   the server's worker threads (kaifang.conf "threads"; default: the
#                   server's own, the number of CPUs)
#   BENCH_CONNS     the wrk connection counts to measure (default "1 4")
#   BENCH_KEEP=1    keep the work directory
#
# Needs wrk (scripts/install-deps.sh --bench) and python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build/kaifang}
DURATION=${BENCH_DURATION:-10s}
ROWS=${BENCH_ROWS:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-1 4}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
command -v wrk >/dev/null 2>&1 || { echo "bench/grants.sh: wrk not found (scripts/install-deps.sh --bench)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench/grants.sh: no kaifang binary at $BIN (make build)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/kaifang-bench-grants.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench/grants.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "bench/grants.sh: $*" >&2; }

P=$WORK/portal
k() { "$BIN" "$@" --portal "$P"; }
k init >/dev/null 2>&1
for u in editor approver grantee; do k user add "$u" >/dev/null; done
k organization add bench-org >/dev/null
k member add bench-org editor editor
k role add approver approver --org bench-org
k role add grantee grantee
[ -n "${BENCH_THREADS:-}" ] && echo "threads = $BENCH_THREADS" >>"$P/kaifang.conf"
EDITOR=$(k token create editor 2>/dev/null)
APPROVER=$(k token create approver 2>/dev/null)
GRANTEE=$(k token create grantee 2>/dev/null)

"$BIN" serve --portal "$P" --listen 127.0.0.1:0 --access-log '' 2>"$WORK/serve.stderr" &
SERVER_PID=$!
for i in $(seq 1 300); do
    URL=$(sed -n 's#^kaifang: serving \(http://[^ ]*\)/$#\1#p' "$WORK/serve.stderr" | head -1)
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.stderr" >&2; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { log "server not ready"; exit 1; }
log "serving $URL; loading two tables of $ROWS rows"

read -r PUB RES < <(URL=$URL EDITOR=$EDITOR APPROVER=$APPROVER ROWS=$ROWS $PY - <<'PYEOF'
import datetime, json, os, urllib.request
url, ed, ap, n = os.environ["URL"], os.environ["EDITOR"], os.environ["APPROVER"], int(os.environ["ROWS"])
def call(action, tok, **p):
    req = urllib.request.Request(url + "/api/3/action/" + action, data=json.dumps(p).encode(),
                                 headers={"Authorization": tok, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["result"]
fields = [{"id": "region", "type": "text"}, {"id": "year", "type": "int"},
          {"id": "value", "type": "numeric"}, {"id": "name", "type": "text"}]
rows = [{"region": "r%02d" % (i % 50), "year": 2000 + i % 20, "value": "%d.%02d" % (i, i % 100),
         "name": "person %d" % i} for i in range(n)]
rids = []
for level in ("public", "restricted public"):
    d = call("package_create", ed, name="bench-" + level.replace(" ", "-"), owner_org="bench-org", access_level=level)
    rid = call("datastore_create", ed, resource={"package_id": d["id"], "name": "t"}, fields=fields,
               records=rows[:2000], indexes="region")["resource_id"]
    for i in range(2000, n, 2000):
        call("datastore_upsert", ed, resource_id=rid, records=rows[i:i + 2000], method="insert")
    rids.append(rid)
today = datetime.date.today()
g = call("grant_request", ed, dataset="bench-restricted-public", grantee="grantee", purpose="benchmark",
         legal_basis="none", columns=["region", "year", "value"],
         filters={"region": ["r%02d" % i for i in range(20)]},
         valid_from=(today - datetime.timedelta(days=1)).isoformat(),
         valid_until=(today + datetime.timedelta(days=1)).isoformat())
call("grant_approve", ap, id=g["id"])
print(rids[0], rids[1])
PYEOF
)

Q='filters=%7B%22region%22%3A%22r07%22%7D&fields=region,year,value&limit=10'
entries() { curl -s "$URL/ledger/checkpoint" | sed -n 2p; }
# One check that both answer the same rows before measuring.
a=$(curl -sf "$URL/api/3/action/datastore_search?resource_id=$PUB&$Q" | $PY -c 'import json,sys; print(json.load(sys.stdin)["result"]["records"])')
b=$(curl -sf -H "Authorization: $GRANTEE" "$URL/api/3/action/datastore_search?resource_id=$RES&$Q" | $PY -c 'import json,sys; print(json.load(sys.stdin)["result"]["records"])')
[ "$a" = "$b" ] || { log "the two tables answer differently: $a / $b"; exit 1; }

# The server's CPU time so far (utime + stime of /proc/PID/stat), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
TICK=$(getconf CLK_TCK)

run() { # name conns url [token] -> "name conns requests/s server-CPU-us-per-request"
    local out t0 t1
    t0=$(cpu_ticks)
    if [ -n "${4:-}" ]; then
        out=$(wrk -t1 -c"$2" -d"$DURATION" -H "Authorization: $4" "$3")
    else
        out=$(wrk -t1 -c"$2" -d"$DURATION" "$3")
    fi
    t1=$(cpu_ticks)
    local rps n
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$1 $2 $rps $($PY -c "print('%.0f' % (1e6 * ($t1 - $t0) / $TICK / max($n, 1)))")"
}

# The store's two counters (docs/internals/store.md): 'version' moves at every commit,
# 'catalog' at every commit but the ledger's own (the catalog caches' key).
counters() {
    $PY - "$P/kaifang.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
v = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('version', 'catalog')"))
print(v.get("version", 0), v.get("catalog", v.get("version", 0)))
PYEOF
}

sleep 2
before=$(entries)
read -r v_before c_before < <(counters)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
raw=()
# Interleaved rounds (the machine is shared): each figure is the median of ROUNDS runs.
for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    for c in $CONNS; do
        raw+=("$(run public-anonymous "$c" "$URL/api/3/action/datastore_search?resource_id=$PUB&$Q")")
        raw+=("$(run public-token "$c" "$URL/api/3/action/datastore_search?resource_id=$PUB&$Q" "$GRANTEE")")
        raw+=("$(run restricted-grant "$c" "$URL/api/3/action/datastore_search?resource_id=$RES&$Q" "$GRANTEE")")
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 3
after=$(entries)
read -r v_after c_after < <(counters)
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
results=()
for c in $CONNS; do
    for name in public-anonymous public-token restricted-grant; do
        med=$(printf '%s\n' "${raw[@]}" | awk -v n=$name -v c=$c '$1==n && $2==c {print $3}' | median)
        cpu=$(printf '%s\n' "${raw[@]}" | awk -v n=$name -v c=$c '$1==n && $2==c {print $4}' | median)
        results+=("$name $c $med $cpu")
    done
done

echo "## Restricted reads: datastore_search under a grant against a public read (bench/grants.sh, $(date -u +%Y-%m-%d))"
echo
echo "\`KAIFANG_BIN=$BIN BENCH_DURATION=$DURATION BENCH_ROUNDS=$ROUNDS${BENCH_THREADS:+ BENCH_THREADS=$BENCH_THREADS} BENCH_CONNS='$CONNS' bench/grants.sh\`; $(nproc) CPUs, $(uname -m); $ROWS rows per table; query filters region=r07, 3 fields, limit 10 (10 rows back)."
echo
echo "Load average (1, 5, 15 min) at the start of the runs: $load_before; at the end: $load_after."
echo
echo "| caller | connections | requests/s | ms per request | server CPU µs per request |"
echo "|---|---:|---:|---:|---:|"
for r in "${results[@]}"; do
    set -- $r
    echo "| $1 | $2 | $3 | $($PY -c "print('%.3f' % (1000.0 * $2 / $3))") | $4 |"
done
echo
for c in $CONNS; do
    pt=$(printf '%s\n' "${results[@]}" | awk -v c=$c '$1=="public-token" && $2==c {print $3}')
    rg=$(printf '%s\n' "${results[@]}" | awk -v c=$c '$1=="restricted-grant" && $2==c {print $3}')
    ptc=$(printf '%s\n' "${results[@]}" | awk -v c=$c '$1=="public-token" && $2==c {print $4}')
    rgc=$(printf '%s\n' "${results[@]}" | awk -v c=$c '$1=="restricted-grant" && $2==c {print $4}')
    echo "Overhead of a restricted read over a signed-in public read, $c connection(s): $($PY -c "print('%.1f %%' % (100.0 * ($pt / $rg - 1)))") in time, $($PY -c "print('%.1f %%' % (100.0 * ($rgc / $ptc - 1)))") in server CPU"
    echo
done
echo "Ledger entries written during the runs (one restricted_read per restricted request): $((after - before));"
echo "store commits during the runs: $((v_after - v_before)) (entries per commit: $($PY -c "print('%.2f' % ($((after - before)) / max($((v_after - v_before)), 1)))")); catalog version moves: $((c_after - c_before))."
