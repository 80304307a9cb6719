#!/usr/bin/env bash
# tables.sh: what a rate-limit table costs (issue 14, "Speed and memory").
#
# Four proxies in front of the same origin (nginx, 64-byte body), each alone
# on the proxy CPU (the last one), wrk and the origin on CPU 0, as in
# peerbench's split layout:
#   weir        bench/weir.sh's config (nbproc 1, no log)
#   weir-table  the same, plus a table and the rules of a real rate limit:
#               table = { type = "ip", size = "100k", expire = "30s",
#                         store = ["http_req_rate(10s)", "conn_cur"] }
#               http_request = [{ track = "src" },
#                 { deny = 429, if = "{ sc_http_req_rate(0) gt 1000000 }" }]
#   haproxy     HAProxy 2.6, nbthread 1, mode http, keep-alive, no log
#   haproxy-table  the same, plus the equivalent stick-table, track-sc0 src
#               and deny rule
# ka-64 (wrk -t1 -c50, keep-alive) in interleaved rounds. Per run: req/s and
# the proxy's CPU µs per request (user+sys of all its processes). The summary
# gives weir-table ÷ weir (the issue asks ≥ 0.95 in req/s) and weir-table
# against haproxy-table (at least its req/s at no more CPU per request).
#
# Memory: bytes per entry of the table above (the slot: tag, last update,
# key, counters, from weir's layout) and the cost of a 1,000,000-entry table:
# the shared mapping weir makes for it, read from the master's
# /proc/PID/maps (virtual: pages are touched as entries are inserted).
#
#   bench/tables.sh [--rounds N] [--duration S] [--out DIR]
# Needs root; WEIR_BIN or target/release/weir (built when missing).
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=3 DURATION=5 CONNS=50 OUT=''
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "tables.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "tables.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "run it as root"
for b in nginx haproxy wrk curl taskset setsid ss pgrep awk; do command -v $b >/dev/null || die "missing $b"; done
WEIR=${WEIR_BIN:-$HERE/../target/release/weir}
if [[ ! -x $WEIR ]]; then (cd "$HERE/.." && timeout 1800 cargo build --release -q -p weir); fi
export WEIR_BIN=$WEIR

