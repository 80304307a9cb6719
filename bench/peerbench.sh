#!/usr/bin/env bash
# peerbench.sh: benchmark HTTP and TCP proxies side by side on one Linux host.
# (weir's copy of ../shared/bench/peerbench.sh, the shared harness this project
# was given, with its report.lua, idleconns.py and summarize.py; credits to its
# authors. Changed here: it installs what it lacks, exports PB_CPUS, takes
# --warmup/--quiet-budget/--retries for quick runs, runs the six scenarios of
# issue 6 by default; with tls-* scenarios its memory test also holds idle
# TLS connections (idleconns.py --tls, rows TARGET-tls). `make bench` runs it through bench/run.sh.)
#
# Targets, all in front of the same origin (nginx, 1 worker, fixed bodies on tmpfs):
#   direct   wrk straight at the origin (the ceiling)
#   haproxy  HAProxy, nbthread N, mode http + keep-alive, plus a mode tcp listener
#   nginx    nginx reverse proxy, N workers, upstream keepalive 64, plus stream {} tcp proxy
#   ours     optional (--ours CMD): the project's proxy, started by CMD (see below)
# Each scenario runs the targets in interleaved rounds whose order rotates
# (A B C, B C A, C A B, ...). Before each run it waits (bounded) for the machine to
# be quiet, and a run that other tenants or hypervisor steal disturbed is redone
# (bounded too). Results go to $TMPDIR/peerbench/<stamp>-<layout>/results.tsv and
# summarize.py prints the medians and the ratios to haproxy and direct.
# Run it as a script (not sourced), as root; see README.md.
#
# Usage: peerbench.sh [options]
#   --ours CMD        start the project's proxy with `bash -c CMD`, env given:
#                       PB_LISTEN_HTTP=127.0.0.1:port  PB_LISTEN_TCP=127.0.0.1:port
#                       PB_ORIGIN=127.0.0.1:port  PB_WORKERS=N  PB_RUNDIR=scratch dir
#                       PB_CPUS=CPUs it is pinned to (taskset list, e.g. 1-1)
#                       PB_LISTEN_TLS=127.0.0.1:port  PB_CERT=cert.pem PB_KEY=key.pem
#                       PB_CERT_BUNDLE=cert+key in one PEM (HAProxy's crt format)
#                       PB_TLS_RESUME=yes|no (no: no session cache, no tickets)
#                     CMD must stay in the foreground (use exec); all its processes
#                     are killed at the end. Its tcp listener is optional.
#   --ours-name NAME  label for it in the tables (default: ours)
#   --layout L        CPU pinning: split (default; proxies on CPU1, wrk+origin on CPU0)
#                     shared (wrk on CPU0, proxies+origin on CPU1), none (no pinning)
#   --rounds N        rounds per scenario (default 3)
#   --duration S      seconds per wrk run (default 5)
#   --conns N         wrk connections (default 50)
#   --workers N       proxy threads/workers (default 1)
#   --warmup S        seconds of the unrecorded warm-up run per target (default 2)
#   --quiet-budget S  total seconds it may wait for a quiet machine (default 300)
#   --retries N       noisy runs redone at most N times in all (default 20)
#   --scenarios LIST  comma list of [tcp-|tls-](ka|close)-(64|4k|256k)
#                     (default ka-64,ka-4k,ka-256k,close-64,tcp-ka-64,tcp-ka-256k)
#                     tls-*: HTTP over TLS terminated by the proxy (TLS 1.3, self-signed
#                     cert; close = a full handshake per request), plain HTTP to the origin
#   --tls-key TYPE    ec (default: ECDSA P-256) or rsa (RSA 2048) for the tls-* certificate
#   --tls-resume yes|no  no: the proxies keep no session cache and issue no tickets, so
#                     every tls-close connection is a full handshake (default yes: wrk
#                     resumes its TLS 1.3 session on reconnect)
#   --nginx-keepalive N  nginx upstream keepalive (default 64; below --conns it churns)
#   --targets LIST    subset of direct,haproxy,nginx (ours is added by --ours)
#   --mem N           idle-connection memory test with N conns first (default 10000, 0 = skip)
#   --no-bench        only the memory test
#   --out DIR         results directory
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

