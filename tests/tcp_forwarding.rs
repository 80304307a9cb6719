//! TCP mode forwarding: large transfers both ways, many concurrent sessions,
//! half-close, and the `tcplog` line of a session.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::client::{self, Payload};
use common::origin::{echo_origin, sink_then_reply};
use common::{free_port, logline, one_server, seed, tcp_config, Weir, DEADLINE};

const MIB: usize = 1024 * 1024;

#[test]
fn forwards_64_mib_each_way_byte_identical() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));

    const TOTAL: usize = 64 * MIB;
    let seed = seed();
    let mut s = client::connect(port).expect("connect to weir");
    let me = s.local_addr().unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = thread::spawn(move || -> std::io::Result<()> {
        let mut gen = Payload::new(seed);
        let mut buf = vec![0u8; 256 * 1024];
        let mut left = TOTAL;
        while left > 0 {
            let n = left.min(buf.len());
            gen.fill(&mut buf[..n]);
            w.write_all(&buf[..n])?;
            left -= n;
        }
        w.shutdown(Shutdown::Write)
    });

    // Read while writing (the echo comes back as we send), checking every
    // byte against the same stream.
    let mut expect = Payload::new(seed);
    let mut buf = vec![0u8; 256 * 1024];
    let mut want = vec![0u8; 256 * 1024];
    let mut got = 0usize;
    loop {
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("read after {got} bytes: {e}"));
        if n == 0 {
            break;
        }
        expect.fill(&mut want[..n]);
        if buf[..n] != want[..n] {
            let at = (0..n).find(|&i| buf[i] != want[i]).unwrap();
            panic!("echoed stream differs at byte {}", got + at);
        }
        got += n;
        assert!(got <= TOTAL, "received more than was sent");
    }
    writer.join().unwrap().expect("send 64 MiB");
    assert_eq!(got, TOTAL, "echoed byte count");

    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(
        log.bytes, TOTAL as u64,
        "tcplog bytes (server to client): {log:?}"
    );
    assert_eq!(log.termination, "--", "{log:?}");
}

#[test]
fn two_hundred_concurrent_connections_each_echoed() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));

    const N: usize = 200;
    let barrier = Arc::new(Barrier::new(N));
    let base = seed();
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || -> Result<(SocketAddr, usize), String> {
                let conn = client::connect(port);
                // Everyone connects first, so that all N sessions are open at once.
                barrier.wait();
                let mut s = conn.map_err(|e| format!("#{i}: connect: {e}"))?;
                let seed = base.wrapping_add(i as u64);
                let len = 1 + (seed % (32 * 1024) as u64) as usize;
                let payload = Payload::bytes(seed, len);
                s.write_all(&payload)
                    .map_err(|e| format!("#{i}: write: {e}"))?;
                s.shutdown(Shutdown::Write)
                    .map_err(|e| format!("#{i}: shutdown: {e}"))?;
                let mut back = Vec::new();
                s.read_to_end(&mut back)
                    .map_err(|e| format!("#{i}: read: {e}"))?;
                if back != payload {
                    return Err(format!(
                        "#{i}: sent {len} bytes, got {} different back",
                        back.len()
                    ));
                }
                Ok((s.local_addr().unwrap(), len))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {N} sessions failed: {failures:?}",
        failures.len()
    );

    let logs = weir.wait_tcplogs(N, DEADLINE);
    for (addr, len) in results.into_iter().map(Result::unwrap) {
        let log = logs
            .iter()
            .map(|(_, l)| l)
            .find(|l| l.client == addr)
            .unwrap_or_else(|| panic!("no tcplog line for {addr}"));
        assert_eq!(
            (log.bytes, log.termination.as_str()),
            (len as u64, "--"),
            "{log:?}"
        );
    }
}

#[test]
fn half_close_request_then_large_reply() {
    let reply = Payload::bytes(seed(), MIB);
    let (origin, received) = sink_then_reply(reply.clone());
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));

    let request = Payload::bytes(seed(), 10_000);
    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    s.write_all(&request).unwrap();
    // The origin replies only once it has seen our EOF.
    s.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read the reply");

    assert_eq!(
        received.recv_timeout(DEADLINE).expect("origin saw EOF"),
        request.len() as u64,
        "bytes the origin received before EOF"
    );
    assert_eq!(got.len(), reply.len(), "reply length");
    assert!(got == reply, "reply content differs");

    let (_, log) = weir.wait_tcplog(me, DEADLINE);
    assert_eq!(
        (
            log.frontend.as_str(),
            log.backend.as_str(),
            log.server.as_str()
        ),
        ("fe", "be", "s1"),
        "{log:?}"
    );
    assert_eq!(log.bytes, MIB as u64, "{log:?}");
    assert_eq!(log.termination, "--", "{log:?}");
}

#[test]
fn tcplog_line_has_haproxy_fields() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));
    let worker = weir.worker_pids()[0];

    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    client::echo_roundtrip(&mut s, b"hello").unwrap();
    // Hold the session open a little, so that Tt is measurably non-zero.
    thread::sleep(Duration::from_millis(200));
    s.shutdown(Shutdown::Write).unwrap();
    client::wait_closed(&mut s, DEADLINE).expect("weir closes after the origin's EOF");
    drop(s);

    weir.wait_tcplog(me, DEADLINE);
    let line = weir
        .stderr()
        .lines()
        .find(|l| l.contains(&format!("{me} [")))
        .expect("raw line")
        .to_string();
    let parsed = logline::LogLine::parse(&line).expect("weir[PID]: prefix");
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let rest = logline::strip_syslog_time(&parsed.prefix)
        .unwrap_or_else(|| panic!("line does not start with `Mon DD HH:MM:SS `: {line:?}"));
    assert_eq!(rest, format!("{host} "), "hostname field of {line:?}");
    assert_eq!(parsed.pid, worker, "the worker logs its sessions: {line:?}");

    let log = logline::TcpLog::parse(&parsed.message).expect("tcplog message");
    assert!(
        logline::is_haproxy_date(&log.date),
        "date {:?} in {line:?}",
        log.date
    );
    assert_eq!(log.client, me);
    assert_eq!(
        (
            log.frontend.as_str(),
            log.backend.as_str(),
            log.server.as_str()
        ),
        ("fe", "be", "s1"),
        "{line:?}"
    );
    assert!(log.tw >= 0 && log.tc >= 0, "Tw/Tc in {line:?}");
    assert!(log.tt >= 200 && log.tt < 5000, "Tt in {line:?}");
    assert_eq!(log.bytes, 5, "{line:?}");
    assert_eq!(log.termination, "--", "{line:?}");
    // actconn and feconn count the session being logged; HAProxy may already
    // have released the backend's and the server's counts (it logs
    // `1/1/0/0/0` as often as `1/1/1/1/0`), but never srv > be.
    let [act, fe, be, srv, retries] = log.counters;
    assert_eq!(
        (act, fe, retries),
        (1, 1, 0),
        "ACT/FE/…/RETRIES of a lone session: {line:?}"
    );
    assert!(
        (0..=1).contains(&be) && (0..=be).contains(&srv),
        "BE/SRV of a lone session: {line:?}"
    );
    assert_eq!(log.queues, (0, 0), "{line:?}");
}
