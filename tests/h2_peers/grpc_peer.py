"""A real gRPC server and client (grpcio) for tests/h2_server.rs.

    grpc_peer.py server PORT          serves t.S until killed
    grpc_peer.py client PORT SIZE     calls it through weir, prints results

Methods take and return raw bytes (no protobuf): U echoes with a trailer,
B is a bidirectional stream answered one message at a time (the client
sends the next only after the previous answer came back, so both
directions really interleave), F fails with PERMISSION_DENIED, Slow
answers after 2 s (a 0.5 s deadline must expire).
"""
import queue
import sys
import time
from concurrent import futures

import grpc

ident = lambda b: b
BIG = 64 * 1024 * 1024


def unary(req, ctx):
    ctx.set_trailing_metadata((("x-trailer", "t1"),))
    return b"echo:" + req


def bidi(it, ctx):
    for m in it:
        yield b"bidi:" + m


def fail(req, ctx):
    ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "nope")


def slow(req, ctx):
    time.sleep(2)
    return b"late"


OPTS = [("grpc.max_receive_message_length", BIG), ("grpc.max_send_message_length", BIG)]


def server(port):
    h = grpc.method_handlers_generic_handler("t.S", {
        "U": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "B": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
        "F": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
        "Slow": grpc.unary_unary_rpc_method_handler(slow, ident, ident),
    })
    s = grpc.server(futures.ThreadPoolExecutor(8), options=OPTS)
    s.add_generic_rpc_handlers((h,))
    s.add_insecure_port("127.0.0.1:%s" % port)
    s.start()
    print("ready", flush=True)
    s.wait_for_termination()


def client(port, size):
    ch = grpc.insecure_channel("127.0.0.1:%s" % port, options=OPTS)
    grpc.channel_ready_future(ch).result(timeout=10)
    u = ch.unary_unary("/t.S/U", ident, ident)
    r, call = u.with_call(b"hi", timeout=10)
    print("unary", r.decode(), call.code().name, dict(call.trailing_metadata()).get("x-trailer"))
    big = bytes(range(256)) * (size // 256)
    r = u(big, timeout=60)
    print("big", len(r), r == b"echo:" + big)
    # Bidi, in lock step: each message goes after the previous answer.
    out = queue.Queue()
    answers = ch.stream_stream("/t.S/B", ident, ident)(iter(out.get, None), timeout=20)
    got = []
    for m in [b"a", b"b", b"c" * 100000]:
        out.put(m)
        got.append(next(answers))
    out.put(None)
    rest = list(answers)
    print("bidi", [g[:6].decode() for g in got], len(got[2]), len(rest), answers.code().name)
    try:
        ch.unary_unary("/t.S/F", ident, ident)(b"x", timeout=10)
    except grpc.RpcError as e:
        print("fail", e.code().name, e.details())
    try:
        ch.unary_unary("/t.S/Slow", ident, ident)(b"x", timeout=0.5)
    except grpc.RpcError as e:
        print("deadline", e.code().name)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], int(sys.argv[3]))
