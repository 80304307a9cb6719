#!/usr/bin/env bash
# run.sh: `make bench` and `make bench-quick`. weir against HAProxy and nginx
# on this machine, in one run, as ratios (issue 6):
#   1. peerbench.sh with weir in its --ours slot (bench/weir.sh writes the
#      config): the memory per idle keep-alive connection, then every scenario
#      for direct, haproxy, nginx and weir in interleaved rounds;
#   2. scale.sh: weir's CPU per request at nbproc 1, nbproc 2 on a shared socket and
#      nbproc 2 with shards = "by-worker" (one SO_REUSEPORT socket each), and the spread of
#      connections over the workers;
#   3. logging: ka-64 again with weir logging every request to UDP syslog
#      (HAProxy without), to show what the log line costs;
#   4. alloc.sh (weir built with its `count-alloc` feature, in target/count-alloc/):
#      heap allocations per request;
#   5. close-64 again in peerbench's shared layout (wrk alone on CPU 0, the
#      proxies beside the origin on CPU 1), where keeping origin connections
#      across client connections shows most (issue 16);
#   6. h2bench.sh: HTTP/2 clients (h2load, h2c and TLS, 64 B and 256 KiB)
#      through weir, HAProxy and nginx, and memory per idle HTTP/2 connection.
#   7. tables.sh: a rate-limit table's cost (weir with and without one, HAProxy
#      with and without the equivalent stick table) and its memory per entry.
#   8. TLS (issue 11): peerbench's tls-* scenarios, weir against HAProxy and
#      nginx: tls-close-64 with full handshakes (ECDSA P-256, then RSA 2048:
#      --tls-resume no) and resumed ones, tls-ka-64, tls-ka-256k, and the
#      memory per idle TLS connection (bench/tls_summary.py makes the table).
#      `bench/run.sh --tls-only` runs this step alone.
# Everything lands in bench/results/<stamp>/ (git-ignored); summary.txt holds
# the tables and is printed at the end.
#
#   bench/run.sh [--quick | --smoke] [--out DIR] [peerbench options...]
#     (default)  full: 10,000 idle conns; 6 scenarios x 4 targets x 3 rounds x 5 s;
#                scale 3 rounds x 5 s; the TLS step  (about 35 minutes)
#     --quick    ka-64, close-64, tcp-ka-64, tcp-ka-256k; 2 rounds x 3 s; 2,000 idle
#                conns; scale 1 round x 2 s  (about 3 minutes)
#     --tls-only the TLS step alone, with the full mode's rounds (about 20 minutes)
#     --smoke    ka-64 only, haproxy and weir, 1 round x 1 s, no memory test, no
#                waiting for a quiet machine, no scale (a few seconds; the smoke test)
# WEIR_BIN=path uses that binary instead of building target/release/weir.
# Needs root (peerbench installs what it lacks with apt-get).
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
MODE=full OUT='' EXTRA=() TLS_ONLY=0
while (($#)); do
  case $1 in
    --quick) MODE=quick ;;
    --smoke) MODE=smoke ;;
    --tls-only) TLS_ONLY=1 ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
((EUID == 0)) || { echo "bench: run it as root (sudo make bench)" >&2; exit 1; }
OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)-$MODE}
mkdir -p "$OUT"
case $MODE in
  full) COMMAND="make bench" ;;
  quick) COMMAND="make bench-quick" ;;
  smoke) COMMAND="bench/run.sh --smoke" ;;
esac

if [[ -z ${WEIR_BIN:-} ]]; then
  echo "== cargo build --release -p weir"
  (cd "$ROOT" && timeout 1800 cargo build --release -q -p weir)
  WEIR_BIN=$ROOT/target/release/weir
fi
export WEIR_BIN
"$WEIR_BIN" -v | sed -n 1p >"$OUT/weir-version.txt" || true