LAST_CPU=$(($(nproc) - 1))
CPU_CLIENT=0 CPU_PROXY=$LAST_CPU
RUN=$(mktemp -d /dev/shm/weir-tables.XXXXXX)
chmod 755 "$RUN"
OUT=${OUT:-${TMPDIR:-/tmp}/weir-tables/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" "$RUN/www"
declare -A SID
# start, stop_sessions, pick_ports, wait_port
source "$HERE/lib.sh"
cleanup() {
  trap - EXIT INT TERM
  stop_sessions
  cp "$RUN"/*.log "$RUN"/*.toml "$RUN"/*.cfg "$OUT/" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "tables.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR

TARGETS=(weir weir-table haproxy haproxy-table)
read -r P_ORIGIN PW PWT PWTT PWTTT PH PHT PM PMT <<<"$(pick_ports 9)"
[[ -n $PMT ]] || die "could not find free ports"
head -c 64 /dev/zero | tr '\0' x >"$RUN/www/64"
start_origin "$P_ORIGIN" || die "origin did not start: $(cat "$RUN/origin.log")"

TABLE='table = { type = "ip", size = "100k", expire = "30s", store = ["http_req_rate(10s)", "conn_cur"] }
http_request = [{ track = "src" }, { deny = 429, if = "{ sc_http_req_rate(0) gt 1000000 }" }]'
declare -A PORT=([weir]=$PW [weir-table]=$PWT [haproxy]=$PH [haproxy-table]=$PHT)
for t in weir weir-table; do
  mkdir -p "$RUN/$t"
  extra=''
  [[ $t == weir-table ]] && extra=$TABLE
  start "$t" "$CPU_PROXY" env PB_LISTEN_HTTP="127.0.0.1:${PORT[$t]}" \
    PB_LISTEN_TCP="127.0.0.1:$([[ $t == weir ]] && echo "$PWTT" || echo "$PWTTT")" \
    PB_ORIGIN="127.0.0.1:$P_ORIGIN" PB_WORKERS=1 PB_RUNDIR="$RUN/$t" PB_CPUS="$CPU_PROXY" \
    WEIR_BENCH_LISTEN_HTTP="$extra" bash "$HERE/weir.sh"
done
for t in haproxy haproxy-table; do
  rules=''
  if [[ $t == haproxy-table ]]; then
    rules='    stick-table type ip size 100k expire 30s store http_req_rate(10s),conn_cur
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000 }'
  fi
  cat >"$RUN/$t.cfg" <<CFG
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:${PORT[$t]}
$rules
    default_backend be
backend be
    server origin 127.0.0.1:$P_ORIGIN
CFG
  start "$t" "$CPU_PROXY" haproxy -db -f "$RUN/$t.cfg"
done
for t in "${TARGETS[@]}"; do
  wait_port "${PORT[$t]}" || die "$t did not start: $(tail -5 "$RUN/$t.log")"
  [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$t]}/64") == 200 ]] ||
    die "$t does not serve"
done
cp "$RUN/weir-table/weir.toml" "$RUN/weir-table.toml"

printf 'target\tround\trps\tp99_us\terrors\tcpu_us_per_req\n' >"$OUT/tables.tsv"
run() { # run TARGET ROUND: one wrk run, a row of tables.tsv
  local t=$1 r=$2 pids c0 c1 pb
  mapfile -t pids < <(pgrep -s "${SID[$t]}")
  c0=$(ticks "${pids[@]}")
  timeout $((DURATION + 30)) taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d"${DURATION}s" \
    --timeout 5s -s "$HERE/report.lua" "http://127.0.0.1:${PORT[$t]}/64" >"$RUN/wrk.out" 2>&1 || true
  c1=$(ticks "${pids[@]}")
  pb=$(grep -m1 '^PB' "$RUN/wrk.out") || { echo "wrk failed: $(cat "$RUN/wrk.out")" >&2; return 0; }
  awk -v F="$pb" -v t="$t" -v r="$r" -v cpu=$((c1 - c0)) 'BEGIN {
      split(F, f, "\t"); req = f[2]; secs = f[4] / 1e6
      printf "%s\t%d\t%.0f\t%d\t%d\t%.1f\n", t, r, req / secs, f[6], f[8] + f[9], cpu * 1e4 / req }' |
    tee -a "$OUT/tables.tsv"
}
for t in "${TARGETS[@]}"; do # warm-up, not recorded
  timeout 30 taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:${PORT[$t]}/64" >/dev/null 2>&1 || true
done
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=("${TARGETS[@]}"); else order=(haproxy-table haproxy weir-table weir); fi
  for t in "${order[@]}"; do run "$t" "$r"; done
done

# Memory: a 1,000,000-entry table of the same shape, the mapping weir makes.
mkdir -p "$RUN/mem"
cat >"$RUN/mem/weir.toml" <<CFG
[global]
nbproc = 1
cpu_map = "none"
[defaults]
timeout = { connect = "5s", client = "30s", server = "30s" }
[listen.m]
mode = "http"
bind = ["127.0.0.1:$PM"]
server = [{ name = "origin", address = "127.0.0.1:$P_ORIGIN" }]
table = { type = "ip", size = 1000000, expire = "30s", store = ["http_req_rate(10s)", "conn_cur"] }
CFG
start mem "$CPU_PROXY" "$WEIR" -q -f "$RUN/mem/weir.toml"
wait_port "$PM" || die "the 1,000,000-entry weir did not start: $(tail -5 "$RUN/mem.log")"
master=$(pgrep -s "${SID[mem]}" -x weir | sort -n | sed -n 1p)
# The largest shared mapping of the master: the table (slots and locks).
map_kb=$(python3 - "/proc/$master/maps" <<'PY'
import sys
best = 0
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 6 and "s" in f[1] and "zero" in f[5]:
        a, b = (int(x, 16) for x in f[0].split("-"))
        best = max(best, (b - a) // 1024)
print(best)
PY
)
# An entry: tag + last update (2 words), the key (2 words for ip), the
# counters (http_req_rate: 3 words, conn_cur: 1): 8 words.
entry_bytes=$(((2 + 2 + 3 + 1) * 8))

python3 - "$OUT/tables.tsv" "$entry_bytes" "$map_kb" >"$OUT/tables.txt" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
by = {}
for t, r, rps, p99, err, cpu in rows:
    by.setdefault(t, []).append((float(rps), float(p99), int(err), float(cpu)))
med = {t: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
           sum(x[2] for x in v), statistics.median(x[3] for x in v)) for t, v in by.items()}
print("# rate-limit tables: ka-64, wrk -t1 -c50, medians over the rounds")
print(f"{'target':<15}{'req/s':>10}{'p99ms':>8}{'us/req':>8}{'errors':>8}")
for t in ["weir", "weir-table", "haproxy", "haproxy-table"]:
    if t in med:
        rps, p99, err, cpu = med[t]
        print(f"{t:<15}{rps:>10.0f}{p99 / 1000:>8.2f}{cpu:>8.1f}{err:>8}")
def ratio(a, b, i):
    return med[a][i] / med[b][i] if a in med and b in med and med[b][i] else float("nan")
print()
print(f"weir-table / weir:           x req/s {ratio('weir-table', 'weir', 0):.3f} (want >= 0.95), "
      f"x us/req {ratio('weir-table', 'weir', 3):.3f}")
print(f"weir-table / haproxy-table:  x req/s {ratio('weir-table', 'haproxy-table', 0):.3f} (want >= 1), "
      f"x us/req {ratio('weir-table', 'haproxy-table', 3):.3f} (want <= 1)")
print()
entry, map_kb = int(sys.argv[2]), int(float(sys.argv[3]))
print(f"# memory: {entry} bytes per entry (ip key, http_req_rate, conn_cur; target <= 64);")
print(f"# a 1,000,000-entry table maps {map_kb / 1024:.1f} MiB (slots and stripe locks), "
      f"touched as entries arrive")
PY
cat "$OUT/tables.txt"
echo "results: $OUT/tables.txt"
