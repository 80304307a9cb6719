//! `splice(2)` in TCP mode and in HTTP tunnels: bulk transfers both ways
//! with every byte checked, half-close kept, many bulk sessions sharing a
//! small pipe pool (the rest on the buffer path), a CONNECT tunnel, and
//! the worker's SIGQUIT pipe-pool line to show that pipes carried the
//! bytes and that none stays held once a session is idle.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use common::client::{self, Payload};
use common::http::{simple_config, Client};
use common::http_origin::HttpOrigin;
use common::origin::{echo_origin, Origin};
use common::pipes::pipe_pool;
use common::{free_port, one_server, seed, tcp_config, Weir, DEADLINE};

const MIB: usize = 1024 * 1024;

/// Writes `len` bytes of the stream `seed` to `w`.
fn send_stream(w: &mut impl Write, seed: u64, len: usize) -> io::Result<()> {
    let mut gen = Payload::new(seed);
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len());
        gen.fill(&mut buf[..n]);
        w.write_all(&buf[..n])?;
        left -= n;
    }
    Ok(())
}

/// Reads `r` to EOF, checking every byte against the stream `seed`;
/// returns how many bytes matched, or where the first difference was.
fn check_stream(r: &mut impl Read, seed: u64) -> Result<usize, String> {
    let mut expect = Payload::new(seed);
    let mut buf = vec![0u8; 256 * 1024];
    let mut want = vec![0u8; 256 * 1024];
    let mut got = 0usize;
    loop {
        let n = r
            .read(&mut buf)
            .map_err(|e| format!("read after {got} bytes: {e}"))?;
        if n == 0 {
            return Ok(got);
        }
        expect.fill(&mut want[..n]);
        if let Some(at) = (0..n).find(|&i| buf[i] != want[i]) {
            return Err(format!("stream differs at byte {}", got + at));
        }
        got += n;
    }
}

#[test]
fn bulk_both_ways_through_pipes_with_half_close() {
    const LEN: usize = 64 * MIB;
    let (up_seed, down_seed) = (seed(), seed());
    // The origin checks the client's 64 MiB up to its EOF, then answers
    // with 64 MiB of its own: the client's half-close must reach it while
    // the reply still flows back.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let origin = Origin::spawn(move |mut s: TcpStream| {
        let seen = check_stream(&mut s, up_seed);
        let _ = tx.lock().unwrap().send(seen);
        let _ = send_stream(&mut s, down_seed, LEN);
        let _ = s.shutdown(Shutdown::Write);
    });
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));

    let mut s = client::connect(port).expect("connect to weir");
    // The reply starts only once the whole upload has gone through: the
    // first read waits for 64 MiB to cross weir, which a loaded machine
    // and a debug build can make slower than the usual I/O timeout. Bound
    // what the test means (the streams complete), not this machine's speed.
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let me = s.local_addr().unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = thread::spawn(move || -> io::Result<()> {
        send_stream(&mut w, up_seed, LEN)?;
        w.shutdown(Shutdown::Write)
    });
    let down = check_stream(&mut s, down_seed);
    writer.join().unwrap().expect("send 64 MiB then shut down");
    let up = rx.recv_timeout(DEADLINE).expect("the origin saw our EOF");
    assert_eq!(up, Ok(LEN), "client -> server stream");
    assert_eq!(down, Ok(LEN), "server -> client stream");

    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(
        (log.bytes, log.termination.as_str()),
        (LEN as u64, "--"),
        "{log:?}"
    );
    let pipes = pipe_pool(&weir);
    assert!(
        pipes.spliced >= LEN as u64 && pipes.peak >= 1,
        "bulk bytes went through pipes: {pipes:?}\n{}",
        weir.context()
    );
    assert_eq!(pipes.used, 0, "the closed session gave its pipes back");
}