case $MODE in
  full) PB=() SCALE=(--rounds 3 --duration 5) ALLOC_ARGS=(--duration 5) LOGGING=(--rounds 3 --duration 5)
    SHARED=(--rounds 3 --duration 5) H2=(--rounds 3 --duration 5) ;;
  quick) PB=(--scenarios ka-64,close-64,tcp-ka-64,tcp-ka-256k --rounds 2 --duration 3 --mem 2000
    --quiet-budget 60) SCALE=(--rounds 1 --duration 2) ALLOC_ARGS=(--duration 2 --scenarios ka-64,close-64)
    LOGGING=(--rounds 2 --duration 3 --quiet-budget 60) SHARED=(--rounds 2 --duration 3 --quiet-budget 60)
    H2=(--rounds 1 --duration 3 --idle 500) ;;
  smoke) PB=(--scenarios ka-64 --targets haproxy --rounds 1 --duration 1 --warmup 1 --mem 0
    --quiet-budget 0 --retries 0) SCALE=() ALLOC_ARGS=() LOGGING=() SHARED=() H2=() ;;
esac

case $MODE in
  full) TLS_ARGS=(--rounds 3 --duration 5) TLS_MEM=10000 ;;
  quick) TLS_ARGS=(--rounds 2 --duration 3 --quiet-budget 60) TLS_MEM=2000 ;;
  smoke) TLS_ARGS=() TLS_MEM=0 ;;
esac

tls_step() { # the TLS scenarios, in three peerbench runs under $OUT/tls
  local ours=(--ours-name weir --ours "exec $(printf %q "$HERE/weir.sh")")
  echo "== TLS: full ECDSA handshakes (no resumption)"
  timeout 1800 "$HERE/peerbench.sh" "${ours[@]}" --out "$OUT/tls/full" --targets haproxy,nginx \
    --scenarios tls-close-64 --tls-key ec --tls-resume no --mem 0 "${TLS_ARGS[@]}" "${EXTRA[@]}" ||
    echo "TLS full run failed" >&2
  echo "== TLS: resumed handshakes, keep-alive, idle TLS connections"
  timeout 1800 "$HERE/peerbench.sh" "${ours[@]}" --out "$OUT/tls/resumed" --targets haproxy,nginx \
    --scenarios tls-close-64,tls-ka-64,tls-ka-256k --tls-key ec --tls-resume yes \
    --mem "$TLS_MEM" "${TLS_ARGS[@]}" "${EXTRA[@]}" || echo "TLS resumed run failed" >&2
  echo "== TLS: full RSA 2048 handshakes"
  timeout 1800 "$HERE/peerbench.sh" "${ours[@]}" --out "$OUT/tls/rsa" --targets haproxy,nginx \
    --scenarios tls-close-64 --tls-key rsa --tls-resume no --mem 0 "${TLS_ARGS[@]}" "${EXTRA[@]}" ||
    echo "TLS RSA run failed" >&2
  python3 "$HERE/tls_summary.py" "$OUT/tls" >"$OUT/tls/tls.txt" || echo "# TLS: no table" >"$OUT/tls/tls.txt"
}

if ((TLS_ONLY)); then
  tls_step
  cat "$OUT/tls/tls.txt"
  echo "results: $OUT/tls/tls.txt"
  exit 0
fi

echo "== peerbench: weir, HAProxy, nginx and direct ($MODE) -> $OUT"
timeout 3600 "$HERE/peerbench.sh" --ours-name weir --ours "exec $(printf %q "$HERE/weir.sh")" \
  --out "$OUT" "${PB[@]}" "${EXTRA[@]}"

if [[ $MODE != smoke ]]; then
  # The same HTTP keep-alive load with weir logging every request (httplog as
  # RFC 3164 datagrams to a UDP port nobody reads), HAProxy as before (no log):
  # what weir's log line costs, with HAProxy as the yardstick in the same run.
  echo "== logging: weir with httplog to UDP syslog, against HAProxy without"
  timeout 1800 "$HERE/peerbench.sh" --ours-name weir-log \
    --ours "WEIR_BENCH_LOG=udp://127.0.0.1:9 exec $(printf %q "$HERE/weir.sh")" \
    --out "$OUT/logging" --targets haproxy --scenarios ka-64 --mem 0 "${LOGGING[@]}" ||
    echo "logging run failed (see above)" >"$OUT/logging/failed"
fi

