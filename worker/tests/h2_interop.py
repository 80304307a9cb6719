"""The other side of worker/tests/h2_interop.rs: Debian's python3-h2
(an independent HTTP/2 implementation) makes byte streams for weir's
frame and HPACK layer to read, and reads the bytes weir makes.

    h2_interop.py gen DIR            client streams into DIR/*.bin
    h2_interop.py as-client FILE     weir's server bytes, read by an h2 client
    h2_interop.py as-server FILE     weir's client bytes, read by an h2 server

The readers print one JSON object per h2 event.
"""
import json
import sys

import h2.config
import h2.connection
import h2.events
import hyperframe.frame as hf

REQUEST = [
    (":method", "POST"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/upload?x=1"),
    ("user-agent", "python-h2"),
    ("cookie", "a=1"),
    ("cookie", "b=2"),
]


def client():
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    return c


def requests(c):
    """Stream 1: POST with a body and trailers; stream 3: a GET."""
    c.send_headers(1, REQUEST)
    c.send_data(1, b"hello ")
    c.send_data(1, b"world")
    c.send_headers(1, [("grpc-status", "0")], end_stream=True)
    c.send_headers(3, [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/")], end_stream=True)


def gen(d):
    c = client()
    requests(c)
    open(f"{d}/client_request.bin", "wb").write(c.data_to_send())

    # CONTINUATION flood: one HEADERS, then 1000 one-byte CONTINUATIONs
    # (hyperframe serializes; h2 itself never floods).
    c = client()
    out = c.data_to_send()
    h = hf.HeadersFrame(1)
    h.data = b"\x82"
    out += h.serialize()
    for _ in range(1000):
        f = hf.ContinuationFrame(1)
        f.data = b"\x84"
        out += f.serialize()
    open(f"{d}/continuation_flood.bin", "wb").write(out)

    # Rapid reset: 1000 streams opened and reset at once.
    c = client()
    for i in range(1000):
        sid = 2 * i + 1
        c.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", "a"), (":path", f"/{i}")])
        c.reset_stream(sid)
    open(f"{d}/rapid_reset.bin", "wb").write(c.data_to_send())


def show(events):
    for e in events:
        o = {"event": type(e).__name__}
        for k in ("stream_id", "error_code", "last_stream_id", "additional_data", "flow_controlled_length"):
            if hasattr(e, k) and getattr(e, k) is not None:
                v = getattr(e, k)
                o[k] = v.decode("latin-1") if isinstance(v, bytes) else int(v)
        if getattr(e, "headers", None) is not None:
            o["headers"] = [[str(n), str(v)] for n, v in e.headers]
        if isinstance(e, h2.events.DataReceived):
            o["data"] = e.data.decode("latin-1")
        print(json.dumps(o))


def as_client(path):
    c = client()
    requests(c)
    c.data_to_send()
    show(c.receive_data(open(path, "rb").read()))


def as_server(path):
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    c.initiate_connection()
    show(c.receive_data(open(path, "rb").read()))


if __name__ == "__main__":
    {"gen": gen, "as-client": as_client, "as-server": as_server}[sys.argv[1]](sys.argv[2])
