#!/usr/bin/env bash
# scale.sh: does weir's cost per request grow with workers, and how do
# connections spread over them? (issue 6, item 4)
#
# weir with nbproc = 1, weir with nbproc = 2 sharing one listening socket, and
# weir with nbproc = 2 and shards = "by-worker" (one SO_REUSEPORT socket per
# worker; "2s" in the tables) run side by side, every worker
# pinned to the proxy CPU (the last one; wrk and the origin share CPU 0, as in
# peerbench's split layout: this 2-core machine has no third core for a fair
# 2-worker throughput run). The same wrk settings as peerbench (1 thread,
# 50 connections, DURATION s) drive each in turn, in interleaved rounds, for
# ka-64 (keep-alive) and close-64 (a new connection per request). Per run:
#   req/s, CPU µs per request (user+sys of every weir process: master and
#   workers, over the requests wrk completed);
#   requests per worker: weir's httplog lines, sent as syslog over UDP to
#   logcount.py, counted per weir[PID] (with close-64, one request = one
#   accepted connection, so this is connections per worker too);
#   keep-alive connections per worker: `ss -tnp` on the listener's port in the
#   middle of the run.
# With nbproc = 2 the workers share the one listening socket the master
# bound (each worker's event loop polls it; the kernel wakes one or more,
# whoever accepts first wins); with 2s each accepts on its own shard and the
# kernel picks the shard by a hash of the connection's 4-tuple.
#
#   bench/scale.sh [--rounds N] [--duration S] [--out DIR]
# Needs root; WEIR_BIN or target/release/weir (built when missing).
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=3 DURATION=5 CONNS=50 OUT='' SCENARIOS=ka-64,close-64
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "scale.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "run it as root"
for b in nginx wrk curl python3 taskset setsid ss pgrep; do command -v $b >/dev/null || die "missing $b"; done
WEIR=${WEIR_BIN:-$HERE/../target/release/weir}
if [[ ! -x $WEIR ]]; then (cd "$HERE/.." && timeout 1800 cargo build --release -q -p weir); fi
export WEIR_BIN=$WEIR
IFS=, read -ra SCENARIOS <<<"$SCENARIOS"

