#!/usr/bin/env bash
# Installs what Kaifang needs to build and test on Debian 12, and only what is missing.
# Idempotent: a second run installs nothing. Uses sudo when not run as root.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the benchmark tools (wrk, nginx)
#   scripts/install-deps.sh --fixtures  also what regenerates committed test fixtures
#                                       (python3-xlwt: tests/data/ingest-sheets/make-xls.py)
# Then the npm packages, pinned by their package-lock.json: the web portal's (package.json
# at the top: playwright-core and axe-core for tests/browser, and the chart libraries
# vega, vega-lite, vega-embed, vega-interpreter that `kaifang serve` serves from
# node_modules/), and the metadata validators' (tests/validators): `npm ci` when node_modules is missing or was installed from another
# lock file; nothing (and no network) once they are in place.
set -euo pipefail

# PostgreSQL 15 (server and libpq): the PostgreSQL store and its throwaway test cluster
# (scripts/pg-test-cluster.sh).
# libcurl's GnuTLS flavour: libraptor2-dev depends on it, and it conflicts with the
# OpenSSL one (either serves `kaifang ledger verify URL`).
packages=(
    build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libcmark-dev
    libssl-dev zlib1g-dev libpcre2-dev libcmocka-dev
    python3 python3-pytest python3-requests curl
    libcurl4-gnutls-dev golang-go golang-golang-x-mod-dev
    libuchardet-dev libexpat1-dev libzip-dev libfreexl-dev libxlsxwriter-dev libarchive-dev
    libraptor2-dev nodejs gettext chromium fonts-wqy-microhei
    postgresql-15 libpq-dev
)
# Debian's npm, unless the installed nodejs brings its own (NodeSource's does, and
# conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ "${1:-}" = "--bench" ]; then
    packages+=(wrk nginx-light procps sqlite3 time)
fi
if [ "${1:-}" = "--fixtures" ]; then
    packages+=(python3-xlwt)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi

    echo "install-deps: installing Debian packages: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    echo "install-deps: done"
fi

# The web portal's npm packages, installed exactly as the lock file says (same stamp).
top="$(cd "$(dirname "$0")/.." && pwd)"
top_sum=$(sha256sum "$top/package-lock.json" | cut -d' ' -f1)
top_stamp="$top/node_modules/.kaifang-lock-sha256"
if [ ! -d "$top/node_modules" ] || [ "$(cat "$top_stamp" 2>/dev/null)" != "$top_sum" ]; then
    echo "install-deps: installing the web portal's npm packages (package.json, npm ci)"
    (cd "$top" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$top_sum" >"$top_stamp"
fi

# The validators' npm packages, installed exactly as the lock file says. The stamp holds
# the SHA-256 of the lock file they were installed from.
validators="$(cd "$(dirname "$0")/.." && pwd)/tests/validators"
lock_sum=$(sha256sum "$validators/package-lock.json" | cut -d' ' -f1)
stamp="$validators/node_modules/.kaifang-lock-sha256"
if [ ! -d "$validators/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    echo "install-deps: installing the validators' npm packages (tests/validators, npm ci)"
    (cd "$validators" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" >"$stamp"
fi
