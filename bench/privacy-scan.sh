#!/usr/bin/env bash
# bench/privacy-scan.sh - `kaifang scan` throughput on a synthetic people table.
#
# Generates BENCH_ROWS (default 1,000,000) synthetic citizens with `kaifang synth people`
# (about 109 MB of CSV for a million rows: 11 columns, a resident ID number, a mobile
# number, a birth date and free-text remarks in every row), then times `kaifang scan` on
# it BENCH_REPEAT times (default 5) and prints the median wall time, the throughput in
# MB/s (10^6 bytes) and rows/s, and the peak RSS (GNU time). The scan includes ingest's
# typing pass (ingest_table_open reads every row once) and the scan pass.
#
# Environment:
#   KAIFANG_BIN   binary to measure (default: build/kaifang; build it Release)
#   BENCH_ROWS    rows to generate (default 1000000)
#   BENCH_DIR     work directory (default: a new one under /tmp, removed at the end)
#   BENCH_REPEAT  scans to time (default 5)
# Target (issue 5): >= 100 MB/s. Not a test: no assertion on time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build/kaifang}
ROWS=${BENCH_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-5}
if [ -n "${BENCH_DIR:-}" ]; then
    DIR=$BENCH_DIR
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d /tmp/kf-bench-privacy-XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
fi
[ -x "$BIN" ] || { echo "privacy-scan: $BIN is not built" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "privacy-scan: needs GNU time" >&2; exit 1; }

CSV=$DIR/people-$ROWS.csv
if [ ! -s "$CSV" ]; then
    echo "privacy-scan: generating $ROWS rows" >&2
    /usr/bin/time -f '%e' -o "$DIR/synth.time" "$BIN" synth people --rows "$ROWS" --seed 1 -o "$CSV"
    echo "privacy-scan: synth took $(cat "$DIR/synth.time") s" >&2
fi
BYTES=$(stat -c %s "$CSV")

times=()
rss=0
for i in $(seq 1 "$REPEAT"); do
    /usr/bin/time -f '%e %M' -o "$DIR/scan.time" "$BIN" scan "$CSV" --json >"$DIR/report.json"
    read -r t m <"$DIR/scan.time"
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss=$m
    echo "privacy-scan: run $i: $t s" >&2
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
python3 - "$BYTES" "$ROWS" "$median" "$rss" "$DIR/report.json" <<'PY'
import json, sys
size, rows, t, rss, report = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
r = json.load(open(report))
ident = [c["name"] for c in r["columns"] if c["class"] == "direct_identifier"]
print("| rows | MB | median s | MB/s | rows/s | peak RSS MB | direct identifiers found |")
print("| --- | --- | --- | --- | --- | --- | --- |")
print("| %d | %.1f | %.2f | %.0f | %.0f | %.1f | %s |" % (
    rows, size / 1e6, t, size / 1e6 / t if t else 0, rows / t if t else 0, rss / 1024, ", ".join(ident)))
PY
