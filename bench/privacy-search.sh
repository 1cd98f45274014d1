#!/usr/bin/env bash
# bench/privacy-search.sh - time of the optimal generalisation search of `kaifang anonymize`
# on ARX's adult data (30,162 records, the 8 benchmark quasi-identifiers, ARX's
# hierarchies; tests/data/privacy/arx), for k = 2, 5, 10 and suppression 0% and 4%, for
# each metric (loss, entropy, discernibility).
#
# Every run is a new process (nothing warm but the page cache); each configuration runs
# BENCH_REPEAT times (default 5) and the median is printed of the search time alone
# ("search_seconds" of the JSON report: from the encoded table to the optimum; reading
# and encoding the file excluded) and, separately, of the loading time ("load_seconds":
# reading the CSV and hierarchies and encoding them). Also printed: the optimum's levels
# (age, education, marital-status, native-country, race, salary-class, sex, workclass),
# suppressed records and nodes whose classes were computed. Compare with ARX 3.9.2 on
# the same data (warm JVM, median of 5; /work/shared/notes/privacy.md §1.2).
#
# Environment:
#   KAIFANG_BIN   binary to measure (default: build/kaifang; build it RelWithDebInfo)
#   BENCH_REPEAT  runs per configuration (default 5)
#   BENCH_METRICS metrics to run (default "loss entropy discernibility")
# Not a test: no assertion on time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAIFANG_BIN:-$ROOT/build/kaifang}
REPEAT=${BENCH_REPEAT:-5}
METRICS=${BENCH_METRICS:-loss entropy discernibility}
ARX=$ROOT/tests/data/privacy/arx
[ -x "$BIN" ] || { echo "privacy-search: $BIN is not built" >&2; exit 1; }

QI=()
for q in age education marital-status native-country race salary-class sex workclass; do
    QI+=(--qi "$q=$ARX/adult_hierarchy_$q.csv")
done

printf '%-15s %3s %5s  %-17s %6s %8s %12s %12s\n' metric k supp levels suppr checked \
    "search ms" "load ms"
for metric in $METRICS; do
    for supp in 0 0.04; do
        for k in 2 5 10; do
            runs=()
            for _ in $(seq "$REPEAT"); do
                runs+=("$("$BIN" anonymize "$ARX/adult.csv" "${QI[@]}" --k "$k" \
                    --suppression "$supp" --metric "$metric" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print("%s %d %d %.6f %.6f" % (",".join(str(v) for v in r["levels"].values()), r["suppressed"],
                              r["checked"], r["search_seconds"], r["load_seconds"]))')")
            done
            printf '%s\n' "${runs[@]}" | /usr/bin/python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
search = statistics.median(float(r[3]) for r in rows) * 1000
load = statistics.median(float(r[4]) for r in rows) * 1000
m, k, s = sys.argv[1:4]
print("%-15s %3s %4g%%  %-17s %6s %8s %12.2f %12.2f" % (m, k, float(s) * 100, rows[0][0],
      rows[0][1], rows[0][2], search, load))' "$metric" "$k" "$supp"
        done
    done
done
