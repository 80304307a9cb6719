#!/usr/bin/env bash
# h2bench.sh: HTTP/2 clients through weir, HAProxy 2.6 and nginx 1.22 (issue 12's
# speed targets), each proxy one worker / one thread, all in front of the same
# HTTP/1.1 origin (nginx, 1 worker, bodies on tmpfs), with h2load as the client.
#
# Layout as peerbench's split: the proxy under test alone on the last CPU,
# h2load (1 thread) and the origin on CPU 0. Scenarios:
#   h2c-64, h2c-256k   HTTP/2 with prior knowledge over clear text
#   h2s-64, h2s-256k   HTTP/2 over TLS 1.3 (ECDSA P-256, ALPN h2)
# each `h2load -c CONNS -m STREAMS` (default -c 50 -m 10) for DURATION s per
# run, ROUNDS interleaved rounds whose order rotates. Per run: req/s, p50 and
# p99 (from h2load's per-request log), the proxy's CPU µs per request
# (user+sys of all its processes over the requests h2load completed), and
# origin connections per 1,000 requests (nginx stub_status at the origin).
# First (on fresh processes), memory per idle HTTP/2 connection: IDLE
# connections each open (preface, SETTINGS, one request answered) and left
# idle; the proxy's summed VmRSS before and after, divided by IDLE.
#
#   bench/h2bench.sh [--rounds N] [--duration S] [--conns N] [--streams N]
#                    [--scenarios LIST] [--idle N] [--out DIR]
# Needs root; WEIR_BIN or target/release/weir (built when missing).
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=3 DURATION=5 CONNS=50 STREAMS=10 IDLE=2000 OUT=''
SCENARIOS=h2c-64,h2c-256k,h2s-64,h2s-256k
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --streams) STREAMS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --idle) IDLE=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "h2bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "h2bench.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "run it as root"
for b in nginx haproxy h2load openssl curl python3 taskset setsid ss; do
  command -v $b >/dev/null || die "missing $b (apt-get install nghttp2-client haproxy nginx)"
done
WEIR=${WEIR_BIN:-$HERE/../target/release/weir}
if [[ ! -x $WEIR ]]; then (cd "$HERE/.." && timeout 1800 cargo build --release -q -p weir); fi
IFS=, read -ra SCENARIOS <<<"$SCENARIOS"

