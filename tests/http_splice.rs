//! `splice(2)` for HTTP bodies of known length: large Content-Length
//! responses on one keep-alive connection arrive whole (every byte
//! checked) and end exactly where their length says, so a small response
//! and HEAD/204/304 answers follow on the same client and server
//! connections; a server that closes mid-body leaves a truncated body, a
//! closed connection and `SD` in the log with the bytes the client got;
//! the SIGQUIT pipe-pool line shows that pipes carried the bodies and
//! that none stays held once the connection is idle. Request bodies of
//! known length splice the same way (client → pipe → server).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use common::client::Payload;
use common::http::{simple_config, Client, HttpLogs, Req};
use common::http_origin::HttpOrigin;
use common::http_wire::hash_of;
use common::origin::Origin;
use common::pipes::pipe_pool;
use common::{free_port, seed, Weir, DEADLINE};

const MIB: u64 = 1024 * 1024;

/// GETs `/download` of `len` bytes on `c` and checks every byte; returns
/// the response's wire length and its `X-Conn` (the origin's connection).
fn download(c: &mut Client, len: u64) -> (u64, String) {
    let s = seed() % 1_000_000;
    c.send(&Req::get(&format!("/download?bytes={len}&seed={s}")).bytes());
    let head = c.read_head().expect("response head");
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(
        head.header("Content-Length"),
        Some(len.to_string().as_str())
    );
    let mut want = Payload::new(s);
    let mut expect = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    c.conn
        .take(len, |b| {
            if expect.len() < b.len() {
                expect.resize(b.len(), 0);
            }
            want.fill(&mut expect[..b.len()]);
            assert!(
                b == &expect[..b.len()],
                "body differs within bytes {got}..{}",
                got + b.len() as u64
            );
            got += b.len() as u64;
        })
        .expect("the whole body");
    assert_eq!(got, len);
    let conn = head.header("X-Conn").unwrap_or_default().to_string();
    (head.wire_len + len, conn)
}

#[test]
fn large_bodies_end_exactly_and_the_connection_carries_on() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    let me = c.local_addr();

    let mut sizes = Vec::new();
    let mut conns = Vec::new();
    for len in [8 * MIB, 64 * MIB, 8 * MIB + 1] {
        let (wire, conn) = download(&mut c, len);
        sizes.push(wire);
        conns.push(conn);
    }
    // A small response, HEAD, 204 and 304 right after, on the same
    // connection: each large body ended exactly at its length.
    let small = c.get("/small");
    assert_eq!(small.status, 200, "{small:?}");
    let head = c.exchange(&Req::new("HEAD", &format!("/download?bytes={}", 8 * MIB)));
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(
        head.header("Content-Length"),
        Some((8 * MIB).to_string().as_str())
    );
    assert!(head.body.is_empty(), "{head:?}");
    for status in [204, 304] {
        let r = c.get(&format!("/status/{status}"));
        assert_eq!(r.status, status, "{r:?}");
        assert!(r.body.is_empty(), "{r:?}");
    }
    let last = c.get("/small");
    assert_eq!(last.status, 200, "{last:?}");
    conns.push(small.header("X-Conn").unwrap_or_default().to_string());
    conns.push(last.header("X-Conn").unwrap_or_default().to_string());
    assert!(
        conns.iter().all(|x| *x == conns[0]) && !conns[0].is_empty(),
        "one server connection carried every response: {conns:?}"
    );

    let logs = weir.wait_httplogs(8, DEADLINE);
    let mine: Vec<_> = logs.iter().filter(|l| l.client == me).collect();
    assert_eq!(mine.len(), 8, "{logs:?}");
    for (log, wire) in mine.iter().zip(&sizes) {
        assert_eq!(
            (log.status, log.bytes, log.termination.as_str()),
            (200, *wire, "----"),
            "{log:?}"
        );
    }
    let pipes = pipe_pool(&weir);
    assert!(
        pipes.spliced >= 72 * MIB && pipes.peak >= 1,
        "the large bodies went through pipes: {pipes:?}"
    );
    assert_eq!(pipes.used, 0, "an idle connection holds no pipe: {pipes:?}");
}

/// Reads a request head from `s` (up to its blank line).
fn read_request_head(s: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut b = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => seen.push(b[0]),
            _ => return false,
        }
    }
    true
}

#[test]
fn server_closing_mid_body_truncates_and_closes() {
    const SENT: usize = 3 * MIB as usize;
    let origin = Origin::spawn(|mut s: TcpStream| {
        if !read_request_head(&mut s) {
            return;
        }
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 8 * MIB);
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&Payload::bytes(7, SENT));
        let _ = s.shutdown(Shutdown::Both);
    });
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    let me = c.local_addr();
    c.send(&Req::get("/big").bytes());
    let head = c.read_head().expect("response head");
    assert_eq!(head.status, 200, "{head:?}");
    let (body, closed) = c.read_until_closed(DEADLINE);
    assert!(closed, "weir closed the client connection");
    assert_eq!(body.len(), SENT, "the body is cut where the server stopped");
    assert!(
        body == Payload::bytes(7, SENT),
        "the bytes that came are right"
    );

    let log = weir.wait_httplog("the cut response", DEADLINE, |l| l.client == me);
    assert_eq!(
        (log.status, log.termination.as_str()),
        (200, "SD--"),
        "{log:?}"
    );
    assert_eq!(log.bytes, head.wire_len + SENT as u64, "{log:?}");
    let pipes = pipe_pool(&weir);
    assert!(pipes.spliced > 0, "the body went through a pipe: {pipes:?}");
    assert_eq!(pipes.used, 0, "{pipes:?}");
}

#[test]
fn small_bodies_stay_on_the_buffer_path() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    for len in [64, 4096, 10_000] {
        download(&mut c, len);
    }
    weir.wait_httplogs(3, DEADLINE);
    let pipes = pipe_pool(&weir);
    assert_eq!(
        (pipes.spliced, pipes.peak),
        (0, 0),
        "bodies under a buffer are copied: {pipes:?}"
    );
    drop(c);
}

#[test]
fn large_request_bodies_end_exactly_too() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let mut c = Client::connect(port);
    let mut w = c.conn.stream.try_clone().unwrap();
    let body = Payload::bytes(seed(), 32 * MIB as usize + 5);
    let want = hash_of(&body);
    let len = body.len();
    // Sent from a thread: weir forwards the body while the origin reads
    // it, and answers only after its end.
    let sender =
        std::thread::spawn(move || w.write_all(&Req::new("PUT", "/put").body(&body).bytes()));
    let r = c.read_response(false).expect("the response to the upload");
    sender.join().unwrap().expect("send the upload");
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("body_len"), len.to_string());
    assert_eq!(rep.get("body_hash"), want, "the upload arrived intact");
    // The next request on the connection starts right after the body.
    assert_eq!(c.get("/next").report().get("target"), "/next");
    let pipes = pipe_pool(&weir);
    assert!(
        pipes.spliced >= 31 * MIB,
        "the upload went through a pipe: {pipes:?}"
    );
    assert_eq!(pipes.used, 0, "{pipes:?}");
}
