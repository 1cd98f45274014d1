#!/usr/bin/env bash
# Installs what Kaifang needs to build and test on Debian 12, and only what is missing.
# Idempotent: a second run installs nothing. Uses sudo when not run as root.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the benchmark tools (wrk, nginx)
#   scripts/install-deps.sh --fixtures  also what regenerates committed test fixtures
#                                       (python3-xlwt: tests/data/ingest-sheets/make-xls.py)
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libcmark-dev
    libssl-dev zlib1g-dev libpcre2-dev libcmocka-dev
    python3 python3-pytest python3-requests curl
    libcurl4-openssl-dev golang-go golang-golang-x-mod-dev
    libuchardet-dev libexpat1-dev libzip-dev libfreexl-dev libxlsxwriter-dev
)
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

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi

echo "install-deps: installing Debian packages: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
