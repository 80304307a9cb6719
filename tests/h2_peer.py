"""A scripted HTTP/2 client for the end-to-end tests (tests/h2_*.rs):
raw frames over a socket, encoded with Debian's python3-hpack and
hyperframe (the pieces of python3-h2), so that it can send what a
well-behaved client never would. Run by /usr/bin/python3:

    h2_peer.py SCENARIO PORT [ARG...]

It prints what weir sent, one fact a line (`emit` below: SETTINGS,
response heads and trailers, DATA bytes, RST_STREAM codes, GOAWAYs,
streams ended) and whether weir closed the connection; read by
tests/common/h2.rs. Scenarios are the functions named `s_*` below.
"""
import socket
import struct
import sys
import time

import hpack
import hyperframe.frame as hf

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINDOW, CONT = range(10)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


class Peer:
    def __init__(self, port, settings=None):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.dec.max_allowed_table_size = 65536
        self.buf = b""
        self.out = {
            "settings": {},
            "heads": {},
            "trailers": {},
            "data": {},
            "rst": {},
            "goaway": None,
            "goaways": [],
            "pings": 0,
            "window": 0,
            "closed": False,
            "ended": [],
        }
        payload = b"".join(struct.pack(">HI", k, v) for k, v in (settings or {}).items())
        self.send(PREFACE + frame(SETTINGS, 0, 0, payload))

    def send(self, b):
        try:
            self.sock.sendall(b)
        except OSError:
            self.out["closed"] = True

    def block(self, fields):
        return self.enc.encode(fields)

    def request(self, stream, path="/", method="GET", end=True, extra=(), authority=None):
        fields = [(":method", method), (":scheme", "http"), (":path", path),
                  (":authority", authority or "127.0.0.1:%d" % self.port)] + list(extra)
        flags = END_HEADERS | (END_STREAM if end else 0)
        self.send(frame(HEADERS, flags, stream, self.block(fields)))

    def data(self, stream, payload, end=False):
        self.send(frame(DATA, END_STREAM if end else 0, stream, payload))

    def read_frame(self, deadline):
        while True:
            if len(self.buf) >= 9:
                n = struct.unpack(">I", b"\0" + self.buf[:3])[0]
                if len(self.buf) >= 9 + n:
                    kind, flags = self.buf[3], self.buf[4]
                    stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
                    payload = self.buf[9:9 + n]
                    self.buf = self.buf[9 + n:]
                    return kind, flags, stream, payload
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                chunk = b""
            if not chunk:
                self.out["closed"] = True
                return None
            self.buf += chunk

    def on_frame(self, kind, flags, stream, payload):
        o = self.out
        s = str(stream)
        if kind in (DATA, HEADERS) and flags & END_STREAM:
            o["ended"].append(stream)
        if kind == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                o["settings"][str(k)] = v
            self.send(frame(SETTINGS, ACK, 0))
        elif kind == HEADERS:
            if flags & 0x8:
                payload = payload[1:len(payload) - payload[0]]
            if flags & 0x20:
                payload = payload[5:]
            fields = [[k, v] for k, v in self.dec.decode(payload, raw=False)]
            (o["trailers"] if s in o["heads"] else o["heads"])[s] = fields
        elif kind == DATA:
            o["data"][s] = o["data"].get(s, 0) + len(payload)
            self.on_data(stream, len(payload))
        elif kind == RST:
            o["rst"][s] = struct.unpack(">I", payload)[0]
        elif kind == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            g = {"last": last & 0x7FFFFFFF, "code": code, "debug": payload[8:].decode("utf-8", "replace")}
            o["goaways"].append(g)
            o["goaway"] = g
        elif kind == PING and not flags & ACK:
            o["pings"] += 1
            self.send(frame(PING, ACK, 0, payload))
        elif kind == WINDOW and stream == 0:
            o["window"] += struct.unpack(">I", payload)[0]

    def on_data(self, stream, n):
        """Credit DATA back (a reader that keeps up); see `stingy`."""
        if n and not getattr(self, "stingy", False):
            inc = struct.pack(">I", n)
            self.send(frame(WINDOW, 0, 0, inc) + frame(WINDOW, 0, stream, inc))

    def run(self, seconds, until=None):
        """Reads frames for up to `seconds`, or until the connection
        closes, or until `until(out)` holds."""
        deadline = time.time() + seconds
        while not self.out["closed"]:
            f = self.read_frame(deadline)
            if f is None:
                break
            self.on_frame(*f)
            if until and until(self.out):
                break
        return self.out

    def settle(self):
        """Waits for weir's SETTINGS (the handshake done)."""
        return self.run(5, lambda o: o["settings"] or o["closed"])


