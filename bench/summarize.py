#!/usr/bin/env python3
"""summarize.py [--ours NAME] DIR...: tables from peerbench results (DIR/results.tsv, DIR/mem.tsv).
(weir's copy of ../shared/bench/summarize.py; credits to its authors. Added here:
--ours NAME prints a second table per run, NAME against HAProxy and direct.)

Per scenario and target, over the rounds: median req/s, spread of req/s
((max-min)/median), median p50/p99 latency, MB/s, the proxy's CPU use (% of one
CPU) and CPU microseconds per request, origin connections opened per 1000
requests, and median req/s relative to haproxy and to direct.
Flags: E = socket/status errors in some round, N = noisy: in some round other
tenants plus hypervisor steal took > 15% of a CPU. With several DIRs, a
run-to-run table follows.
"""
import csv, os, statistics as st, sys
from collections import defaultdict


def load(d):
    rows, scen, targ = defaultdict(list), [], []
    if not os.path.exists(f"{d}/results.tsv"):  # memory test only
        return rows, scen, targ
    with open(f"{d}/results.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[r["scenario"], r["target"]].append(r)
            scen += [r["scenario"]] if r["scenario"] not in scen else []
            targ += [r["target"]] if r["target"] not in targ else []
    return rows, scen, targ


def med(rs, col):
    v = [float(r[col]) for r in rs if r[col] not in ("-", "")]
    return st.median(v) if v else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def table(d):
    rows, scen, targ = load(d)
    layout = next(iter(rows.values()))[0]["layout"] if rows else "-"
    print(f"# {d}  (layout {layout})")
    hdr = ("scenario", "target", "req/s", "±%", "p50ms", "p99ms", "MB/s",
           "cpu%", "us/req", "oc/kr", "x_ha", "x_dir", "flags")
    out, spreads = [hdr], []
    for s in scen:
        base = {t: med(rows[s, t], "rps") for t in targ if rows.get((s, t))}
        for t in targ:
            rs = rows.get((s, t))
            if not rs:
                continue
            rps = [float(r["rps"]) for r in rs]
            m = st.median(rps)
            spread = 100 * (max(rps) - min(rps)) / m if m else 0
            spreads.append(spread)
            flags = ("E" if any(int(r["sock_err"]) + int(r["status_err"]) for r in rs) else "") + \
                    ("N" if any(float(r["foreign_cpu_pct"]) + float(r["steal_pct"]) > 15
                                for r in rs) else "")
            ha, di = base.get("haproxy"), base.get("direct")
            p50, p99 = med(rs, "p50_us"), med(rs, "p99_us")
            out.append((s, t, f"{m:.0f}", f"{spread:.1f}", f"{p50 / 1000:.2f}", f"{p99 / 1000:.2f}",
                        fmt(med(rs, "MBps"), ".1f"), fmt(med(rs, "proxy_cpu_pct"), ".0f"),
                        fmt(med(rs, "proxy_us_per_req"), ".1f"),
                        fmt(med(rs, "origin_conns_per_kreq"), ".0f"),
                        fmt(m / ha if ha else None, ".2f"), fmt(m / di if di else None, ".2f"),
                        flags or "."))
    w = [max(len(r[i]) for r in out) for i in range(len(hdr))]
    for r in out if spreads else []:
        print("  ".join(c.rjust(w[i]) if i > 1 else c.ljust(w[i]) for i, c in enumerate(r)))
    if spreads:
        print(f"mean round-to-round spread: {st.mean(spreads):.1f}%  (layout {layout})")
    if os.path.exists(f"{d}/discarded.tsv"):
        with open(f"{d}/discarded.tsv") as f:
            print(f"runs redone because others used the CPUs: {len(f.readlines())} (discarded.tsv)")
    try:
        with open(f"{d}/mem.tsv") as f:
            print("\nidle keep-alive connections (RSS summed over the proxy's processes):")
            for r in csv.DictReader(f, delimiter="\t"):
                print(f"  {r['target']:10} idle {int(r['rss_idle_kib']):7d} KiB (PSS {r['pss_idle_kib']}), with "
                      f"{r['conns']} conns {int(r['rss_loaded_kib']):7d} KiB -> "
                      f"{float(r['kib_per_conn']):.2f} KiB/conn (fds {r['fds_idle']} -> {r['fds_loaded']})")
    except FileNotFoundError:
        pass
    print()
    return rows, scen, targ


def versus(d, ours, rows, scen):
    """One line per scenario: OURS against haproxy (and direct), as ratios."""
    print(f"# {ours} against HAProxy (x = {ours} / haproxy; us/req = proxy CPU per request)")
    hdr = ("scenario", "req/s", "ha req/s", "x req/s", "x direct", "p50ms", "ha p50", "p99ms",
           "ha p99", "x p99", "us/req", "ha us/req", "x us/req", "flags")
    out = [hdr]
    for s in scen:
        o, h, di = rows.get((s, ours)), rows.get((s, "haproxy")), rows.get((s, "direct"))
        if not o:
            continue
        ratio = lambda a, b: fmt(a / b if a is not None and b else None, ".2f")
        m = lambda rs, c, k=1: None if not rs or med(rs, c) is None else med(rs, c) / k
        flags = ("E" if any(int(r["sock_err"]) + int(r["status_err"]) for r in o) else "") + \
                ("N" if any(float(r["foreign_cpu_pct"]) + float(r["steal_pct"]) > 15
                            for r in o + (h or [])) else "")
        out.append((s, fmt(m(o, "rps"), ".0f"), fmt(m(h, "rps"), ".0f"),
                    ratio(m(o, "rps"), m(h, "rps")), ratio(m(o, "rps"), m(di, "rps")),
                    fmt(m(o, "p50_us", 1000), ".2f"), fmt(m(h, "p50_us", 1000), ".2f"),
                    fmt(m(o, "p99_us", 1000), ".2f"), fmt(m(h, "p99_us", 1000), ".2f"),
                    ratio(m(o, "p99_us"), m(h, "p99_us")),
                    fmt(m(o, "proxy_us_per_req"), ".1f"), fmt(m(h, "proxy_us_per_req"), ".1f"),
                    ratio(m(o, "proxy_us_per_req"), m(h, "proxy_us_per_req")), flags or "."))
    w = [max(len(r[i]) for r in out) for i in range(len(hdr))]
    for r in out:
        print("  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)))
    print()


def main():
    args, ours = sys.argv[1:], None
    if args[:1] == ["--ours"] and len(args) > 1:
        ours, args = args[1], args[2:]
    if not args:
        sys.exit(__doc__)
    runs = []
    for d in args:
        runs.append(table(d))
        if ours and runs[-1][0]:
            versus(d, ours, runs[-1][0], runs[-1][1])
    if len(runs) < 2:
        return
    print("# run-to-run: median req/s per run, and (max-min)/mean")
    for s in runs[0][1]:
        for t in runs[0][2]:
            ms = [med(r[0].get((s, t), []), "rps") for r in runs]
            if None in ms:
                continue
            print(f"  {s:13} {t:8} " + " ".join(f"{m:9.0f}" for m in ms) +
                  f"   {100 * (max(ms) - min(ms)) / st.mean(ms):5.1f}%")


if __name__ == "__main__":
    main()