if ((${#SCALE[@]})); then
  echo "== scale: nbproc 1, nbproc 2 (shared socket), nbproc 2 (shards by-worker)"
  timeout 1800 "$HERE/scale.sh" "${SCALE[@]}" --out "$OUT/scale" ||
    echo "scale.sh failed (see above)" >"$OUT/scale/scale.txt"
fi

if ((${#SHARED[@]})); then
  echo "== close-64 in the shared layout (wrk on CPU 0, proxies and origin on CPU 1)"
  mkdir -p "$OUT/shared"
  timeout 1800 "$HERE/peerbench.sh" --ours-name weir --ours "exec $(printf %q "$HERE/weir.sh")" \
    --out "$OUT/shared" --layout shared --scenarios close-64 --mem 0 "${SHARED[@]}" ||
    echo "shared-layout run failed (see above)" >"$OUT/shared/failed"
fi

if ((${#H2[@]})); then
  echo "== HTTP/2 clients: h2load through weir, HAProxy and nginx"
  mkdir -p "$OUT/h2"
  timeout 1800 "$HERE/h2bench.sh" "${H2[@]}" --out "$OUT/h2" ||
    echo "h2bench.sh failed (see above)" >"$OUT/h2/failed"
fi

if [[ $MODE != smoke ]]; then
  echo "== tables: weir and HAProxy with and without a rate-limit table"
  TABLES_ARGS=(--rounds 3 --duration 5)
  [[ $MODE == quick ]] && TABLES_ARGS=(--rounds 1 --duration 3)
  timeout 1800 "$HERE/tables.sh" "${TABLES_ARGS[@]}" --out "$OUT/tables" ||
    echo "tables.sh failed (see above)" >"$OUT/tables/tables.txt"
fi
[[ $MODE != smoke ]] && tls_step

ALLOC=''
if [[ $MODE != smoke ]]; then
  if grep -q '^count-alloc' "$ROOT/master/Cargo.toml" 2>/dev/null && [[ -x $HERE/alloc.sh ]]; then
    echo "== allocations per request (count-alloc)"
    timeout 1800 "$HERE/alloc.sh" "${ALLOC_ARGS[@]}" --out "$OUT/alloc" || true
    ALLOC=$OUT/alloc/alloc.txt
  else
    ALLOC=none
  fi
fi

{
  echo "# weir benchmark: $COMMAND"
  echo "# $(date -Is) on $(hostname), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
  echo "# $(cat "$OUT/weir-version.txt" 2>/dev/null); $(sed -n 's/^\(HAProxy version [^ ]*\).*/\1/p' "$OUT/env.txt"); $(grep -m1 '^nginx version' "$OUT/env.txt" || true)"
  grep -E '^(layout|rounds)' "$OUT/env.txt" | sed 's/^/# /'
  echo
  python3 "$HERE/summarize.py" --ours weir "$OUT"
  if [[ -f $OUT/logging/results.tsv ]]; then
    echo "# logging: weir logging every request to UDP syslog (weir-log), HAProxy not logging"
    python3 "$HERE/summarize.py" --ours weir-log "$OUT/logging" | sed -n '/against HAProxy/,/^$/p'
  fi
  if [[ -f $OUT/scale/scale.txt ]]; then cat "$OUT/scale/scale.txt"; echo; fi
  if [[ -f $OUT/shared/results.tsv ]]; then
    echo "# close-64 in the shared layout (wrk alone on CPU 0; proxies and origin on CPU 1)"
    python3 "$HERE/summarize.py" --ours weir "$OUT/shared"
  fi
  if [[ -f $OUT/h2/summary.txt ]]; then cat "$OUT/h2/summary.txt"; echo; fi
  if [[ -f $OUT/tables/tables.txt ]]; then cat "$OUT/tables/tables.txt"; echo; fi
  if [[ -f $OUT/tls/tls.txt ]]; then cat "$OUT/tls/tls.txt"; fi
  if [[ $ALLOC == none ]]; then
    echo "# allocations per request: not measured (weir has no count-alloc feature yet)"
  elif [[ -n $ALLOC ]]; then
    cat "$ALLOC" 2>/dev/null || echo "# allocations per request: alloc.sh failed"
  fi
} >"$OUT/summary.txt"
echo
cat "$OUT/summary.txt"
echo "results: $OUT/summary.txt"
