#!/usr/bin/env python3
"""scale_summary.py SCALE.TSV: the table of scale.sh (medians over the rounds).

nbproc "2" is two workers sharing one listening socket, "2s" two workers with
shards = "by-worker" (one SO_REUSEPORT socket each).
us/req is the CPU time of every weir process (master and workers) per request;
x us/req compares each with nbproc 1. "requests per worker" is each
worker's share of weir's log lines in each round (close-64: one request per
connection, so it is also the share of accepted connections); "conns mid-run"
is the established client connections per worker (ss -tnp) in each round.
"""
import csv, statistics as st, sys


def shares(field):
    c = [int(kv.split("=")[1]) for kv in field.split() if kv[0].isdigit()]
    tot = sum(c) or 1
    return "/".join(f"{100 * v / tot:.0f}%" for v in c) or "-"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    print("# scale: weir nbproc 1 vs 2 (shared socket) vs 2s (shards = \"by-worker\"), "
          "all workers on the proxy CPU, the same wrk load")
    hdr = ("scenario", "nbproc", "req/s", "p99ms", "us/req", "x us/req",
           "requests per worker (per round)", "conns mid-run (per round)")
    out, base = [hdr], {}
    for sc in dict.fromkeys(r["scenario"] for r in rows):
        for n in ("1", "2", "2s"):
            rs = [r for r in rows if r["scenario"] == sc and r["nbproc"] == n]
            if not rs:
                continue
            us = st.median(float(r["cpu_us_per_req"]) for r in rs)
            base.setdefault(sc, us)
            conns = "; ".join("/".join(kv.split("=")[1] for kv in r["conns_per_pid_midrun"].split())
                              if "=" in r["conns_per_pid_midrun"] else "-" for r in rs)
            out.append((sc, n, f"{st.median(float(r['rps']) for r in rs):.0f}",
                        f"{st.median(float(r['p99_us']) for r in rs) / 1000:.2f}", f"{us:.1f}",
                        f"{us / base[sc]:.2f}", "; ".join(shares(r["log_lines_per_pid"]) for r in rs),
                        conns))
    w = [max(len(r[i]) for r in out) for i in range(len(hdr))]
    for r in out:
        print("  ".join(c.rjust(w[i]) if 0 < i < 6 else c.ljust(w[i]) for i, c in enumerate(r)))
    lost = [r for r in rows if "drops=0" not in r["log_lines_per_pid"]]
    if lost:
        print(f"note: the log reader lost datagrams in {len(lost)} run(s) (drops= in scale.tsv): shares are approximate")
    noisy = [r for r in rows if float(r.get("foreign_cpu_pct") or 0) > 15]
    if noisy:
        print(f"note: other tenants took > 15% of a CPU in {len(noisy)} run(s) (foreign_cpu_pct in scale.tsv)")
    err = [r for r in rows if int(r["errors"])]
    if err:
        print(f"note: wrk saw errors in {len(err)} run(s) (scale.tsv)")


if __name__ == "__main__":
    main()
