#!/usr/bin/env bash
# bench/privacy.sh - the privacy engine's benchmark (issue 5): scan throughput, optimal
# search time on ARX's adult data and on a million synthetic records with 8
# quasi-identifiers, and memory per record. Results go to BENCHMARKS.md by hand.
#
#   1. scan: bench/privacy-scan.sh (`kaifang scan` of BENCH_ROWS synthetic people, MB/s).
#   2. adult: bench/privacy-search.sh with the Loss metric (k = 2, 5, 10; 0% and 4%;
#      search time apart from loading, median of BENCH_REPEAT new processes).
#   3. 1M x 8 QIs: the synthetic people table reduced to 8 quasi-identifiers with built-in
#      hierarchies (sex, ethnicity, occupation: masking; birth date: date; age derived
#      from it: interval:5,10,20; income: interval:1000,10000,100000; region: the first six
#      digits of the ID number, region; diagnosis code: masking), `kaifang anonymize` for
#      k = 2, 5, 10 at 0% and 4%: search and load time from the JSON report, peak RSS (GNU
#      time) and RSS per record.
#
# Environment:
#   KAIFANG_BIN   binary (default: build-privacy-policy-perf/kaifang, else build/kaifang;
#                 build it RelWithDebInfo)
#   BENCH_ROWS    synthetic rows (default 1000000)
#   BENCH_REPEAT  runs per adult configuration (default 5) and scans (default 5)
#   BENCH_BIG_REPEAT runs per 1M-row configuration (default 1)
#   BENCH_BIG_TIMEOUT seconds a 1M-row run may take before it is stopped (default 900)
#   BENCH_PARTS   which parts to run (default "scan adult big")
#   BENCH_DIR     work directory (default: a new one under /tmp, removed at the end)
# Not a test: no assertion on time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KAIFANG_BIN:-}" ]; then
    KAIFANG_BIN=$ROOT/build-privacy-policy-perf/kaifang
    [ -x "$KAIFANG_BIN" ] || KAIFANG_BIN=$ROOT/build/kaifang
fi
export KAIFANG_BIN
BIN=$KAIFANG_BIN
ROWS=${BENCH_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-5}
BIG_REPEAT=${BENCH_BIG_REPEAT:-1}
BIG_TIMEOUT=${BENCH_BIG_TIMEOUT:-900}
PARTS=${BENCH_PARTS:-scan adult big}
if [ -n "${BENCH_DIR:-}" ]; then
    DIR=$BENCH_DIR
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d /tmp/kf-bench-privacy-XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
fi
export BENCH_DIR=$DIR BENCH_ROWS=$ROWS BENCH_REPEAT=$REPEAT
[ -x "$BIN" ] || { echo "privacy: $BIN is not built" >&2; exit 1; }

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "# binary: $BIN"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

case " $PARTS " in *" scan "*)
    echo "## scan ($ROWS rows)"
    "$ROOT/bench/privacy-scan.sh"
esac

case " $PARTS " in *" adult "*)
    echo "## optimal search on adult (Loss)"
    BENCH_METRICS=loss "$ROOT/bench/privacy-search.sh"
esac

case " $PARTS " in *" big "*)
    CSV=$DIR/people-$ROWS.csv
    [ -s "$CSV" ] || "$BIN" synth people --rows "$ROWS" --seed 1 -o "$CSV"
    QCSV=$DIR/people-$ROWS-8qi.csv
    if [ ! -s "$QCSV" ]; then
        /usr/bin/python3 - "$CSV" "$QCSV" <<'PY'
import csv, sys
src, dst = sys.argv[1:3]
with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
    r = csv.DictReader(f)
    w = csv.writer(g, lineterminator="\r\n")
    w.writerow(["sex", "ethnicity", "birth_date", "age", "occupation", "income", "region", "dx"])
    for row in r:
        dob = row["出生日期"]
        age = 2026 - int(dob[:4])
        w.writerow([row["性别"], row["民族"], dob, age, row["职业"], row["年收入"],
                    row["身份证号"][:6], row["诊断"].split(" ")[0]])
PY
    fi
    echo "## optimal search on $ROWS synthetic records, 8 quasi-identifiers (Loss)"
    QI=(--qi sex=mask --qi ethnicity=mask --qi birth_date=date --qi age=interval:5,10,20
        --qi occupation=mask --qi income=interval:1000,10000,100000 --qi region=region
        --qi dx=mask)
    printf '%3s %5s  %-17s %8s %8s %8s %10s %8s %8s %9s %9s\n' k supp levels suppr nodes checked \
        "search ms" "load s" "CPU s" "RSS MB" "B/record"
    for supp in 0 0.04; do
        for k in 2 5 10; do
            for _ in $(seq "$BIG_REPEAT"); do
                if ! /usr/bin/time -f '%M %U' -o "$DIR/big.time" timeout "$BIG_TIMEOUT" "$BIN" \
                    anonymize "$QCSV" "${QI[@]}" --k "$k" --suppression "$supp" --json \
                    >"$DIR/big.json"; then
                    printf '%3s %4g%%  stopped after %s s (BENCH_BIG_TIMEOUT)\n' "$k" \
                        "$(echo "$supp * 100" | bc)" "$BIG_TIMEOUT"
                    continue
                fi
                /usr/bin/python3 - "$DIR/big.json" "$(cat "$DIR/big.time")" "$k" "$supp" "$ROWS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); rss_kb, cpu = sys.argv[2].split(); rss = int(rss_kb) * 1024
rows = int(sys.argv[5])
print("%3s %4g%%  %-17s %8d %8d %8d %10.1f %8.2f %8.1f %9.0f %9.0f" % (sys.argv[3],
      float(sys.argv[4]) * 100, ",".join(str(v) for v in r["levels"].values()), r["suppressed"],
      r["nodes"], r["checked"], r["search_seconds"] * 1000, r["load_seconds"], float(cpu),
      rss / 1e6, rss / rows))
PY
            done
        done
    done
esac