LAST_CPU=$(($(nproc) - 1))
CPU_CLIENT=0 CPU_PROXY=$LAST_CPU
RUN=$(mktemp -d /dev/shm/weir-scale.XXXXXX)
chmod 755 "$RUN"
OUT=${OUT:-${TMPDIR:-/tmp}/weir-scale/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" "$RUN/www"
declare -A SID
# start, stop_sessions, pick_ports, wait_port
source "$HERE/lib.sh"
cleanup() { # every session we started, by saved PID
  trap - EXIT INT TERM
  stop_sessions
  cp "$RUN"/*.log "$RUN"/*.toml "$OUT/" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "scale.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR

VARIANTS=(1 2 2s) # nbproc 1; nbproc 2, one shared socket; nbproc 2, shards = "by-worker"
read -r P_ORIGIN P1 P1T L1 P2 P2T L2 P3 P3T L3 <<<"$(pick_ports 10)"
[[ -n $L3 ]] || die "could not find free ports"
head -c 64 /dev/zero | tr '\0' x >"$RUN/www/64"
start_origin "$P_ORIGIN" || die "origin did not start: $(cat "$RUN/origin.log")"

declare -A HTTP TCPP LOGP
HTTP=([1]=$P1 [2]=$P2 [2s]=$P3)
TCPP=([1]=$P1T [2]=$P2T [2s]=$P3T)
LOGP=([1]=$L1 [2]=$L2 [2s]=$L3)
for n in "${VARIANTS[@]}"; do
  listen=''
  [[ $n == *s ]] && listen='shards = "by-worker"'
  mkdir -p "$RUN/w$n"
  start "logcount$n" "$CPU_CLIENT" python3 "$HERE/logcount.py" --port "${LOGP[$n]}" --deadline 3600
  start "weir$n" "$CPU_PROXY" env PB_LISTEN_HTTP="127.0.0.1:${HTTP[$n]}" \
    PB_LISTEN_TCP="127.0.0.1:${TCPP[$n]}" PB_ORIGIN="127.0.0.1:$P_ORIGIN" PB_WORKERS="${n%s}" \
    PB_RUNDIR="$RUN/w$n" PB_CPUS="$CPU_PROXY" WEIR_BENCH_LOG="udp://127.0.0.1:${LOGP[$n]}" \
    WEIR_BENCH_LISTEN="$listen" bash "$HERE/weir.sh"
done
for n in "${VARIANTS[@]}"; do
  wait_port "${HTTP[$n]}" || die "weir nbproc=$n did not start: $(tail -5 "$RUN/weir$n.log")"
  [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${HTTP[$n]}/64") == 200 ]] ||
    die "weir nbproc=$n does not serve"
  cp "$RUN/w$n/weir.toml" "$RUN/weir-nbproc$n.toml"
done

snapshot() { # snapshot N: log lines counted since the previous snapshot, weir nbproc=N
  local f=$RUN/logcount$1.log before i
  before=$(grep -c '^counts' "$f" || true)
  kill -USR1 "${SID[logcount$1]}"
  for ((i = 0; i < 50; i++)); do
    (($(grep -c '^counts' "$f" || true) > before)) && break
    sleep 0.1
  done
  grep '^counts' "$f" | tail -n 1 | cut -d' ' -f2-
}
for n in "${VARIANTS[@]}"; do # the reader is up once it answers
  for ((i = 0; i < 50; i++)); do grep -q '^ready' "$RUN/logcount$n.log" && break; sleep 0.1; done
  snapshot "$n" >/dev/null
done

printf 'scenario\tnbproc\tround\trps\tp99_us\terrors\tcpu_us_per_req\tworker_cpu_pct\tlog_lines_per_pid\tconns_per_pid_midrun\tforeign_cpu_pct\n' >"$OUT/scale.tsv"
run() { # run SCENARIO N ROUND: one wrk run against weir variant N (1, 2, 2s), a row of scale.tsv
  local sc=$1 n=$2 r=$3 hdr=() port=${HTTP[$2]}
  [[ $sc == close-* ]] && hdr=(-H 'Connection: close')
  local pids workers master c0 c1 w0=() w1=() i all0 all1 b0 b1 st0 st1 TIMEFORMAT='%3U %3S'
  wait_quiet
  mapfile -t pids < <(pgrep -s "${SID[weir$n]}")
  master=$(pgrep -s "${SID[weir$n]}" -x weir | sort -n | sed -n 1p)
  mapfile -t workers < <(pgrep -P "$master" "^weir-worker-" | sort -n || true)
  snapshot "$n" >/dev/null
  c0=$(ticks "${pids[@]}")
  # shellcheck disable=SC2046
  all0=$(ticks $(for s in "${SID[@]}"; do pgrep -s "$s"; done))
  read -r b0 st0 < <(busy_ticks)
  for i in "${workers[@]}"; do w0+=("$(ticks "$i")"); done
  { sleep "$((DURATION / 2)).5"; ss -Htnp state established "( sport = :$port )" >"$RUN/ss.out" 2>&1 || true; } &
  local sspid=$!
  { time timeout $((DURATION + 30)) taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d"${DURATION}s" \
    --timeout 5s -s "$HERE/report.lua" "${hdr[@]}" "http://127.0.0.1:$port/64" >"$RUN/wrk.out" 2>&1; } \
    2>"$RUN/wrk.time" || true
  read -r b1 st1 < <(busy_ticks)
  c1=$(ticks "${pids[@]}")
  # shellcheck disable=SC2046
  all1=$(ticks $(for s in "${SID[@]}"; do pgrep -s "$s"; done))
  wait "$sspid" || true
  for i in "${workers[@]}"; do w1+=("$(ticks "$i")"); done
  sleep 0.3 # the last datagrams
  local counts conns pb wcpu=()
  counts=$(snapshot "$n")
  conns=$(grep -o 'pid=[0-9]*' "$RUN/ss.out" | sort | uniq -c |
    awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), substr($2, 5), $1 }' || true)
  for i in "${!workers[@]}"; do wcpu+=("${workers[i]}=$(((w1[i] - w0[i]) / DURATION))%"); done
  pb=$(grep -m1 '^PB' "$RUN/wrk.out") || { echo "wrk failed: $(cat "$RUN/wrk.out")" >&2; return 0; }
  # other tenants + steal during the run, % of one CPU (what is not weir, origin, reader, wrk)
  local wrkt foreign
  wrkt=$(awk '{ print int(($1 + $2) * 100) }' "$RUN/wrk.time")
  foreign=$(((b1 - b0) - (all1 - all0) - wrkt + (st1 - st0)))
  awk -v F="$pb" -v sc="$sc" -v n="$n" -v r="$r" -v cpu=$((c1 - c0)) -v counts="$counts" \
    -v conns="${conns:--}" -v wcpu="${wcpu[*]}" -v fg="$foreign" 'BEGIN {
      split(F, f, "\t"); req = f[2]; secs = f[4] / 1e6
      printf "%s\t%s\t%d\t%.0f\t%d\t%d\t%.1f\t%s\t%s\t%s\t%.0f\n", sc, n, r, req / secs, f[6],
        f[8] + f[9], cpu * 1e4 / req, wcpu, counts, conns, (fg > 0 ? fg / secs : 0) }' | tee -a "$OUT/scale.tsv"
}

for sc in "${SCENARIOS[@]}"; do
  [[ $sc =~ ^(ka|close)-64$ ]] || die "scale.sh runs ka-64 and close-64 only, not $sc"
  echo "== scale: $sc"
  for n in "${VARIANTS[@]}"; do # warm-up, not recorded
    timeout 30 taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:${HTTP[$n]}/64" >/dev/null 2>&1 || true
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=(1 2 2s); else order=(2s 2 1); fi
    for n in "${order[@]}"; do run "$sc" "$n" "$r"; done
  done
done

python3 "$HERE/scale_summary.py" "$OUT/scale.tsv" | tee "$OUT/scale.txt"
