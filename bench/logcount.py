#!/usr/bin/env python3
"""logcount.py --port P: count weir's traffic log lines per worker, from syslog over UDP.

Binds 127.0.0.1:P (a large receive buffer) and counts the datagrams that are
traffic lines (`weir[PID]: ADDR:PORT [date] ...`, httplog and tcplog both start so)
per PID. On SIGUSR1 it prints one line, `counts PID=N PID=N ... drops=D`, with the
counts and the kernel's drops on its socket since the previous SIGUSR1, then starts
again from zero. It exits on SIGTERM or after --deadline seconds. Used by scale.sh.
"""
import argparse, collections, re, signal, socket, sys, time

LINE = re.compile(rb"weir\[(\d+)\]: [0-9a-fA-F:.\[\]]+:\d+ \[")


def udp_drops(port):
    """Drops counted by the kernel on the UDP socket bound to 127.0.0.1:port."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for l in f.readlines()[1:]:
            p = l.split()
            if p[1] == want:
                return int(p[-1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--deadline", type=float, default=3600)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    s.bind(("127.0.0.1", a.port))
    s.settimeout(0.5)
    counts, other = collections.Counter(), [0]
    drops0 = [udp_drops(a.port)]

    def report(*_):
        d = udp_drops(a.port)
        items = " ".join(f"{p}={n}" for p, n in sorted(counts.items()))
        print(f"counts {items} other={other[0]} drops={d - drops0[0]}".replace("  ", " "), flush=True)
        counts.clear()
        other[0], drops0[0] = 0, d

    signal.signal(signal.SIGUSR1, report)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    end = time.monotonic() + a.deadline
    while time.monotonic() < end:
        try:
            m = LINE.search(s.recv(65536))
        except socket.timeout:
            continue
        if m:
            counts[int(m.group(1))] += 1
        else:
            other[0] += 1


if __name__ == "__main__":
    main()
