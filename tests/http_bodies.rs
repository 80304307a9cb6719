//! HTTP mode, bodies: Content-Length and chunked both ways, chunked
//! forwarded as is (extensions and trailers included), close-delimited
//! responses, and 100 MiB each way with the worker's memory bounded
//! (streamed, never held whole).

mod common;

use std::io::Write;
use std::thread;

use common::client::Payload;
use common::http::{simple_config, Client, HttpLogs, Req, RssMonitor};
use common::http_origin::{chunked_body, HttpOrigin};
use common::http_wire::{hash_of, Hash64};
use common::{free_port, seed, Weir, DEADLINE};

const MIB: u64 = 1024 * 1024;

/// The most a worker may hold while 100 MiB stream through it.
const RSS_LIMIT_KIB: u64 = 40 * 1024;

#[test]
fn content_length_request_body_arrives_whole() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let body = Payload::bytes(seed(), 3 * MIB as usize + 17);
    let mut c = Client::connect(port);
    let r = c.exchange(&Req::new("PUT", "/put").body(&body));
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("method"), "PUT");
    assert_eq!(rep.get("chunked"), "0");
    assert_eq!(rep.get("body_len"), body.len().to_string());
    assert_eq!(rep.get("body_hash"), hash_of(&body));
    // The connection is ready for the next request.
    assert_eq!(c.get("/next").report().get("target"), "/next");
}

#[test]
fn chunked_request_body_is_forwarded_as_is_with_trailers() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    // Odd sizes, upper- and lower-case hex, an extension, trailers.
    let data = Payload::bytes(seed(), 70_000);
    let mut framed = Vec::new();
    let mut at = 0;
    for (i, size) in [1usize, 0x1f, 4096, 0xABC, 30_000, 0].iter().enumerate() {
        let size = if *size == 0 { data.len() - at } else { *size };
        let line = if i == 2 {
            format!("{size:x};name=value\r\n")
        } else if i % 2 == 1 {
            format!("{size:X}\r\n")
        } else {
            format!("{size:x}\r\n")
        };
        framed.extend_from_slice(line.as_bytes());
        framed.extend_from_slice(&data[at..at + size]);
        framed.extend_from_slice(b"\r\n");
        at += size;
    }
    framed.extend_from_slice(b"0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n");

    let mut c = Client::connect(port);
    let r = c.exchange(
        &Req::new("POST", "/chunked-up")
            .header("Transfer-Encoding", "chunked")
            .body(&framed),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("chunked"), "1");
    assert_eq!(rep.get("body_len"), data.len().to_string());
    assert_eq!(rep.get("body_hash"), hash_of(&data));
    assert_eq!(
        rep.get("raw_body_hash"),
        hash_of(&framed),
        "the chunked framing reaches the origin byte for byte"
    );
    assert_eq!(
        rep.trailers,
        [
            ("X-Checksum".to_string(), "abc123".to_string()),
            ("X-Other".to_string(), "1".to_string())
        ],
        "{rep:?}"
    );
    assert_eq!(c.get("/next").report().get("target"), "/next");
}

#[test]
fn chunked_response_with_trailers_is_forwarded_as_is() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let s = seed() % 1_000_000;
    let mut c = Client::connect(port);
    c.send(&Req::get(&format!("/chunked?bytes=300000&seed={s}&chunk=7000")).bytes());
    let head = c.read_head().expect("response head");
    assert_eq!(head.status, 200);
    assert!(head.has_token("Transfer-Encoding", "chunked"), "{head:?}");
    // Read the body raw and compare it with what the origin wrote.
    let want = chunked_body(s, 300_000, 7000);
    let mut got = Vec::new();
    c.conn
        .read_chunked(|_| {}, |b| got.extend_from_slice(b))
        .expect("the whole chunked body");
    assert!(got == want, "the chunked body differs from the origin's");
    assert_eq!(c.get("/next").report().get("target"), "/next");

    // And through curl, which checks the framing itself.
    let out = common::http::curl(
        port,
        &format!("/chunked?bytes=100000&seed={s}&chunk=999"),
        &["--raw"],
    );
    assert_eq!(out.status, 200, "{out:?}");
    assert_eq!(out.body, chunked_body(s, 100_000, 999));
}