def done(stream):
    """The stream ended (END_STREAM or RST_STREAM from weir)."""
    return lambda o: stream in o["ended"] or str(stream) in o["rst"]


# Scenarios -----------------------------------------------------------

def s_settings(port):
    """weir's SETTINGS and connection window."""
    p = Peer(port)
    return p.run(2, lambda o: o["settings"] and o["window"])


def s_get(port, path, authority=None):
    """One GET; the whole response (heads, trailers, DATA bytes)."""
    p = Peer(port)
    p.request(1, path, authority=authority)
    return p.run(10, done(1))


def s_conn_headers(port):
    """One stream per connection-specific header (RFC 9113 §8.2.2), then
    `te: trailers` (allowed): which streams weir resets."""
    p = Peer(port)
    bad = [("connection", "keep-alive"), ("keep-alive", "timeout=5"), ("transfer-encoding", "chunked"),
           ("upgrade", "websocket"), ("te", "gzip"), ("proxy-connection", "keep-alive")]
    for i, h in enumerate(bad):
        p.request(1 + 2 * i, "/bad%d" % i, extra=[h])
    ok = 1 + 2 * len(bad)
    p.request(ok, "/ok", extra=[("te", "trailers")])
    return p.run(10, lambda o: len(o["rst"]) >= len(bad) and ok in o["ended"])


def s_seq(port, *paths):
    """GETs one after the other on one connection."""
    p = Peer(port)
    for i, path in enumerate(paths):
        p.request(1 + 2 * i, path)
        p.run(10, done(1 + 2 * i))
    return p.out


def s_trailers_up(port):
    """A POST without content-length, its DATA, then trailers."""
    p = Peer(port)
    p.request(1, "/up", method="POST", end=False)
    p.data(1, b"hello ")
    p.data(1, b"world")
    p.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, p.block([("x-trailer", "t1"), ("grpc-status", "0")])))
    return p.run(10, done(1))


def s_slow_reader(port, path, seconds):
    """A GET whose reader never sends WINDOW_UPDATE: weir may send 64 KiB
    minus one, then nothing; reads for `seconds` or until closed."""
    p = Peer(port)
    p.stingy = True
    p.request(1, path)
    return p.run(float(seconds))


def s_window_zero(port, path, seconds):
    """SETTINGS_INITIAL_WINDOW_SIZE 0: weir may send no DATA at all."""
    p = Peer(port, {4: 0})
    p.stingy = True
    p.request(1, path)
    return p.run(float(seconds))


def s_upload(port, size, framing):
    """A POST of `size` bytes (with a content-length unless `framing` is
    `chunked`), sent within weir's windows."""
    size = int(size)
    p = Peer(port)
    p.settle()
    extra = [] if framing == "chunked" else [("content-length", str(size))]
    p.request(1, "/upload", method="POST", end=False, extra=extra)
    sent = 0
    chunk = b"x" * 16384
    credit = 65535
    # Within the default stream window, then as credit comes back.
    while sent < size:
        n = min(len(chunk), size - sent, credit)
        if n <= 0:
            before = p.out["window"]
            p.run(5, lambda o: o["window"] > before or o["closed"])
            credit += p.out["window"] - before
            if p.out["closed"]:
                break
            continue
        p.data(1, chunk[:n], end=sent + n == size)
        sent += n
        credit -= n
    return p.run(10, done(1))


def s_graceful(port, path):
    """A slow GET, then reads everything until weir closes (the test
    soft-stops weir meanwhile)."""
    p = Peer(port)
    p.request(1, path)
    print("sent", flush=True)
    out = p.run(20)
    return out


def s_streams(port, n, refused=10**9):
    """n POST streams left open (no END_STREAM): which are refused; until
    weir closes or `refused` streams are."""
    p = Peer(port)
    p.settle()
    for i in range(int(n)):
        p.request(1 + 2 * i, "/open%d" % i, method="POST", end=False)
    return p.run(10, lambda o: o["closed"] or len(o["rst"]) >= int(refused))


# Attacks: each floods, then reads until weir closes.

def attack(port, build, seconds=10, settings=None):
    p = Peer(port, settings)
    p.settle()
    p.send(build(p))
    return p.run(seconds)


def s_rapid_reset(port, n=500):
    """CVE-2023-44487: open a stream, reset it at once, again and again."""
    def build(p):
        out = b""
        for i in range(int(n)):
            sid = 1 + 2 * i
            out += frame(HEADERS, END_HEADERS | END_STREAM, sid, p.block([
                (":method", "GET"), (":scheme", "http"), (":path", "/rr"), (":authority", "x")]))
            out += frame(RST, 0, sid, struct.pack(">I", 8))
        return out
    return attack(port, build)


