#!/usr/bin/env bash
# bench/audit.sh - the audit's numbers (issue 8); not a test.
#   `kaifang audit` time on a ledger of N entries of which C are charges: the ledger
#   is filled with N - C - (a few) other entries by bench/ledger-fill.c, then the case's
#   charges file scaled to C rows (tests/e2e/audit_case.py --charges C) is imported
#   with `kaifang audit import-charges` (one transaction, one entry per charge).
# Builds a Release tree in build-bench-audit/, works in a temporary directory, or in
# BENCH_AUDIT_WORK when set (kept; a portal already filled there is audited again
# without filling and importing).
#   bench/audit.sh [N=10000000] [C=1000000]
set -euo pipefail

N=${1:-10000000}
C=${2:-1000000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench-audit
if [ -n "${BENCH_AUDIT_WORK:-}" ]; then
    WORK=$BENCH_AUDIT_WORK
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d /tmp/kaifang-bench-audit-XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
fi

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target kaifang kf_ledger kf_store kf_core >/dev/null
K=$BUILD/kaifang
cc -O2 -std=c17 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/ledger-fill.c" -o "$WORK/ledger-fill" \
    "$BUILD/libkf_ledger.a" "$BUILD/libkf_store.a" "$BUILD/libkf_core.a" \
    $(pkg-config --libs sqlite3 libpq jansson libsodium libcrypto zlib) -lpthread -lm

echo "## machine"
nproc; grep -m1 'model name' /proc/cpuinfo || true; free -g | head -2

P=$WORK/portal
export KAIFANG_PORTAL=$P
if [ -f "$WORK/filled" ]; then
    echo "## $P already filled: audit only"
else
"$K" init >/dev/null
for o in mot moe miit samr cnis; do "$K" organization add $o >/dev/null; done
for u in alice bob; do "$K" user add $u >/dev/null; "$K" member add cnis $u admin >/dev/null; done
"$K" role add bob approver --org cnis >/dev/null
for s in cnis-standard-copy:50.00 cnis-data-extract:200.00; do
    "$K" audit schedule create ${s%%:*} --organization cnis --service s --unit u \
        --price ${s#*:} --legal-basis b --period-start 2019-01-01 --period-end 2024-12-31 \
        --as alice >/dev/null
    "$K" audit schedule approve ${s%%:*} --as bob >/dev/null
done
HAVE=$(sqlite3 "$P/kaifang.db" 'SELECT count(*) FROM ledger_entries')
FILL=$((N - C - C / 20 - HAVE))
echo "## fill the ledger with $FILL other entries (to $N in all with the charges)"
echo "\$ ledger-fill $P/kaifang.db $P/ledger.key $FILL 100000"
"$WORK/ledger-fill" "$P/kaifang.db" "$P/ledger.key" "$FILL" 100000

echo "## the charges file: about $C rows"
python3 "$SRC/tests/e2e/audit_case.py" --seed 1 --charges "$C" -o "$WORK/charges.csv"
ROWS=$(($(wc -l < "$WORK/charges.csv") - 1))
echo "rows $ROWS bytes $(stat -c %s "$WORK/charges.csv")"

echo "## import"
echo "\$ kaifang audit import-charges charges.csv"
/usr/bin/time -f "wall %e s, max RSS %M KB" "$K" audit import-charges "$WORK/charges.csv" 2>&1
touch "$WORK/filled"
fi
echo "entries $(sqlite3 "$P/kaifang.db" 'SELECT count(*) FROM ledger_entries')" \
     "charges $(sqlite3 "$P/kaifang.db" 'SELECT count(*) FROM charges')"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"

for f in json csv; do
    echo "## audit (--format $f)"
    echo "\$ kaifang audit --format $f -o report.$f"
    /usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" "$K" audit --format $f -o "$WORK/report.$f" 2>&1
    echo "report bytes $(stat -c %s "$WORK/report.$f"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
python3 - "$WORK/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]["unapproved_charges"]
print("unapproved:", s["organizations"], "organizations", s["units"], "units", s["systems"],
      "systems", s["charges"], "charges", s["total"], "yuan; audited",
      r["summary"]["charges_audited"], "; mismatches", r["summary"]["ledger_mismatches"])
PY
