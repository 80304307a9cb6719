#!/usr/bin/env bash
# ab.sh: two weir builds, before and after a change, in one session and
# interleaved: peerbench runs alternate A B A B ..., each with HAProxy in the
# same run as a yardstick, so that drift of the shared machine hits both
# builds alike. Prints, per scenario, the median req/s and CPU µs per request
# of each build, B ÷ A, and each build ÷ HAProxy; and memory per idle
# keep-alive connection.
#
#   bench/ab.sh A_BIN B_BIN [--pairs N] [--out DIR] [peerbench options...]
#     default: 2 pairs; ka-64, ka-4k, ka-256k, close-64, tcp-ka-64, tcp-ka-256k;
#     2 rounds x 3 s per run; 2,000 idle connections
# Needs root.
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
(($# >= 2)) || { sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
A=$(realpath "$1") B=$(realpath "$2")
shift 2
PAIRS=2 OUT='' EXTRA=()
while (($#)); do
  case $1 in
    --pairs) PAIRS=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
[[ -x $A && -x $B ]] || { echo "ab.sh: both binaries must exist" >&2; exit 1; }
OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)-ab}
mkdir -p "$OUT"
for ((i = 0; i < PAIRS; i++)); do
  for side in a b; do
    bin=$A
    [[ $side == b ]] && bin=$B
    echo "== pair $((i + 1))/$PAIRS: $side ($bin)"
    timeout 3600 "$HERE/peerbench.sh" --ours-name "$side" \
      --ours "WEIR_BIN=$(printf %q "$bin") exec $(printf %q "$HERE/weir.sh")" \
      --targets haproxy --rounds 2 --duration 3 --mem 2000 --quiet-budget 120 \
      --out "$OUT/$side$i" "${EXTRA[@]}" >"$OUT/$side$i.log" 2>&1 ||
      echo "ab.sh: run $side$i failed (see $OUT/$side$i.log)" >&2
  done
done
python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import csv, glob, os, statistics, sys
out = sys.argv[1]
rows, mem = [], []
for d in sorted(glob.glob(f"{out}/[ab][0-9]*/")):
    if os.path.exists(d + "results.tsv"):
        rows += list(csv.DictReader(open(d + "results.tsv"), delimiter="\t"))
    if os.path.exists(d + "mem.tsv"):
        mem += list(csv.DictReader(open(d + "mem.tsv"), delimiter="\t"))
def med(sc, t, col):
    v = [float(r[col]) for r in rows if r["scenario"] == sc and r["target"] == t and r[col] not in ("", "-")]
    return statistics.median(v) if v else float("nan")
scen = []
for r in rows:
    if r["scenario"] not in scen:
        scen.append(r["scenario"])
print("A = before, B = after; medians over every round of every pair; H = HAProxy in the same runs")
print(f"{'scenario':<12} {'A req/s':>9} {'B req/s':>9} {'B/A':>6} {'A us/req':>9} {'B us/req':>9} {'B/A':>6} {'A/H us':>7} {'B/H us':>7}")
for s in scen:
    ar, br, h = med(s, "a", "rps"), med(s, "b", "rps"), med(s, "haproxy", "proxy_us_per_req")
    au, bu = med(s, "a", "proxy_us_per_req"), med(s, "b", "proxy_us_per_req")
    print(f"{s:<12} {ar:>9.0f} {br:>9.0f} {br/ar:>6.2f} {au:>9.1f} {bu:>9.1f} {bu/au:>6.2f} {au/h:>7.2f} {bu/h:>7.2f}")
if mem:
    print("\nmemory per idle keep-alive connection (KiB), each run")
    for t in ("a", "b", "haproxy"):
        v = [float(r["kib_per_conn"]) for r in mem if r["target"] == t]
        if v:
            print(f"  {t:<8} " + " ".join(f"{x:.2f}" for x in v) + f"   median {statistics.median(v):.2f}")
PY