def s_made_you_reset(port, n=300):
    """CVE-2025-8671: frames that make weir reset streams: a WINDOW_UPDATE
    overflowing a stream window, DATA on a half-closed stream."""
    def build(p):
        out = b""
        for i in range(int(n)):
            sid = 1 + 2 * i
            out += frame(HEADERS, END_HEADERS | (END_STREAM if i % 2 else 0), sid, p.block([
                (":method", "POST"), (":scheme", "http"), (":path", "/myr"), (":authority", "x")]))
            if i % 2:
                out += frame(DATA, 0, sid, b"late")
            else:
                out += frame(WINDOW, 0, sid, struct.pack(">I", 0x7FFFFFFF))
        return out
    return attack(port, build)


def s_continuation(port, n=100):
    """CVE-2024-27316: one field block in endless CONTINUATION frames."""
    def build(p):
        out = frame(HEADERS, 0, 1, p.block([(":method", "GET")]))
        for _ in range(int(n)):
            out += frame(CONT, 0, 1, p.block([("x-a", "b")]))
        return out
    return attack(port, build)


def s_settings_flood(port, n=300):
    return attack(port, lambda p: frame(SETTINGS, 0, 0) * int(n))


def s_ping_flood(port, n=300):
    return attack(port, lambda p: frame(PING, 0, 0, b"12345678") * int(n))


def s_empty_data(port, n=300):
    def build(p):
        out = frame(HEADERS, END_HEADERS, 1, p.block([
            (":method", "POST"), (":scheme", "http"), (":path", "/e"), (":authority", "x")]))
        return out + frame(DATA, 0, 1) * int(n)
    return attack(port, build)


def s_priority_flood(port, n=3000):
    def build(p):
        return b"".join(frame(PRIORITY, 0, 1 + 2 * (i % 50), struct.pack(">IB", 0, 16)) for i in range(int(n)))
    return attack(port, build)


def s_hpack_bomb(port, refs=20):
    """A 4000-byte field put in the dynamic table once, then referenced
    over and over: a few bytes on the wire, over 64 KiB decoded."""
    def build(p):
        value = b"v" * 4000
        block = b"\x40" + hpack_str(b"x-bomb") + hpack_str(value) + b"\xbe" * int(refs)
        head = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":path", "/b"), (":authority", "x")])
        return frame(HEADERS, END_HEADERS | END_STREAM, 1, head + block)
    return attack(port, build)


def s_table_size(port):
    """A dynamic table size update over weir's SETTINGS_HEADER_TABLE_SIZE."""
    def build(p):
        upd = hpack_int(100000, 5, 0x20)
        head = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":path", "/t"), (":authority", "x")])
        return frame(HEADERS, END_HEADERS | END_STREAM, 1, upd + head)
    return attack(port, build)


def s_invalid(port, what):
    """One invalid frame."""
    frames = {
        "ping_length": frame(PING, 0, 0, b"1234567"),
        "data_stream0": frame(DATA, 0, 0, b"x"),
        "window_zero": frame(WINDOW, 0, 0, struct.pack(">I", 0)),
        "settings_ack_payload": frame(SETTINGS, ACK, 0, b"\0\0\0\0\0\0"),
        "headers_even": frame(HEADERS, END_HEADERS | END_STREAM, 2, b"\x82"),
    }
    return attack(port, lambda p: frames[what])


def hpack_int(n, prefix, first):
    mx = (1 << prefix) - 1
    if n < mx:
        return bytes([first | n])
    out = [first | mx]
    n -= mx
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def hpack_str(b):
    return hpack_int(len(b), 7, 0) + b


def emit(o):
    """One line per fact; values last, so they may hold spaces."""
    lines = ["settings %s %d" % kv for kv in o["settings"].items()]
    for kind in ("heads", "trailers"):
        for sid, fields in o[kind].items():
            lines += ["%s %s %s %s" % (kind[:-1], sid, k, v) for k, v in fields]
    lines += ["data %s %d" % kv for kv in o["data"].items()]
    lines += ["rst %s %d" % kv for kv in o["rst"].items()]
    lines += ["goaway %d %d %s" % (g["last"], g["code"], g["debug"]) for g in o["goaways"]]
    lines += ["ended %d" % sid for sid in o["ended"]]
    lines += ["window %d" % o["window"], "closed %d" % o["closed"]]
    print("\n".join(lines), flush=True)


def main():
    name, port = sys.argv[1], int(sys.argv[2])
    emit(globals()["s_" + name](port, *sys.argv[3:]))


if __name__ == "__main__":
    main()
