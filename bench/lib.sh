# lib.sh: helpers shared by weir's own bench scripts (alloc.sh, scale.sh,
# tables.sh, h2bench.sh), sourced after they set RUN (their scratch
# directory) and `declare -A SID`.
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
