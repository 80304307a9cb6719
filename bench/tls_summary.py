#!/usr/bin/env python3
"""tls_summary.py DIR: the TLS table of `make bench` (bench/run.sh's TLS step).

DIR holds three peerbench runs: full/ (ECDSA P-256, no resumption: every
tls-close connection a full handshake), resumed/ (ECDSA, resumption on:
tls-close resumed, tls-ka-64, tls-ka-256k, and the idle TLS memory test) and
rsa/ (RSA 2048, no resumption). Per case: proxy CPU us per request, req/s and
p99 for weir, HAProxy and nginx (medians over the rounds), weir's CPU per
request against HAProxy's, and the target of issue 11; then the memory per
idle TLS connection.
"""
import csv, os, statistics as st, sys

# (label, run, scenario, target ratio of weir's CPU/req to HAProxy's)
CASES = [
    ("tls-close-64 full ECDSA", "full", "tls-close-64", 0.5),
    ("tls-close-64 resumed", "resumed", "tls-close-64", 0.5),
    ("tls-close-64 full RSA", "rsa", "tls-close-64", None),
    ("tls-ka-64", "resumed", "tls-ka-64", 0.8),
    ("tls-ka-256k", "resumed", "tls-ka-256k", 0.7),
]
TARGETS = ("weir", "haproxy", "nginx")


def rows(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            out.setdefault((r["scenario"], r["target"]), []).append(r)
    return out


def med(rs, col):
    v = [float(r[col]) for r in rs or [] if r[col] not in ("-", "")]
    return st.median(v) if v else None


def f(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    runs = {k: rows(f"{d}/{k}/results.tsv") for k in ("full", "resumed", "rsa")}
    print("# TLS: proxy CPU us/req, req/s, p99 ms (medians); x = weir / HAProxy CPU per request")
    hdr = ["case"]
    for t in TARGETS:
        hdr += [f"{t} us/req", f"{t} req/s", f"{t} p99"]
    hdr += ["x", "target"]
    out = [hdr]
    for label, run, sc, target in CASES:
        r = runs[run]
        line, cpu = [label], {}
        for t in TARGETS:
            rs = r.get((sc, t))
            cpu[t] = med(rs, "proxy_us_per_req")
            p99 = med(rs, "p99_us")
            line += [f(cpu[t], ".1f"), f(med(rs, "rps"), ".0f"),
                     f(p99 / 1000 if p99 is not None else None, ".2f")]
        x = cpu["weir"] / cpu["haproxy"] if cpu["weir"] and cpu["haproxy"] else None
        line += [f(x, ".2f"), f"<= {target}" if target else "-"]
        out.append(line)
    w = [max(len(r[i]) for r in out) for i in range(len(hdr))]
    for r in out:
        print("  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)))
    mem = {}
    try:
        with open(f"{d}/resumed/mem.tsv") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                mem[r["target"]] = r
    except FileNotFoundError:
        pass
    if mem:
        print("\n# memory per idle keep-alive connection (VmRSS growth, KiB)")
        for t in TARGETS:
            plain, tls = mem.get(t), mem.get(f"{t}-tls")
            print(f"  {t:8} plain {f(float(plain['kib_per_conn']) if plain else None, '.2f'):>7}"
                  f"  TLS {f(float(tls['kib_per_conn']) if tls else None, '.2f'):>7}"
                  f"  ({tls['conns'] if tls else 0} TLS conns)")
        w_, h_ = mem.get("weir-tls"), mem.get("haproxy-tls")
        if w_ and h_ and float(h_["kib_per_conn"]) > 0:
            x = float(w_["kib_per_conn"]) / float(h_["kib_per_conn"])
            print(f"  weir / HAProxy per idle TLS connection: {x:.2f} (target <= 0.25)")
    print()


if __name__ == "__main__":
    main()