#[test]
fn many_bulk_sessions_share_a_small_pipe_pool() {
    // maxconn 16 gives 4 pipes. 12 origins' streams of 32 MiB each meet
    // clients that read nothing at first: the first 4 sessions to splice
    // keep their full pipes, so the others must be refused one and stream
    // through their buffers. Then every client reads all, byte-exact.
    const N: usize = 12;
    const LEN: usize = 32 * MIB;
    // The client names its stream's seed in its first 8 bytes.
    let origin = Origin::spawn(|mut s: TcpStream| {
        let mut seed = [0u8; 8];
        if s.read_exact(&mut seed).is_ok() {
            let _ = send_stream(&mut s, u64::from_le_bytes(seed), LEN);
            // Stay open (idle) until the client's EOF.
            let _ = io::copy(&mut s, &mut io::sink());
        }
    });
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "maxconn = 16",
        "",
        &one_server(origin.addr),
    ));

    let barrier = Arc::new(Barrier::new(N + 1));
    let base = seed();
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || -> Result<TcpStream, String> {
                let seed = base.wrapping_add(i as u64);
                let conn = client::connect(port).and_then(|mut s| {
                    s.write_all(&seed.to_le_bytes())?;
                    s.set_read_timeout(Some(DEADLINE))?;
                    Ok(s)
                });
                // Everyone has asked before anyone reads.
                barrier.wait();
                let mut s = conn.map_err(|e| format!("#{i}: connect: {e}"))?;
                // Pacing only: the buffers and pipes fill meanwhile.
                thread::sleep(Duration::from_millis(300));
                let mut expect = Payload::new(seed);
                let mut buf = vec![0u8; 256 * 1024];
                let mut want = vec![0u8; 256 * 1024];
                let mut got = 0;
                while got < LEN {
                    let n = s
                        .read(&mut buf[..(LEN - got).min(256 * 1024)])
                        .map_err(|e| format!("#{i}: read after {got}: {e}"))?;
                    if n == 0 {
                        return Err(format!("#{i}: EOF after {got} bytes"));
                    }
                    expect.fill(&mut want[..n]);
                    if buf[..n] != want[..n] {
                        return Err(format!("#{i}: stream differs near byte {got}"));
                    }
                    got += n;
                }
                Ok(s)
            })
        })
        .collect();
    barrier.wait();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "sessions failed: {failures:?}");

    // Every session is open and idle now: none may hold a pipe.
    let idle = pipe_pool(&weir);
    assert_eq!(idle.max, 4, "maxconn / 4: {idle:?}");
    assert!(
        idle.peak <= 4 && idle.allocated <= 4,
        "the pool stays within its bound: {idle:?}"
    );
    assert!(
        idle.spliced > 0 && idle.refused > 0,
        "some streams went through pipes, some were refused one: {idle:?}"
    );
    assert_eq!(idle.used, 0, "idle sessions hold no pipe: {idle:?}");

    let mut streams: Vec<TcpStream> = results.into_iter().map(Result::unwrap).collect();
    for s in &mut streams {
        s.shutdown(Shutdown::Write).unwrap();
        client::wait_closed(s, DEADLINE).expect("weir closes after the origin's close");
    }
    let logs = weir.wait_tcplogs(N, DEADLINE);
    for (_, log) in &logs {
        assert_eq!(log.bytes, LEN as u64, "{log:?}");
    }
}

#[test]
fn small_exchanges_stay_on_the_buffer_path() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));
    let mut s = client::connect(port).unwrap();
    for i in 0..50 {
        client::echo_roundtrip(&mut s, format!("ping {i}").as_bytes()).unwrap();
    }
    let pipes = pipe_pool(&weir);
    assert_eq!(
        (pipes.peak, pipes.spliced),
        (0, 0),
        "64-byte exchanges never take a pipe: {pipes:?}"
    );
}

#[test]
fn connect_tunnel_splices_bulk_both_ways() {
    const LEN: usize = 16 * MIB;
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&simple_config(port, origin.addr));

    let mut c = Client::connect(port);
    c.send(b"CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n");
    let r = c.read_head().expect("the CONNECT answer");
    assert_eq!(r.status, 200, "{r:?}");
    let seed = seed();
    let mut w = c.conn.stream.try_clone().unwrap();
    let writer = thread::spawn(move || send_stream(&mut w, seed, LEN));
    let mut expect = Payload::new(seed);
    let mut want = Vec::new();
    let mut same = true;
    c.conn
        .take(LEN as u64, |b| {
            want.resize(b.len(), 0);
            expect.fill(&mut want);
            same &= b == want.as_slice();
        })
        .expect("the echo");
    assert!(same, "tunnel data differs");
    writer.join().unwrap().expect("send through the tunnel");

    let pipes = pipe_pool(&weir);
    assert!(
        pipes.spliced > 0 && pipes.peak >= 1,
        "tunnel bytes went through pipes: {pipes:?}"
    );
    assert_eq!(pipes.used, 0, "an idle tunnel holds no pipe: {pipes:?}");
    c.conn.stream.shutdown(Shutdown::Write).unwrap();
    c.closed_silently(Duration::from_secs(5))
        .expect("the tunnel closes after both sides are done");
}

#[test]
fn stalled_reader_resumes_with_every_byte() {
    // The origin sends 32 MiB at once; the client reads nothing at first,
    // so the client's socket, weir's pipe and the origin's socket fill up
    // (splice out returns short / EAGAIN, splice in finds the pipe full).
    // Then it reads everything: each side must be woken again.
    const LEN: usize = 32 * MIB;
    let down_seed = seed();
    let origin = Origin::spawn(move |mut s: TcpStream| {
        let _ = send_stream(&mut s, down_seed, LEN);
        let _ = s.shutdown(Shutdown::Write);
        let _ = io::copy(&mut s, &mut io::sink());
    });
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));
    let mut s = client::connect(port).expect("connect to weir");
    let me = s.local_addr().unwrap();
    // Let the buffers fill (pacing only: any stall length must work).
    thread::sleep(Duration::from_millis(300));
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(check_stream(&mut s, down_seed), Ok(LEN), "server -> client");
    s.shutdown(Shutdown::Write).unwrap();
    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(
        (log.bytes, log.termination.as_str()),
        (LEN as u64, "--"),
        "{log:?}"
    );
}