#[test]
fn close_delimited_response_reaches_the_client_whole() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));

    let s = seed() % 1_000_000;
    let mut c = Client::connect(port);
    let r = c.get(&format!("/close?bytes=1000000&seed={s}"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body.len(), 1_000_000, "{:?}", r.headers);
    assert!(r.body == Payload::bytes(s, 1_000_000), "body differs");
    if r.close_delimited {
        // Without a length the end of the body is the end of the connection.
        c.closed_silently(DEADLINE).unwrap();
    }
}

#[test]
fn upload_of_100_mib_chunked_with_bounded_memory() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let worker = weir.worker_pids()[0];

    const TOTAL: u64 = 100 * MIB;
    let s = seed();
    let mut c = Client::connect(port);
    let me = c.local_addr();
    let mut w = c.conn.stream.try_clone().unwrap();
    let rss = RssMonitor::start(worker);
    let sender = thread::spawn(move || -> std::io::Result<String> {
        w.write_all(
            b"POST /upload HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n",
        )?;
        let mut gen = Payload::new(s);
        let mut hash = Hash64::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = TOTAL;
        while left > 0 {
            let n = (buf.len() as u64).min(left) as usize;
            gen.fill(&mut buf[..n]);
            hash.update(&buf[..n]);
            let mut piece = format!("{n:x}\r\n").into_bytes();
            piece.extend_from_slice(&buf[..n]);
            piece.extend_from_slice(b"\r\n");
            w.write_all(&piece)?;
            left -= n as u64;
        }
        w.write_all(b"0\r\n\r\n")?;
        Ok(hash.hex())
    });
    let r = c.read_response(false).expect("the response to the upload");
    let sent_hash = sender.join().unwrap().expect("send 100 MiB");
    let peak = rss.stop();
    assert_eq!(r.status, 200, "{r:?}");
    let rep = r.report();
    assert_eq!(rep.get("body_len"), TOTAL.to_string());
    assert_eq!(rep.get("body_hash"), sent_hash, "the upload arrived intact");
    assert!(
        peak < RSS_LIMIT_KIB,
        "worker RSS peaked at {peak} KiB during a 100 MiB upload (limit {RSS_LIMIT_KIB} KiB)"
    );
    let log = weir.wait_httplog("the upload", DEADLINE, |l| l.client == me);
    assert_eq!(log.status, 200, "{log:?}");
}

#[test]
fn download_of_100_mib_with_bounded_memory() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));
    let worker = weir.worker_pids()[0];

    const TOTAL: u64 = 100 * MIB;
    let s = seed() % 1_000_000;
    let mut c = Client::connect(port);
    let me = c.local_addr();
    let rss = RssMonitor::start(worker);
    c.send(&Req::get(&format!("/download?bytes={TOTAL}&seed={s}")).bytes());
    let head = c.read_head().expect("response head");
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(
        head.header("Content-Length"),
        Some(TOTAL.to_string().as_str())
    );
    let mut want = Payload::new(s);
    let mut expect = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    c.conn
        .take(TOTAL, |b| {
            if expect.len() < b.len() {
                expect.resize(b.len(), 0);
            }
            want.fill(&mut expect[..b.len()]);
            assert!(
                b == &expect[..b.len()],
                "download differs within bytes {got}..{}",
                got + b.len() as u64
            );
            got += b.len() as u64;
        })
        .expect("the whole download");
    let peak = rss.stop();
    assert_eq!(got, TOTAL);
    assert!(
        peak < RSS_LIMIT_KIB,
        "worker RSS peaked at {peak} KiB during a 100 MiB download (limit {RSS_LIMIT_KIB} KiB)"
    );
    let log = weir.wait_httplog("the download", DEADLINE, |l| l.client == me);
    assert_eq!(log.status, 200, "{log:?}");
    assert!(log.bytes >= TOTAL, "{log:?}");
}
