#!/usr/bin/env bash
# bench/ledger.sh - the public ledger's numbers (issue 6); not a test.
#   entries/s appended and integrated (batched), inclusion and consistency proofs served
#   per second over HTTP (wrk), `kaifang ledger verify` time for N entries (from the
#   portal directory and from the URL), storage bytes per entry.
# Builds a Release tree in build-bench-ledger/, works in a temporary directory.
#   bench/ledger.sh [N=1000000] [BATCH=10000]
set -euo pipefail

N=${1:-1000000}
BATCH=${2:-10000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench-ledger
WORK=$(mktemp -d /tmp/kaifang-bench-ledger-XXXXXX)
PORT=${PORT:-18900}
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target kaifang >/dev/null
K=$BUILD/kaifang
cc -O2 -std=c17 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/ledger-fill.c" -o "$WORK/ledger-fill" \
    "$BUILD/libkf_ledger.a" "$BUILD/libkf_store.a" "$BUILD/libkf_core.a" \
    $(pkg-config --libs sqlite3 libpq jansson libsodium libcrypto zlib) -lpthread -lm

echo "## machine"
nproc; grep -m1 'model name' /proc/cpuinfo || true
openssl speed -seconds 2 -evp sha256 2>/dev/null | tail -2

P=$WORK/portal
"$K" init --portal "$P" >/dev/null
echo "## append + integrate: $N entries, batches of $BATCH"
echo "\$ ledger-fill $P/kaifang.db $P/ledger.key $N $BATCH"
"$WORK/ledger-fill" "$P/kaifang.db" "$P/ledger.key" "$N" "$BATCH"

echo "## storage"
sqlite3 "$P/kaifang.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
DBB=$(stat -c %s "$P/kaifang.db")
EB=$(sqlite3 "$P/kaifang.db" 'SELECT sum(length(entry)) FROM ledger_entries')
echo "db_bytes $DBB entry_bytes $EB db_bytes_per_entry $((DBB / N)) entry_bytes_per_entry $((EB / N))"

echo "## verify from the portal directory"
echo "\$ kaifang ledger verify $P --state $WORK/dir.state"
/usr/bin/time -f "wall %e s, max RSS %M KB" "$K" ledger verify "$P" --state "$WORK/dir.state" 2>&1 | grep -v warning

"$K" serve --portal "$P" --listen 127.0.0.1:$PORT --access-log "" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q serving "$WORK/serve.err" && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT

# Fresh state each time (the full tree is recomputed either way); --gzip auto is
# identity on this loopback URL, yes is what a remote monitor would ask for.
for GZ in auto yes; do
    echo "## verify from the URL (--gzip $GZ)"
    echo "\$ kaifang ledger verify $URL --key \"\$(kaifang ledger key)\" --gzip $GZ --state $WORK/url-$GZ.state"
    /usr/bin/time -f "wall %e s, max RSS %M KB" "$K" ledger verify "$URL" --key "$("$K" ledger key --portal "$P")" --gzip $GZ --state "$WORK/url-$GZ.state" 2>&1
done

cat > "$WORK/incl.lua" <<LUA
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/ledger/proof/inclusion?index=" .. math.random(0, $N - 1) .. "&size=$N")
end
LUA
cat > "$WORK/cons.lua" <<LUA
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/ledger/proof/consistency?first=" .. math.random(1, $N - 1) .. "&second=$N")
end
LUA
echo "## inclusion proofs over HTTP"
echo "\$ wrk -t2 -c32 -d10s -s incl.lua $URL"
wrk -t2 -c32 -d10s -s "$WORK/incl.lua" "$URL" | grep -E 'Requests/sec|Latency|Non-2xx'
echo "## consistency proofs over HTTP"
echo "\$ wrk -t2 -c32 -d10s -s cons.lua $URL"
wrk -t2 -c32 -d10s -s "$WORK/cons.lua" "$URL" | grep -E 'Requests/sec|Latency|Non-2xx'