LAST_CPU=$(($(nproc) - 1))
CPU_CLIENT=0 CPU_PROXY=$LAST_CPU
RUN=$(mktemp -d /dev/shm/weir-h2bench.XXXXXX)
chmod 755 "$RUN"
OUT=${OUT:-${TMPDIR:-/tmp}/weir-h2bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" "$RUN/www"
declare -A SID
# start, stop_sessions, pick_ports, wait_port
source "$HERE/lib.sh"
cleanup() {
  trap - EXIT INT TERM
  stop_sessions
  cp "$RUN"/*.log "$RUN"/*.conf "$RUN"/*.toml "$OUT/" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "h2bench.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
session_pids() { pgrep -s "$1" || true; }
rss_kib() { # rss_kib PID...: summed VmRSS
  local p
  for p in "$@"; do grep -s VmRSS "/proc/$p/status" || true; done | awk '{ t += $2 } END { print t + 0 }'
}

TARGETS=(haproxy nginx weir)
read -r P_ORIGIN HA_C HA_S NG_C NG_S WE_C WE_S <<<"$(pick_ports 7)"
[[ -n $WE_S ]] || die "could not find free ports"
declare -A PORT=([haproxy-h2c]=$HA_C [haproxy-h2s]=$HA_S [nginx-h2c]=$NG_C [nginx-h2s]=$NG_S
  [weir-h2c]=$WE_C [weir-h2s]=$WE_S)

head -c 64 /dev/zero | tr '\0' x >"$RUN/www/64"
head -c 262144 /dev/zero | tr '\0' x >"$RUN/www/256k"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -keyout "$RUN/key.pem" -out "$RUN/cert.pem" 2>/dev/null
cat "$RUN/cert.pem" "$RUN/key.pem" >"$RUN/bundle.pem"

ngx_common() { # ngx_common NAME
  local d
  cat <<EOF
worker_processes 1;
daemon off;
pid $RUN/$1.pid;
error_log $RUN/$1.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 19000; }
http {
  access_log off; keepalive_timeout 300s; keepalive_requests 1000000000; tcp_nodelay on;
  default_type application/octet-stream;
EOF
  for d in client_body proxy fastcgi uwsgi scgi; do echo "  ${d}_temp_path $RUN/tmp_$1_$d;"; done
}
start_origin "$P_ORIGIN" "sendfile on; default_type application/octet-stream;" ||
  die "origin did not start: $(cat "$RUN/origin.log")"
origin_accepts() { curl -s -m 2 "http://127.0.0.1:$P_ORIGIN/_status" | awk 'NR == 3 { print $1 }'; }

# Every proxy: 1 worker/thread, keep-alive and reuse to the origin with room
# for every concurrent stream (CONNS x STREAMS), TLS 1.3 with the same key.
KEEP=$((CONNS * STREAMS + 64))
cat >"$RUN/haproxy.conf" <<EOF
global
    nbthread 1
    maxconn 12000
    no strict-limits
    tune.ssl.default-dh-param 2048
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    option http-keep-alive
    http-reuse safe
    maxconn 12000
frontend h2c
    bind 127.0.0.1:$HA_C proto h2
    default_backend origin
frontend h2s
    bind 127.0.0.1:$HA_S ssl crt $RUN/bundle.pem alpn h2 ssl-min-ver TLSv1.3
    default_backend origin
backend origin
    server origin 127.0.0.1:$P_ORIGIN
EOF
{
  ngx_common nginx
  cat <<EOF
  upstream origin { server 127.0.0.1:$P_ORIGIN; keepalive $KEEP; }
  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffers 8 16k; proxy_buffer_size 16k;
  http2_max_concurrent_streams 128;
  server { listen 127.0.0.1:$NG_C http2; location / { proxy_pass http://origin; } }
  server {
    listen 127.0.0.1:$NG_S ssl http2;
    ssl_certificate $RUN/cert.pem; ssl_certificate_key $RUN/key.pem; ssl_protocols TLSv1.3;
    location / { proxy_pass http://origin; }
  }
}
EOF
} >"$RUN/nginx.conf"
hard=$(ulimit -Hn)
cat >"$RUN/weir.toml" <<EOF
[global]
nbproc = 1
cpu_map = [$CPU_PROXY]
maxconn = 12000
ulimit_n = $hard
log = []

[defaults]
timeout = { connect = "5s", client = "300s", server = "300s", http_keep_alive = "300s" }
http_reuse = "safe"

[listen.h2c]
mode = "http"
bind = [{ address = "127.0.0.1:$WE_C", proto = "h2" }]
server = [{ name = "origin", address = "127.0.0.1:$P_ORIGIN" }]

[listen.h2s]
mode = "http"
bind = [{ address = "127.0.0.1:$WE_S", tls = { crt = "$RUN/bundle.pem", alpn = ["h2"], min_version = "1.3" } }]
server = [{ name = "origin", address = "127.0.0.1:$P_ORIGIN" }]
EOF
"$WEIR" -c -f "$RUN/weir.toml" >/dev/null || die "weir refused its configuration: $("$WEIR" -c -f "$RUN/weir.toml" 2>&1)"
start haproxy "$CPU_PROXY" haproxy -db -f "$RUN/haproxy.conf"
start nginx "$CPU_PROXY" nginx -e "$RUN/nginx.log" -c "$RUN/nginx.conf"
start weir "$CPU_PROXY" "$WEIR" -q -f "$RUN/weir.toml"
for p in "${PORT[@]}"; do wait_port "$p" || die "nothing listens on $p (see $OUT/*.log)"; done

url() { # url TARGET SCENARIO
  local kind=${2%%-*} size=${2#*-}
  if [[ $kind == h2s ]]; then echo "https://127.0.0.1:${PORT[$1-$kind]}/$size"; else echo "http://127.0.0.1:${PORT[$1-$kind]}/$size"; fi
}
h2run() { # h2run TARGET SCENARIO SECONDS LOG: h2load's summary on stdout
  local args=(-c "$CONNS" -m "$STREAMS" -t 1 -D "$3") # http:// is h2c with prior knowledge
  taskset -c "$CPU_CLIENT" h2load "${args[@]}" --log-file="$4" "$(url "$1" "$2")" 2>&1
}

# Memory per idle HTTP/2 connection (clear text): IDLE connections each
# answered once, then idle; the proxy's VmRSS before and after. First,
# on fresh processes: after the load runs, a proxy's heap has grown and
# idle connections would reuse it unseen.
MEM=$OUT/mem.tsv
printf 'target\tconns\tkib_per_conn\n' >"$MEM"
if ((IDLE > 0)); then
  for t in "${TARGETS[@]}"; do
    pids=$(session_pids "${SID[$t]}")
    # shellcheck disable=SC2086
    before=$(rss_kib $pids)
    python3 - "$t" "${PORT[$t-h2c]}" "$IDLE" "$RUN/idle-$t.ready" <<'PY' &
import socket, sys, time
name, port, n, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# The preface, an empty SETTINGS, and GET /64 on stream 1 with literal
# header fields (no Huffman, no indexing): :method GET, :scheme http,
# :path /64, :authority localhost.
def lit(name, value):
    return bytes([0x00, len(name)]) + name + bytes([len(value)]) + value
block = lit(b":method", b"GET") + lit(b":scheme", b"http") + lit(b":path", b"/64") + lit(b":authority", b"localhost")
headers = len(block).to_bytes(3, "big") + bytes([0x1, 0x5]) + (1).to_bytes(4, "big") + block
hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) + headers
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello)
    socks.append(s)
deadline = time.time() + 60
got = [b""] * n
for i, s in enumerate(socks):  # each answered (the 64-byte body arrived)
    s.settimeout(max(1, deadline - time.time()))
    while b"x" * 64 not in got[i]:
        chunk = s.recv(65536)
        if not chunk:
            break
        got[i] += chunk
open(ready, "w").write("ok\n")
time.sleep(3600)
PY
    idle_pid=$!
    for ((k = 0; k < 600; k++)); do [[ -e $RUN/idle-$t.ready ]] && break; sleep 0.1; done
    sleep 1
    # shellcheck disable=SC2086
    after=$(rss_kib $pids)
    kill "$idle_pid" 2>/dev/null || true
    wait "$idle_pid" 2>/dev/null || true
    awk -v t="$t" -v n="$IDLE" -v b="$before" -v a="$after" 'BEGIN { printf "%s\t%d\t%.2f\n", t, n, (a - b) / n }' >>"$MEM"
  done
fi

TSV=$OUT/results.tsv
printf 'scenario\ttarget\tround\trps\tp50_us\tp99_us\tfailed\tproxy_us_per_req\torigin_conns_per_kreq\n' >"$TSV"
for s in "${SCENARIOS[@]}"; do
  for t in "${TARGETS[@]}"; do h2run "$t" "$s" 2 /dev/null >/dev/null || true; done # warm-up
  for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < ${#TARGETS[@]}; i++)); do
      t=${TARGETS[(i + r) % ${#TARGETS[@]}]}
      wait_quiet
      pids=$(session_pids "${SID[$t]}")
      # shellcheck disable=SC2086
      c0=$(ticks $pids) a0=$(origin_accepts)
      summary=$(h2run "$t" "$s" "$DURATION" "$RUN/req.log")
      # shellcheck disable=SC2086
      c1=$(ticks $pids) a1=$(origin_accepts)
      done_n=$(awk '/^requests:/ { print $8 }' <<<"$summary")
      failed=$(awk '/^requests:/ { print $10 }' <<<"$summary")
      rps=$(awk '/^finished in/ { sub(/,/, "", $4); print $4 }' <<<"$summary")
      read -r p50 p99 < <(awk '{ print $3 }' "$RUN/req.log" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "0 0"; else print v[int(NR * 0.50) + (NR * 0.50 > int(NR * 0.50))], v[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))] }')
      awk -v s="$s" -v t="$t" -v r="$r" -v rps="${rps:-0}" -v p50="$p50" -v p99="$p99" -v f="${failed:-0}" \
        -v n="${done_n:-0}" -v c=$((c1 - c0)) -v a=$((a1 - a0)) 'BEGIN {
          us = n > 0 ? c * 10000 / n : 0; oc = n > 0 ? a * 1000 / n : 0
          printf "%s\t%s\t%d\t%.0f\t%d\t%d\t%d\t%.1f\t%.1f\n", s, t, r, rps, p50, p99, f, us, oc }' >>"$TSV"
      tail -1 "$TSV"
    done
  done
done

python3 - "$TSV" "$MEM" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = {}
for r in rows:
    med.setdefault((r["scenario"], r["target"]), []).append(r)
def m(rs, k):
    return statistics.median(float(r[k]) for r in rs)
print("HTTP/2 clients (h2load), medians over rounds; x = weir / HAProxy")
print(f"{'scenario':<10} {'target':<8} {'req/s':>9} {'p50ms':>7} {'p99ms':>7} {'us/req':>7} {'oc/kr':>6} {'fail':>5}")
scen = []
for (s, t) in med:
    if s not in scen:
        scen.append(s)
for s in scen:
    for t in ("haproxy", "nginx", "weir"):
        rs = med.get((s, t))
        if not rs:
            continue
        print(f"{s:<10} {t:<8} {m(rs,'rps'):>9.0f} {m(rs,'p50_us')/1000:>7.2f} {m(rs,'p99_us')/1000:>7.2f} "
              f"{m(rs,'proxy_us_per_req'):>7.1f} {m(rs,'origin_conns_per_kreq'):>6.1f} {sum(int(r['failed']) for r in rs):>5}")
    w, h = med.get((s, "weir")), med.get((s, "haproxy"))
    if w and h:
        print(f"{'':<10} {'x':<8} {m(w,'rps')/max(m(h,'rps'),1):>9.2f} {'':>7} "
              f"{m(w,'p99_us')/max(m(h,'p99_us'),1):>7.2f} {m(w,'proxy_us_per_req')/max(m(h,'proxy_us_per_req'),0.001):>7.2f}")
mem = list(csv.DictReader(open(sys.argv[2]), delimiter="\t"))
if mem:
    print("\nmemory per idle HTTP/2 connection (clear text, one request answered)")
    for r in mem:
        print(f"  {r['target']:<8} {float(r['kib_per_conn']):>6.2f} KiB  ({r['conns']} connections)")
PY