ROUNDS=3 DURATION=5 WARMUP=2 CONNS=50 WORKERS=1 LAYOUT=split MEM_CONNS=10000 BENCH=1
TARGETS=direct,haproxy,nginx OURS='' OURS_NAME=ours OUT='' TLS_KEY=ec TLS_RESUME=yes
SCENARIOS=ka-64,ka-4k,ka-256k,close-64,tcp-ka-64,tcp-ka-256k
NGX_KEEPALIVE=64      # nginx upstream keepalive (idle origin connections it caches)
MAXCONN=10500         # proxies' connection limit (the 10k idle test needs > 10000)
QUIET_PCT=15          # before each run wait until other tenants + hypervisor steal use
                      # < this % of one CPU,
QUIET_BUDGET=300      # ... but never wait more than this many seconds in total.
RETRIES=20            # runs disturbed by more than QUIET_PCT are redone, at most twice
                      # each and RETRIES times in all (discarded rows: discarded.tsv)

die() { echo "peerbench: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --ours) OURS=$2; shift ;;
    --ours-name) OURS_NAME=$2; shift ;;
    --layout) LAYOUT=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    --retries) RETRIES=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --tls-key) TLS_KEY=$2; shift ;;
    --tls-resume) TLS_RESUME=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --mem) MEM_CONNS=$2; shift ;;
    --nginx-keepalive) NGX_KEEPALIVE=$2; shift ;;
    --no-bench) BENCH=0 ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
  shift
done
[[ -n $OURS ]] && TARGETS+=",$OURS_NAME"
IFS=, read -ra TARGETS <<<"$TARGETS"
IFS=, read -ra SCENARIOS <<<"$SCENARIOS"
((EUID == 0)) || die "run it as root (it raises fd limits, pins CPUs and may install packages)"
# What it needs, as command:Debian package; missing ones are installed with apt-get.
need=() ngx_stream=/usr/lib/nginx/modules/ngx_stream_module.so
for b in haproxy:haproxy nginx:nginx wrk:wrk curl:curl python3:python3 taskset:util-linux \
  setsid:util-linux ss:iproute2 pgrep:procps openssl:openssl; do
  command -v "${b%%:*}" >/dev/null || need+=("${b#*:}")
done
[[ -e $ngx_stream ]] || need+=(libnginx-mod-stream)
if ((${#need[@]})); then
  command -v apt-get >/dev/null || die "missing ${need[*]} and no apt-get to install them"
  echo "peerbench: installing ${need[*]}" >&2
  timeout 600 apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${need[@]}" >&2 ||
    die "could not install ${need[*]}"
fi

# CPU layout. wrk always runs one thread; origin and proxies run WORKERS threads/processes.
LAST_CPU=$(($(nproc) - 1))
((LAST_CPU > 0)) || LAYOUT=none # one CPU: nothing to split
case $LAYOUT in
  split) CPU_CLIENT=0 CPU_ORIGIN=0 CPU_PROXY=1-$LAST_CPU ;;
  shared) CPU_CLIENT=0 CPU_ORIGIN=1-$LAST_CPU CPU_PROXY=1-$LAST_CPU ;;
  none) CPU_CLIENT=0-$LAST_CPU CPU_ORIGIN=0-$LAST_CPU CPU_PROXY=0-$LAST_CPU ;;
  *) die "unknown layout $LAYOUT" ;;
esac

# Scratch space on tmpfs; nginx workers run as nobody, hence 755.
RUN=$(mktemp -d /dev/shm/peerbench.XXXXXX)
chmod 755 "$RUN"
OUT=${OUT:-${TMPDIR:-/tmp}/peerbench/$(date +%Y%m%d-%H%M%S)-$LAYOUT}
mkdir -p "$OUT" "$RUN/www"

# ---------------------------------------------------------------- processes
declare -A SID HTTP_PORT TCP_PORT TLS_PORT # SID: PID of each started server = its session id

start() { # start NAME CPULIST CMD...: run CMD pinned, in its own session, log to RUN/NAME.log
  local name=$1 cpus=$2
  shift 2
  setsid taskset -c "$cpus" "$@" >>"$RUN/$name.log" 2>&1 </dev/null &
  SID[$name]=$!
}

