#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 9): initdb in a directory, the
# server listening only on a Unix socket in that directory, stopped and removed after.
#
#   scripts/pg-test-cluster.sh start DIR   # DIR must not exist; prints the socket directory
#   scripts/pg-test-cluster.sh stop DIR    # stops the server (immediate) and removes DIR
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the system user
# kaifang-test (created on first use, no login shell, no home) and every server command
# runs as it through runuser; as anyone else, as that user. The superuser role is named
# "kaifang" and local connections are trusted (the socket directory is the only way in,
# and it is the caller's temporary directory). The cluster uses the C locale (text sorts
# by bytes, as SQLite's BINARY collation) and UTF-8, and trades durability for speed
# (fsync off): it holds test data only.
#
# A store URL for a database NAME in it: postgresql:///NAME?host=DIR&user=kaifang
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=""
if command -v pg_config >/dev/null 2>&1; then
    bindir=$(pg_config --bindir)
fi
if [ ! -x "$bindir/initdb" ]; then
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && bindir=$d
    done
fi
[ -x "$bindir/initdb" ] || {
    echo "pg-test-cluster: no initdb found (install postgresql-15: scripts/install-deps.sh)" >&2
    exit 1
}

TEST_USER=kaifang-test
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$TEST_USER" -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    [ -e "$dir" ] && { echo "pg-test-cluster: \"$dir\" exists" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ] && ! getent passwd "$TEST_USER" >/dev/null; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$TEST_USER"
    fi
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$TEST_USER:" "$dir"
    chmod 0700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U kaifang -A trust -E UTF8 --no-locale \
        --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # Only the socket: no TCP port to collide with another cluster on the machine. (One
    # line: pg_ctl hands -o to a shell, where a newline would end the command.)
    opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off"
    opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    opts+=" -c shared_buffers=32MB"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start \
        >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    echo "$dir"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    usage
    ;;
esac
