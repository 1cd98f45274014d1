#!/usr/bin/env bash
# bench/privacy-scan.sh - `kaifang scan` throughput on a synthetic people table.
#
# Generates BENCH_ROWS (default 1,000,000) synthetic citizens with `kaifang synth people`
# (about 109 MB of CSV for a million rows: 11 columns, a resident ID number, a mobile
# number, a birth date and free-text remarks in every row), then times `kaifang scan` on
# it BENCH_REPEAT times (default 5) and prints the median wall time and the median CPU
# time (user + sys) with the throughput of each in MB/s (10^6 bytes), rows/s, the peak
# RSS (GNU time) and the load average before and after: on a shared machine the CPU
# figure is the fair one (wall time waits for the other processes). The scan includes ingest's
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
cpus=()
rss=0
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$REPEAT"); do
    /usr/bin/time -f '%e %U %S %M' -o "$DIR/scan.time" "$BIN" scan "$CSV" --json >"$DIR/report.json"
    read -r t u s m <"$DIR/scan.time"
    times+=("$t")
    cpus+=("$(echo "$u $s" | awk '{printf "%.2f", $1 + $2}')")
    [ "$m" -gt "$rss" ] && rss=$m
    echo "privacy-scan: run $i: $t s wall, ${cpus[-1]} s CPU (user $u, sys $s)" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
python3 - "$BYTES" "$ROWS" "$(median "${times[@]}")" "$(median "${cpus[@]}")" "$rss" \
    "$DIR/report.json" "$load_before" "$load_after" <<'PY'
import json, sys
size, rows, t, cpu, rss, report = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]),
                                   float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
r = json.load(open(report))
ident = [c["name"] for c in r["columns"] if c["class"] == "direct_identifier"]
print("load average (1, 5, 15 min) before: %s, after: %s" % (sys.argv[7], sys.argv[8]))
print("| rows | MB | median wall s | MB/s (wall) | median CPU s (user+sys) | MB/s (CPU) | rows/s (CPU) | peak RSS MB | direct identifiers found |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
print("| %d | %.1f | %.2f | %.0f | %.2f | %.0f | %.0f | %.1f | %s |" % (
    rows, size / 1e6, t, size / 1e6 / t if t else 0, cpu, size / 1e6 / cpu if cpu else 0,
    rows / cpu if cpu else 0, rss / 1024, ", ".join(ident)))
PY
