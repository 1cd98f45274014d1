#!/usr/bin/env bash
# Backs a PostgreSQL portal up and restores it, as docs/deploy.md ("Backups") says, and
# checks that the restored portal answers as the original did (issue 9):
#
#   1. a portal on a new database: an organization, datasets (one private, one deleted),
#      a datastore table, the ledger integrated and signed;
#   2. the backup: pg_dump -Fc of the database, and the portal directory (kaifang.conf,
#      the ledger and file keys, files/) copied;
#   3. the restore: a fresh database made with createdb, pg_restore --no-owner into it,
#      the portal directory put back with kaifang.conf's store_url naming the new
#      database;
#   4. both served: package_list, package_show of each dataset, organization_show,
#      datastore_search and /ledger/checkpoint must be the same; `kaifang ledger verify`
#      of the restored portal must pass at the same size.
#
#   scripts/backup-restore-test.sh [KAIFANG_BIN]      (default build/kaifang)
#
# PostgreSQL: KAIFANG_PGHOST=DIR uses the cluster whose socket is in DIR (superuser
# "kaifang", as scripts/pg-test-cluster.sh makes it); without it a throwaway cluster is
# started and removed. Prints "backup-restore-test: ok" and exits 0 when every answer
# matched; otherwise names the first difference and exits 1.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "${1:-$here/build/kaifang}")
[ -x "$bin" ] || { echo "backup-restore-test: no kaifang binary at $bin" >&2; exit 1; }
command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v curl >/dev/null ||
    { echo "backup-restore-test: needs pg_dump, pg_restore and curl" >&2; exit 1; }

work=$(mktemp -d /tmp/kf-backup-XXXXXX)
own_cluster=""
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -n "$own_cluster" ] && "$here/scripts/pg-test-cluster.sh" stop "$own_cluster" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${KAIFANG_PGHOST:-}" ]; then
    pghost=$KAIFANG_PGHOST
else
    own_cluster="$work/pg"
    pghost=$("$here/scripts/pg-test-cluster.sh" start "$own_cluster" | tail -1)
fi
suffix=$$_$RANDOM
src_db=kf_backup_src_$suffix
dst_db=kf_backup_dst_$suffix
url() { echo "postgresql:///$1?host=$pghost&user=kaifang"; }
psql -X -q -v ON_ERROR_STOP=1 "$(url postgres)" -c "CREATE DATABASE $src_db"

fail() { echo "backup-restore-test: $*" >&2; exit 1; }

# Starts `kaifang serve` on portal $1 (a free loopback port); sets $base.
serve() {
    local log="$work/serve-$(basename "$1").log"
    "$bin" serve --portal "$1" --listen 127.0.0.1:0 --access-log "" 2>"$log" &
    pids+=($!)
    for _ in $(seq 1 200); do
        base=$(sed -n 's|^kaifang: serving \(http://[^ ]*\)/$|\1|p' "$log" | head -1)
        [ -n "$base" ] && return 0
        sleep 0.05
    done
    cat "$log" >&2
    fail "the server on $1 did not start"
}
stop_last() {
    local pid=${pids[-1]}
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    unset 'pids[-1]'
}
api() { # api ACTION JSON [TOKEN]
    curl -sS --noproxy '*' -H 'Content-Type: application/json' ${3:+-H "Authorization: $3"} \
        -d "$2" "$base/api/3/action/$1"
}
get() { curl -sS --noproxy '*' "$base$1"; }
must() { # must JSON: the CKAN envelope says success
    case "$1" in *'"success":true'*) ;; *) fail "request failed: ${1:0:400}" ;; esac
}

# 1. The portal.
portal="$work/portal"
"$bin" init --portal "$portal" --store "$(url "$src_db")" >/dev/null
"$bin" user add admin --sysadmin --portal "$portal" >/dev/null
"$bin" organization add ministry --title "Ministry of Data" --portal "$portal" >/dev/null
token=$("$bin" token create admin --portal "$portal" 2>/dev/null | tail -1)
serve "$portal"
for i in 1 2 3; do
    private=false
    [ $i -eq 2 ] && private=true
    must "$(api package_create "{\"name\":\"backup-$i\",\"title\":\"备份 dataset $i\",\"owner_org\":\"ministry\",\"private\":$private,\"tags\":[{\"name\":\"roads\"}],\"resources\":[{\"url\":\"http://example.org/$i.csv\",\"format\":\"CSV\"}]}" "$token")"
done
must "$(api package_delete '{"id":"backup-3"}' "$token")"
res=$(api package_show '{"id":"backup-1"}' "$token" | sed -n 's/.*"resources":\[{[^]]*"id":"\([0-9a-f-]\{36\}\)".*/\1/p' | head -1)
[ -n "$res" ] || fail "no resource id in backup-1"
must "$(api datastore_create "{\"resource_id\":\"$res\",\"force\":true,\"fields\":[{\"id\":\"city\",\"type\":\"text\"},{\"id\":\"n\",\"type\":\"int\"}],\"records\":[{\"city\":\"北京\",\"n\":1},{\"city\":\"上海\",\"n\":2}]}" "$token")"
entries=$(psql -X -A -t "$(url "$src_db")" -c "SELECT count(*) FROM ledger_entries")
for _ in $(seq 1 200); do
    [ "$(get /ledger/checkpoint | sed -n 2p)" = "$entries" ] && break
    sleep 0.1
done
[ "$(get /ledger/checkpoint | sed -n 2p)" = "$entries" ] || fail "the ledger was not integrated"

# What the restored portal must answer alike (the port differs: help URLs cut out).
answers() {
    {
        api package_list '{}'
        for i in 1 2 3; do api package_show "{\"id\":\"backup-$i\"}" "$token"; done
        api organization_show '{"id":"ministry"}'
        api datastore_search "{\"resource_id\":\"$res\"}"
        get /ledger/checkpoint
    } | sed -e 's|"help":"[^"]*",||g' -e 's|"_links":{[^}]*},||g'
}
answers >"$work/before.txt"
stop_last

# 2. The backup: the database, then the portal directory.
pg_dump -Fc -f "$work/kaifang.dump" "$(url "$src_db")"
tar -C "$work" -cf "$work/portal.tar" portal

# 3. The restore into a fresh database and a fresh directory.
psql -X -q -v ON_ERROR_STOP=1 "$(url postgres)" -c "CREATE DATABASE $dst_db"
pg_restore --no-owner --exit-on-error -d "$(url "$dst_db")" "$work/kaifang.dump"
mkdir "$work/restored"
tar -C "$work/restored" -xf "$work/portal.tar"
restored="$work/restored/portal"
new_url=$(url "$dst_db")
sed -i "s|^store_url = .*|store_url = ${new_url//&/\\&}|" "$restored/kaifang.conf"
grep -qxF "store_url = $new_url" "$restored/kaifang.conf" || fail "kaifang.conf was not rewritten"

# 4. The same answers, and the ledger verifies at the same size.
serve "$restored"
answers >"$work/after.txt"
stop_last
if ! diff -u "$work/before.txt" "$work/after.txt" >&2; then
    fail "the restored portal answers differently (diff above)"
fi
out=$("$bin" ledger verify "$restored" --state "$work/verify.state" 2>/dev/null) ||
    fail "kaifang ledger verify failed on the restored portal"
case "$out" in *"size $entries "*) ;; *) fail "ledger verify: $out" ;; esac
psql -X -q "$(url postgres)" -c "DROP DATABASE $src_db" -c "DROP DATABASE $dst_db" >/dev/null 2>&1 || true
echo "backup-restore-test: ok ($entries ledger entries, 3 datasets, 1 datastore table)"