cleanup() { # kill every session we started (by saved PID), keep configs and logs
  trap - EXIT INT TERM
  local s
  for s in "${SID[@]}"; do kill -TERM -- "-$s" 2>/dev/null || true; done
  sleep 1
  for s in "${SID[@]}"; do kill -KILL -- "-$s" 2>/dev/null || true; done
  cp "$RUN"/*.conf "$RUN"/*.toml "$RUN"/*.log "$OUT/" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "peerbench: line $LINENO failed: $BASH_COMMAND" >&2' ERR

pick_ports() { # pick_ports N: N free TCP ports below the ephemeral range
  local p found=()
  for ((p = 20000 + RANDOM % 9000; ${#found[@]} < $1 && p < 32000; p++)); do
    [[ -z $(ss -Htln "sport = :$p") ]] && found+=("$p")
  done
  echo "${found[@]}"
}

wait_port() { # wait_port PORT: true once something listens on it (10 s at most)
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -n $(ss -Htln "sport = :$1") ]] && return 0
    sleep 0.1
  done
  return 1
}

check_url() { # check_url BASEURL: expect 200 and the 4 KiB body
  [[ $(curl -sk -m 5 -o /dev/null -w '%{http_code} %{size_download}' "$1/4k") == "200 4096" ]]
}

ticks() { # ticks PID...: CPU ticks (user+sys, incl. reaped children) used by these processes
  local p
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
session_pids() { # session_pids SID...: every process of these sessions
  local s
  for s in "$@"; do pgrep -s "$s" || true; done
}
# Loopback softirq work that overflows to ksoftirqd is ours too, not another tenant's.
KSOFTIRQD=$(pgrep '^ksoftirqd/' || true)

busy_ticks() { # machine-wide busy and steal ticks: "busy steal" (100 ticks = 1 CPU-second)
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat
}

wait_quiet() { # let other tenants' bursts pass: bounded by QUIET_BUDGET seconds in all
  local a as b bs
  while ((QUIET_BUDGET > 0)); do
    read -r a as < <(busy_ticks)
    sleep 1
    read -r b bs < <(busy_ticks)
    ((b - a + bs - as < QUIET_PCT)) && return 0 # ticks/s == % of one CPU
    QUIET_BUDGET=$((QUIET_BUDGET - 1))
  done
}

# ---------------------------------------------------------------- origin
read -r P_ORIGIN P_HA_HTTP P_HA_TCP P_NG_HTTP P_NG_TCP P_OURS_HTTP P_OURS_TCP P_HA_TLS P_NG_TLS P_OURS_TLS <<<"$(pick_ports 10)"
[[ -n $P_OURS_TLS ]] || die "could not find 10 free ports"
# The tls-* certificate: self-signed for localhost, key and cert apart and bundled.
case $TLS_KEY in
  ec) KEYARGS=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;
  rsa) KEYARGS=(-newkey rsa:2048) ;;
  *) die "--tls-key: ec or rsa" ;;
esac
openssl req -x509 "${KEYARGS[@]}" -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -days 30 -keyout "$RUN/key.pem" -out "$RUN/cert.pem" 2>/dev/null || die "openssl req failed"
cat "$RUN/cert.pem" "$RUN/key.pem" >"$RUN/bundle.pem"
chmod 644 "$RUN"/*.pem
HA_TLS_OPTS='' HA_TLS_GLOBAL='' NG_TLS_OPTS=''
if [[ $TLS_RESUME == no ]]; then
  HA_TLS_OPTS='no-tls-tickets' HA_TLS_GLOBAL='tune.ssl.cachesize 0'
  NG_TLS_OPTS='ssl_session_tickets off; ssl_session_cache off;'
fi
for f in 64:64 4k:4096 256k:262144; do
  head -c "${f#*:}" /dev/zero | tr '\0' x >"$RUN/www/${f%%:*}"
done

# Common nginx boilerplate: foreground, scratch paths in RUN, no access log, long keep-alive.
nginx_head() { # nginx_head NAME WORKERS
  cat <<EOF
worker_processes $2;
daemon off;
pid $RUN/$1.pid;
error_log $RUN/$1.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 19000; }
EOF
}
nginx_http_common() {
  local d
  for d in client_body proxy fastcgi uwsgi scgi; do echo "  ${d}_temp_path $RUN/tmp_$d;"; done
  cat <<EOF
  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 1000000000;
  tcp_nodelay on;
EOF
}

{
  nginx_head origin 1
  echo "http {"
  nginx_http_common
  cat <<EOF
  sendfile on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$P_ORIGIN backlog=4096;
    root $RUN/www;
    location = /_status { stub_status; }
  }
}
EOF
} >"$RUN/origin.conf"
start origin "$CPU_ORIGIN" nginx -e "$RUN/origin.log" -c "$RUN/origin.conf"
wait_port "$P_ORIGIN" || die "origin did not start: $(cat "$RUN/origin.log")"
HTTP_PORT[direct]=$P_ORIGIN TCP_PORT[direct]=$P_ORIGIN

origin_accepts() { # connections accepted by the origin so far
  curl -s -m 2 "http://127.0.0.1:$P_ORIGIN/_status" | awk 'NR == 3 { print $1 }'
}

# ---------------------------------------------------------------- proxies
has_target() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }

if has_target haproxy; then
  cat >"$RUN/haproxy.conf" <<EOF
global
    nbthread $WORKERS
    maxconn $MAXCONN
    no strict-limits    # 2.6 refuses to start if it cannot raise the fd limit to 2*maxconn
    $HA_TLS_GLOBAL
defaults
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    maxconn $MAXCONN
frontend http_in
    mode http
    option http-keep-alive
    bind 127.0.0.1:$P_HA_HTTP
    default_backend origin
backend origin
    mode http
    option http-keep-alive
    server o1 127.0.0.1:$P_ORIGIN
listen tcp_in
    mode tcp
    bind 127.0.0.1:$P_HA_TCP
    server o1 127.0.0.1:$P_ORIGIN
frontend tls_in
    mode http
    option http-keep-alive
    bind 127.0.0.1:$P_HA_TLS ssl crt $RUN/bundle.pem $HA_TLS_OPTS
    default_backend origin
EOF
  start haproxy "$CPU_PROXY" haproxy -db -f "$RUN/haproxy.conf"
  HTTP_PORT[haproxy]=$P_HA_HTTP TCP_PORT[haproxy]=$P_HA_TCP TLS_PORT[haproxy]=$P_HA_TLS
fi

if has_target nginx; then
  {
    echo "load_module $ngx_stream;"
    nginx_head nginx "$WORKERS"
    echo "http {"
    nginx_http_common
    cat <<EOF
  upstream origin {
    server 127.0.0.1:$P_ORIGIN;
    keepalive $NGX_KEEPALIVE;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$P_NG_HTTP backlog=4096;
    listen 127.0.0.1:$P_NG_TLS ssl backlog=4096;
    ssl_certificate $RUN/cert.pem;
    ssl_certificate_key $RUN/key.pem;
    $NG_TLS_OPTS
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # stream bodies through 16k buffers like HAProxy; never spool to disk
      proxy_buffer_size 16k;
      proxy_buffers 4 16k;
      proxy_max_temp_file_size 0;
    }
  }
}
stream {
  server {
    listen 127.0.0.1:$P_NG_TCP backlog=4096;
    proxy_pass 127.0.0.1:$P_ORIGIN;
  }
}
EOF
  } >"$RUN/nginx.conf"
  start nginx "$CPU_PROXY" nginx -e "$RUN/nginx.log" -c "$RUN/nginx.conf"
  HTTP_PORT[nginx]=$P_NG_HTTP TCP_PORT[nginx]=$P_NG_TCP TLS_PORT[nginx]=$P_NG_TLS
fi

if [[ -n $OURS ]]; then
  start "$OURS_NAME" "$CPU_PROXY" env PB_LISTEN_HTTP="127.0.0.1:$P_OURS_HTTP" \
    PB_LISTEN_TCP="127.0.0.1:$P_OURS_TCP" PB_ORIGIN="127.0.0.1:$P_ORIGIN" \
    PB_LISTEN_TLS="127.0.0.1:$P_OURS_TLS" PB_CERT="$RUN/cert.pem" PB_KEY="$RUN/key.pem" \
    PB_CERT_BUNDLE="$RUN/bundle.pem" PB_TLS_RESUME="$TLS_RESUME" \
    PB_WORKERS="$WORKERS" PB_RUNDIR="$RUN" PB_CPUS="$CPU_PROXY" bash -c "$OURS"
  HTTP_PORT[$OURS_NAME]=$P_OURS_HTTP TCP_PORT[$OURS_NAME]=$P_OURS_TCP TLS_PORT[$OURS_NAME]=$P_OURS_TLS
fi

# Every target must answer on its http listener; a missing tcp listener only skips tcp-*.
for t in "${TARGETS[@]}"; do
  [[ -n ${HTTP_PORT[$t]:-} ]] || die "unknown target $t"
  { wait_port "${HTTP_PORT[$t]}" && check_url "http://127.0.0.1:${HTTP_PORT[$t]}"; } ||
    die "$t does not serve http on ${HTTP_PORT[$t]}: $(tail -5 "$RUN/$t.log")"
  if ! { wait_port "${TCP_PORT[$t]}" && check_url "http://127.0.0.1:${TCP_PORT[$t]}"; }; then
    echo "note: $t has no working tcp listener; tcp-* scenarios skip it" >&2
    TCP_PORT[$t]=''
  fi
  if [[ $t == direct ]]; then TLS_PORT[$t]=''
  elif ! { [[ -n ${TLS_PORT[$t]:-} ]] && wait_port "${TLS_PORT[$t]}" && check_url "https://127.0.0.1:${TLS_PORT[$t]}"; }; then
    echo "note: $t has no working tls listener; tls-* scenarios skip it" >&2
    TLS_PORT[$t]=''
  fi
done

{ # what was measured, for later comparison
  echo "date: $(date -Is)  host: $(hostname)  kernel: $(uname -r)  cpus: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo
  echo "layout: $LAYOUT client=$CPU_CLIENT origin=$CPU_ORIGIN proxies=$CPU_PROXY"
  echo "rounds=$ROUNDS duration=${DURATION}s conns=$CONNS workers=$WORKERS targets=${TARGETS[*]}"
  echo "nginx upstream keepalive=$NGX_KEEPALIVE  proxies' maxconn=$MAXCONN  tls key=$TLS_KEY resume=$TLS_RESUME"
  haproxy -v | sed -n 1p; nginx -v 2>&1; { wrk -v 2>&1 || true; } | sed -n 1p # sed, not head: no SIGPIPE
  if [[ -n $OURS ]]; then echo "ours ($OURS_NAME): $OURS"; fi
} >"$OUT/env.txt"
cat "$OUT/env.txt"
if has_target nginx && ((NGX_KEEPALIVE < CONNS)); then
  echo "note: nginx upstream keepalive $NGX_KEEPALIVE < $CONNS connections: it will churn origin connections (oc/kr)"
fi

# ---------------------------------------------------------------- memory test
if ((MEM_CONNS > 0)); then
  echo "== idle keep-alive connections: $MEM_CONNS per proxy"
  printf 'target\tconns\trss_idle_kib\trss_loaded_kib\tkib_per_conn\tfds_idle\tfds_loaded\tpss_idle_kib\n' >"$OUT/mem.tsv"
  for t in "${TARGETS[@]}"; do
    [[ $t == direct ]] && continue
    timeout 300 taskset -c "$CPU_CLIENT" python3 "$HERE/idleconns.py" --sid "${SID[$t]}" \
      --port "${HTTP_PORT[$t]}" -n "$MEM_CONNS" --label "$t" >>"$OUT/mem.tsv" ||
      echo "memory test failed for $t" >&2
    sleep 2 # let the proxy reap the closed connections
  done
  # With tls-* scenarios, the same with idle TLS connections (label TARGET-tls).
  if [[ ,$SCENARIOS, == *,tls-* ]]; then
    for t in "${TARGETS[@]}"; do
      [[ -n ${TLS_PORT[$t]:-} ]] || continue
      timeout 300 taskset -c "$CPU_CLIENT" python3 "$HERE/idleconns.py" --sid "${SID[$t]}" \
        --port "${TLS_PORT[$t]}" -n "$MEM_CONNS" --label "$t-tls" --tls >>"$OUT/mem.tsv" ||
        echo "TLS memory test failed for $t" >&2
      sleep 2
    done
  fi
  column -t "$OUT/mem.tsv"
fi
((BENCH)) || exit 0

# ---------------------------------------------------------------- benchmark
run_one() { # run_one SCENARIO TARGET ROUND SECONDS: one wrk run, its TSV row in RUN/row
  local sc=$1 t=$2 round=$3 secs=$4 port hdr=() path
  : >"$RUN/row"
  [[ $sc =~ ^(tcp-|tls-)?(ka|close)-(64|4k|256k)$ ]] || die "bad scenario $sc"
  path=/${BASH_REMATCH[3]}
  [[ ${BASH_REMATCH[2]} == close ]] && hdr=(-H 'Connection: close')
  local scheme=http
  case ${BASH_REMATCH[1]} in
    tcp-) port=${TCP_PORT[$t]} ;;
    tls-) port=${TLS_PORT[$t]:-}; scheme=https ;;
    *) port=${HTTP_PORT[$t]} ;;
  esac
  [[ -n $port ]] || return 0

  local sids=() s
  [[ $t != direct ]] && sids=("${SID[$t]}")
  local all=("${SID[@]}")
  local c0 a0 b0 st0 w0 c1 a1 b1 st1 w1 user sys TIMEFORMAT='%3U %3S'
  # shellcheck disable=SC2046,SC2086
  c0=$(ticks $(session_pids "${sids[@]}")) a0=$(origin_accepts) w0=$(ticks $(session_pids "${all[@]}") $KSOFTIRQD)
  read -r b0 st0 < <(busy_ticks)
  { time timeout $((secs + 30)) taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d"${secs}s" \
    --timeout 5s -s "$HERE/report.lua" "${hdr[@]}" "$scheme://127.0.0.1:$port$path" \
    >"$RUN/wrk.out" 2>&1; } 2>"$RUN/wrk.time" || true
  read -r b1 st1 < <(busy_ticks)
  # shellcheck disable=SC2046,SC2086
  c1=$(ticks $(session_pids "${sids[@]}")) a1=$(origin_accepts) w1=$(ticks $(session_pids "${all[@]}") $KSOFTIRQD)
  ((round > 0)) || return 0
  read -r user sys <"$RUN/wrk.time"
  local pb
  pb=$(grep -m1 '^PB' "$RUN/wrk.out") || { echo "wrk failed: $(cat "$RUN/wrk.out")" >&2; return 0; }
  # PB requests bytes duration_us p50 p99 max sockerr statuserr -> one results.tsv row
  awk -v F="$pb" -v l="$LAYOUT" -v sc="$sc" -v t="$t" -v r="$round" -v cpu=$((c1 - c0)) \
    -v acc=$((a1 - a0 - 1)) -v busy=$((b1 - b0)) -v steal=$((st1 - st0)) \
    -v ours=$((w1 - w0)) -v wrk="$user $sys" -v dir="$t" -v ncpu="$(nproc)" 'BEGIN {
      split(F, f, "\t"); req = f[2]; secs = f[4] / 1e6; split(wrk, w, " ")
      fg = busy - ours - (w[1] + w[2]) * 100            # ticks used by other tenants
      printf "%s\t%s\t%s\t%d\t%.0f\t%d\t%d\t%d\t%.1f\t%d\t%d\t%s\t%s\t%.1f\t%.0f\t%.0f\n",
        l, sc, t, r, req / secs, f[5], f[6], f[7], f[3] / secs / 1e6, f[8], f[9],
        (dir == "direct" ? "-" : sprintf("%.0f", cpu / secs)),
        (dir == "direct" ? "-" : sprintf("%.1f", cpu * 1e4 / req)),
        acc * 1000 / req, (fg > 0 ? fg / secs : 0), steal / secs
    }' >"$RUN/row"
}

printf 'layout\tscenario\ttarget\tround\trps\tp50_us\tp99_us\tmax_us\tMBps\tsock_err\tstatus_err\tproxy_cpu_pct\tproxy_us_per_req\torigin_conns_per_kreq\tforeign_cpu_pct\tsteal_pct\n' >"$OUT/results.tsv"
for sc in "${SCENARIOS[@]}"; do
  echo "== $sc"
  for t in "${TARGETS[@]}"; do run_one "$sc" "$t" 0 "$WARMUP"; done # warm-up, not recorded
  for ((r = 1; r <= ROUNDS; r++)); do
    n=${#TARGETS[@]}
    for ((i = 0; i < n; i++)); do # rotate the order each round: A B C, B C A, C A B
      for try in 0 1 2; do
        wait_quiet
        run_one "$sc" "${TARGETS[(i + r - 1) % n]}" "$r" "$DURATION"
        # other tenants + steal (% of one CPU) during the run; redo it if too noisy
        noise=$(awk -F'\t' '{ print int($15 + $16) }' "$RUN/row")
        ((${noise:-0} >= QUIET_PCT && try < 2 && RETRIES > 0)) || break
        RETRIES=$((RETRIES - 1))
        cat "$RUN/row" >>"$OUT/discarded.tsv"
        echo "  (noisy: ${noise}% of a CPU taken by others; redoing)"
      done
      cat "$RUN/row" >>"$OUT/results.tsv"
      cat "$RUN/row"
    done
  done
done

python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.txt"
