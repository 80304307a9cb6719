#!/usr/bin/env bash
# alloc.sh: heap allocations per request on weir's hot path (issue 6, item 3).
#
# Builds weir with its `count-alloc` feature (a counting global allocator; a
# worker logs "SIGQUIT: allocations: A allocs, R reallocs, F frees" on SIGQUIT)
# into target/count-alloc/, so the benchmark's target/release/weir stays
# without it. Then, with one worker pinned like peerbench's (origin and wrk on
# CPU 0) and the same config as the benchmark (bench/weir.sh; logging on, to
# stderr here so the SIGQUIT lines can be read), per scenario:
#   warm-up; SIGQUIT; wrk (1 thread, 50 connections, DURATION s); SIGQUIT;
#   (difference of the two counts) / (requests wrk completed).
# Both counts include whatever else the worker did meanwhile (timers, logs,
# the pool refilling the buffers the first SIGQUIT released): over 100k+
# requests, a fixed cost shows as ~0.00, a per-request one as >= 1.
#
#   bench/alloc.sh [--duration S] [--scenarios ka-64,...] [--out DIR]
# Needs root, nginx, wrk, curl, cargo.
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DURATION=5 CONNS=50 OUT='' SCENARIOS=ka-64,ka-4k,close-64,tcp-ka-64
while (($#)); do
  case $1 in
    --duration) DURATION=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "alloc.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "alloc.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "run it as root"
for b in nginx wrk curl taskset setsid ss pgrep cargo; do command -v $b >/dev/null || die "missing $b"; done
grep -q '^count-alloc' "$ROOT/master/Cargo.toml" || die "weir has no count-alloc feature"
IFS=, read -ra SCENARIOS <<<"$SCENARIOS"
OUT=${OUT:-${TMPDIR:-/tmp}/weir-alloc/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

echo "== cargo build --release -p weir --features count-alloc --target-dir target/count-alloc"
(cd "$ROOT" && timeout 1800 cargo build --release -q -p weir --features count-alloc --target-dir target/count-alloc)
export WEIR_BIN=$ROOT/target/count-alloc/release/weir

LAST_CPU=$(($(nproc) - 1))
CPU_CLIENT=0 CPU_PROXY=$LAST_CPU
RUN=$(mktemp -d /dev/shm/weir-alloc.XXXXXX)
chmod 755 "$RUN"
mkdir -p "$RUN/www" "$RUN/w"
declare -A SID
# start, stop_sessions, pick_ports, wait_port
source "$HERE/lib.sh"
cleanup() { # every session we started, by saved PID; keep the SIGQUIT lines and configs
  trap - EXIT INT TERM
  stop_sessions
  grep -h 'SIGQUIT' "$RUN/weir.log" >"$OUT/sigquit.log" 2>/dev/null || true
  cp "$RUN/w/weir.toml" "$RUN/origin.log" "$OUT/" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "alloc.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR

read -r P_ORIGIN P_HTTP P_TCP <<<"$(pick_ports 3)"
[[ -n $P_TCP ]] || die "could not find free ports"
for f in 64:64 4k:4096 256k:262144; do head -c "${f#*:}" /dev/zero | tr '\0' x >"$RUN/www/${f%%:*}"; done
start_origin "$P_ORIGIN" || die "origin did not start"
start weir "$CPU_PROXY" env PB_LISTEN_HTTP="127.0.0.1:$P_HTTP" PB_LISTEN_TCP="127.0.0.1:$P_TCP" \
  PB_ORIGIN="127.0.0.1:$P_ORIGIN" PB_WORKERS=1 PB_RUNDIR="$RUN/w" PB_CPUS="$CPU_PROXY" \
  WEIR_BENCH_LOG=stderr bash "$HERE/weir.sh"
wait_port "$P_HTTP" || die "weir did not start: $(tail -5 "$RUN/weir.log")"
[[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_HTTP/64") == 200 ]] || die "weir does not serve"
MASTER=$(pgrep -s "${SID[weir]}" -x weir | sort -n | sed -n 1p)
WORKER=$(pgrep -P "$MASTER" "^weir-worker-" | sort -n | sed -n 1p)
[[ -n $WORKER ]] || die "no weir worker"

quit_counts() { # SIGQUIT the worker; print its new "allocs reallocs frees"
  local before i
  before=$(grep -c "weir\[$WORKER\]: SIGQUIT: allocations" "$RUN/weir.log" || true)
  kill -QUIT "$WORKER"
  for ((i = 0; i < 50; i++)); do
    (($(grep -c "weir\[$WORKER\]: SIGQUIT: allocations" "$RUN/weir.log" || true) > before)) && break
    sleep 0.1
  done
  grep "weir\[$WORKER\]: SIGQUIT: allocations" "$RUN/weir.log" | tail -n 1 |
    sed 's/.*allocations: \([0-9]*\) allocs, \([0-9]*\) reallocs, \([0-9]*\) frees.*/\1 \2 \3/'
}

printf 'scenario\trequests\tallocs\treallocs\tfrees\tallocs_per_req\treallocs_per_req\tfrees_per_req\n' >"$OUT/alloc.tsv"
for sc in "${SCENARIOS[@]}"; do
  [[ $sc =~ ^(tcp-)?(ka|close)-(64|4k|256k)$ ]] || die "bad scenario $sc"
  port=$P_HTTP hdr=()
  [[ -n ${BASH_REMATCH[1]} ]] && port=$P_TCP
  [[ ${BASH_REMATCH[2]} == close ]] && hdr=(-H 'Connection: close')
  url="http://127.0.0.1:$port/${BASH_REMATCH[3]}"
  timeout 30 taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d1s "${hdr[@]}" "$url" >/dev/null 2>&1 || true
  read -r a0 r0 f0 <<<"$(quit_counts)"
  timeout $((DURATION + 30)) taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s \
    -s "$HERE/report.lua" "${hdr[@]}" "$url" >"$RUN/wrk.out" 2>&1 || true
  read -r a1 r1 f1 <<<"$(quit_counts)"
  pb=$(grep -m1 '^PB' "$RUN/wrk.out") || die "wrk failed: $(cat "$RUN/wrk.out")"
  [[ -n ${a0:-} && -n ${a1:-} ]] || die "no SIGQUIT allocation line from worker $WORKER"
  awk -v F="$pb" -v sc="$sc" -v a=$((a1 - a0)) -v r=$((r1 - r0)) -v f=$((f1 - f0)) 'BEGIN {
    split(F, x, "\t"); n = x[2]
    printf "%s\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\n", sc, n, a, r, f, a / n, r / n, f / n }' |
    tee -a "$OUT/alloc.tsv"
done

{
  echo "# allocations per request (weir --features count-alloc, 1 worker, logging on; wrk -t1 -c$CONNS -d${DURATION}s)"
  awk -F'\t' 'NR == 1 { printf "%-10s %9s %10s %12s %10s\n", "scenario", "requests", "allocs/req", "reallocs/req", "frees/req"; next }
    { printf "%-10s %9d %10.2f %12.2f %10.2f\n", $1, $2, $6, $7, $8 }' "$OUT/alloc.tsv"
} | tee "$OUT/alloc.txt"
