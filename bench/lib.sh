# lib.sh: helpers shared by weir's own bench scripts (alloc.sh, scale.sh,
# tables.sh, h2bench.sh), sourced after they set RUN (their scratch
# directory), CPU_CLIENT and `declare -A SID`.
# (peerbench.sh keeps its own copies, as the shared harness has them.)

start() { # start NAME CPUS CMD...: pinned, in its own session, output to RUN/NAME.log
  local name=$1 cpus=$2
  shift 2
  setsid taskset -c "$cpus" "$@" >>"$RUN/$name.log" 2>&1 </dev/null &
  SID[$name]=$!
}

stop_sessions() { # every session start() made, by saved PID: TERM, then KILL
  local s
  for s in "${SID[@]}"; do kill -TERM -- "-$s" 2>/dev/null || true; done
  sleep 1
  for s in "${SID[@]}"; do kill -KILL -- "-$s" 2>/dev/null || true; done
}

pick_ports() { # pick_ports N: N ports free for TCP and UDP, below the ephemeral range
  local p found=()
  for ((p = 20000 + RANDOM % 9000; ${#found[@]} < $1 && p < 32000; p++)); do
    [[ -z $(ss -Htuan "sport = :$p") ]] && found+=("$p")
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

busy_ticks() { # machine-wide busy and steal ticks: "busy steal" (100 ticks = 1 CPU-second)
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat
}

QUIET_PCT=15 QUIET_BUDGET=120
wait_quiet() { # as peerbench: until others use < QUIET_PCT% of a CPU, QUIET_BUDGET s in all
  local a as b bs
  while ((QUIET_BUDGET > 0)); do
    read -r a as < <(busy_ticks)
    sleep 1
    read -r b bs < <(busy_ticks)
    ((b - a + bs - as < QUIET_PCT)) && return 0
    QUIET_BUDGET=$((QUIET_BUDGET - 1))
  done
}

ticks() { # ticks PID...: CPU ticks of these processes (user+sys, with reaped children)
  local p
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

start_origin() { # start_origin PORT [HTTP_DIRECTIVES]: the origin every bench script
  # puts behind the proxies: nginx, 1 worker on CPU_CLIENT, serving RUN/www on
  # PORT, keep-alive without limit, no log, stub_status at /_status; true once
  # it listens
  cat >"$RUN/origin.conf" <<NGX
worker_processes 1;
daemon off;
pid $RUN/origin.pid;
error_log $RUN/origin.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 19000; }
http {
  access_log off; keepalive_timeout 300s; keepalive_requests 1000000000; tcp_nodelay on;
  client_body_temp_path $RUN/t1; proxy_temp_path $RUN/t2; fastcgi_temp_path $RUN/t3;
  uwsgi_temp_path $RUN/t4; scgi_temp_path $RUN/t5;
  ${2:-}
  server { listen 127.0.0.1:$1 backlog=4096; root $RUN/www; location = /_status { stub_status; } }
}
NGX
  start origin "$CPU_CLIENT" nginx -e "$RUN/origin.log" -c "$RUN/origin.conf"
  wait_port "$1"
}
