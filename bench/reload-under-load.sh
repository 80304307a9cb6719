#!/usr/bin/env bash
# Reloads under load, at scale: wrk drives weir with keep-alive clients and,
# at the same time, with new-connection clients (Connection: close) while
# weir is reloaded N times with SIGUSR2 and then N times by pidfile
# (`weir -sf $(cat pidfile)`, which takes the old master's sockets over).
# An HTTP/2 client runs beside them: h2load with prior knowledge (10
# connections, 10 streams each) on a second bind, `proto = "h2"`; it keeps
# its connections open across the reloads, so each old worker must finish
# its streams after GOAWAY. Prints wrk's and h2load's totals; a reload that
# loses nothing shows no socket errors, no non-2xx responses and no failed
# or errored HTTP/2 request.
#
#   bench/reload-under-load.sh [RELOADS]      (default 50 of each kind)
#
# Needs: wrk, h2load (nghttp2-client), nginx (the origin), curl; builds weir
# in release mode (or WEIR_BIN=path uses that binary).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
for t in wrk h2load nginx curl; do command -v $t >/dev/null || { echo "needs $t (apt-get install $t)"; exit 1; }; done
if [[ -n ${WEIR_BIN:-} ]]; then WEIR=$WEIR_BIN; else cargo build --release -q -p weir; WEIR=$PWD/target/release/weir; fi
RUN=$(mktemp -d /tmp/weir-reload.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$RUN/weir.pid" ] && kill "$(cat "$RUN/weir.pid")" 2>/dev/null; sleep 0.5; rm -rf "$RUN"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
OPORT=$(free_port); WPORT=$(free_port); HPORT=$(free_port)

cat > "$RUN/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $RUN/nginx.pid; error_log $RUN/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$OPORT; location / { return 200 "hello\n"; } } }
NGX
nginx -c "$RUN/nginx.conf" & pids+=($!)

cat > "$RUN/weir.toml" <<CFG
[global]
nbproc = 2
log = "udp://127.0.0.1:9"
hard_stop_after = "30s"
[defaults]
mode = "http"
timeout = { connect = "2s", client = "30s", server = "30s", http_keep_alive = "10s" }
[frontend.fe]
bind = ["127.0.0.1:$WPORT", { address = "127.0.0.1:$HPORT", proto = "h2" }]
default_backend = "be"
[backend.be]
server = [ { name = "nginx", address = "127.0.0.1:$OPORT" } ]
CFG
"$WEIR" -q -f "$RUN/weir.toml" -p "$RUN/weir.pid" 2>"$RUN/weir.err" &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$WPORT/" >/dev/null 2>&1 && break; sleep 0.05; done

DUR=$(( N * 2 / 5 + 20 ))
wrk -t1 -c40 -d${DUR}s "http://127.0.0.1:$WPORT/" >"$RUN/wrk-keepalive.txt" 2>&1 & pids+=($!)
wrk -t1 -c10 -d${DUR}s -H "Connection: close" "http://127.0.0.1:$WPORT/" >"$RUN/wrk-close.txt" 2>&1 & pids+=($!)
h2load -c10 -m10 -t1 -D "$DUR" "http://127.0.0.1:$HPORT/" >"$RUN/h2load.txt" 2>&1 & pids+=($!)
sleep 2
for i in $(seq "$N"); do kill -USR2 "$(cat "$RUN/weir.pid")"; sleep 0.2; done
echo "$N SIGUSR2 reloads done"
for i in $(seq "$N"); do
  old=$(cat "$RUN/weir.pid")
  "$WEIR" -q -D -f "$RUN/weir.toml" -p "$RUN/weir.pid" -sf "$old" 2>>"$RUN/weir.err"
  sleep 0.2
done
echo "$N pidfile (-sf) reloads done"
wait "${pids[1]}" "${pids[2]}" "${pids[3]}"
for f in keepalive close; do
  echo "== wrk, $f clients =="
  grep -E "requests in|Socket errors|Non-2xx|Requests/sec" "$RUN/wrk-$f.txt" || true
done
echo "== h2load, HTTP/2 clients (10 connections x 10 streams) =="
grep -E "^(finished|requests|status codes)" "$RUN/h2load.txt" || true
errors=$(cat "$RUN"/wrk-*.txt | grep -cE "Socket errors|Non-2xx" || true)
# requests: T total, S started, D done, OK succeeded, F failed, E errored, ...
h2bad=$(awk '/^requests:/ { print $10 + $12 }' "$RUN/h2load.txt")
ok3xx=$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$RUN/h2load.txt")
errors=$((errors + ${h2bad:-1} + ${ok3xx:-1}))
if [ "$errors" -eq 0 ]; then echo "RESULT: no socket error, no non-2xx response"; else echo "RESULT: errors, see above"; exit 1; fi
