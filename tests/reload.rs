//! Reloads in place (SIGUSR2): no request fails and no connection is reset
//! while the configuration is reloaded under load; a TCP session lives
//! across reloads; an invalid configuration changes nothing; listeners are
//! added and removed; counters keep counting.

mod common;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::http::{backend, http_config, Client, HttpLogs};
use common::http_origin::HttpOrigin;
use common::http_wire::BufConn;
use common::load::{Load, Tally};
use common::origin::echo_origin;
use common::{free_port, one_server, procfs, tcp_config, wait_for, wait_until, Weir, DEADLINE};
use nix::sys::signal::Signal;

/// One GET on `conn`; returns the status and whether the server said it
/// closes the connection. Only a complete response is `Ok`: its head, then
/// its whole body by Content-Length or chunked; a response cut anywhere
/// (even right after its status line) or delimited by the close (whose
/// completeness cannot be told) is an error.
fn get(conn: &mut Client, close: bool) -> io::Result<(u16, bool)> {
    let extra = if close { "Connection: close\r\n" } else { "" };
    conn.conn
        .write_all(format!("GET /r HTTP/1.1\r\nHost: t\r\n{extra}\r\n").as_bytes())?;
    let r = conn.read_response(false)?;
    if r.close_delimited {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("status {} without Content-Length or chunked", r.status),
        ));
    }
    Ok((r.status, r.has_token("Connection", "close")))
}

fn connect(port: u16) -> io::Result<Client> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(Client {
        conn: BufConn::new(s),
    })
}

/// Clients hammering weir in the background: half on kept-alive
/// connections, half with a new connection per request. Every failure
/// (connect error, reset, early close, incomplete response, non-200) is
/// recorded.
fn http_load(port: u16, clients: usize) -> Load {
    Load::start(clients, move |i, tally| {
        client_loop(port, i % 2 == 0, tally)
    })
}

fn client_loop(port: u16, keep_alive: bool, tally: &Tally) {
    let mut conn: Option<Client> = None;
    while tally.running() {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match connect(port) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tally.fail(format!("connect: {e}"));
                    continue;
                }
            },
        };
        match get(c, !keep_alive) {
            Ok((200, closing)) => {
                tally.ok();
                if closing || !keep_alive {
                    conn = None;
                }
            }
            Ok((status, _)) => {
                tally.fail(format!("status {status}"));
                conn = None;
            }
            Err(e) => {
                tally.fail(format!("keep-alive={keep_alive}: {e}"));
                conn = None;
            }
        }
    }
}

#[test]
fn reloads_under_load_lose_nothing() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let cfg = http_config(port, "", "", &backend("be", "", &[origin.addr]))
        .replace("nbproc = 1", "nbproc = 2\nhard_stop_after = \"5s\"");
    let weir = Weir::start(&cfg);
    let load = http_load(port, 6);
    for n in 1..=10 {
        weir.signal(Signal::SIGUSR2);
        weir.wait_log(&format!("reload done (generation {n})"), DEADLINE);
        load.wait_more(20, &format!("traffic after reload {n}"));
    }
    load.wait_more(50, "traffic after the reloads");
    load.finish();
}

#[test]
fn a_tcp_session_survives_reloads() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "nbproc = 1\nhard_stop_after = \"10s\"",
        "",
        &one_server(origin.addr),
    ));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = [0u8; 5];
    for n in 1..=3 {
        weir.signal(Signal::SIGUSR2);
        weir.wait_log(&format!("reload done (generation {n})"), DEADLINE);
        s.write_all(b"hello").unwrap();
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello", "after reload {n}");
    }
    // New connections are served by the newest workers meanwhile.
    let mut t = TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.set_read_timeout(Some(DEADLINE)).unwrap();
    t.write_all(b"world").unwrap();
    t.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"world");
}

#[test]
fn an_invalid_config_changes_nothing_and_a_fixed_one_applies() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let cfg = http_config(port, "", "", &backend("be", "", &[origin.addr]));
    let weir = Weir::start(&cfg);
    let workers = weir.worker_pids();
    std::fs::write(
        &weir.config_path,
        cfg.replace("[backend.be]", "[backend.be]\nbalanse = \"x\""),
    )
    .unwrap();
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload aborted", DEADLINE);
    assert!(
        weir.stderr().contains("balanse"),
        "the error is logged:\n{}",
        weir.stderr()
    );
    assert_eq!(weir.worker_pids(), workers, "old workers untouched");
    let mut c = connect(port).unwrap();
    assert_eq!(get(&mut c, false).unwrap().0, 200);
    std::fs::write(&weir.config_path, &cfg).unwrap();
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    assert_eq!(get(&mut connect(port).unwrap(), true).unwrap().0, 200);
}

#[test]
fn listeners_added_and_removed() {
    let origin = HttpOrigin::start("o1");
    let (p1, p2) = (free_port(), free_port());
    let cfg = http_config(p1, "", "", &backend("be", "", &[origin.addr]));
    let weir = Weir::start(&cfg);
    let moved = cfg.replace(&format!("127.0.0.1:{p1}"), &format!("127.0.0.1:{p2}"));
    std::fs::write(&weir.config_path, moved).unwrap();
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    assert_eq!(
        get(&mut connect(p2).unwrap(), true).unwrap().0,
        200,
        "the new port answers"
    );
    wait_until(DEADLINE, "the removed port refusing", || {
        !procfs::is_listening(p1) && TcpStream::connect(("127.0.0.1", p1)).is_err()
    });
}

#[test]
fn counters_keep_counting_across_reloads() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let weir = Weir::start(&http_config(
        port,
        "",
        "",
        &backend("be", "", &[origin.addr]),
    ));
    for n in 1..=3 {
        for _ in 0..4 {
            assert_eq!(get(&mut connect(port).unwrap(), true).unwrap().0, 200);
        }
        // A client has its response a moment before weir has counted the
        // request (its log line goes out with the count): reload only
        // once the four are counted, or the new generation may copy the
        // figures before the last one lands.
        weir.wait_httplogs(4 * n, DEADLINE);
        weir.signal(Signal::SIGUSR2);
        weir.wait_log(&format!("reload done (generation {n})"), DEADLINE);
    }
    assert_eq!(get(&mut connect(port).unwrap(), true).unwrap().0, 200);
    weir.signal(Signal::SIGHUP);
    let line = weir.wait_log_where("SIGHUP dump", DEADLINE, |l| {
        l.message.contains("SIGHUP: Server be/s1")
    });
    // The 12 sessions served before the reloads are still counted (the
    // 13th may be taken by a leaving worker in the instant after the last
    // reload, and counted in the previous generation's figures).
    let tot: u64 = line
        .message
        .split(" pend, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(tot >= 12, "{}", line.message);
}

/// How far the long download of the takeover test may read: the test
/// raises `allowed` step by step, the download reports `got`.
#[derive(Default)]
struct Gate {
    allowed: AtomicUsize,
    got: AtomicUsize,
    /// Why the download stopped, if it failed.
    failed: Mutex<Option<String>>,
}

/// `GET /download` of `size` bytes (seed 7) on a new connection, read as
/// far as `gate` allows at each moment and checked byte for byte; `Ok`
/// once all `size` bytes came, as the Content-Length said.
fn gated_download(port: u16, size: usize, gate: &Gate) -> Result<(), String> {
    let mut c = connect(port).map_err(|e| format!("connect: {e}"))?;
    c.conn
        .write_all(
            format!("GET /download?bytes={size}&seed=7 HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let head = c.read_head().map_err(|e| format!("head: {e}"))?;
    if head.status != 200 || head.header("Content-Length") != Some(&size.to_string()) {
        return Err(format!("unexpected head {head:?}"));
    }
    let mut want = common::client::Payload::new(7);
    let mut exp = Vec::new();
    let mut got = 0usize;
    while got < size {
        let allowed = wait_for(DEADLINE, "the test to allow more of the download", || {
            let a = gate.allowed.load(Ordering::SeqCst).min(size);
            (a > got).then_some(a)
        });
        let n = (allowed - got).min(256 << 10);
        let mut corrupt = false;
        c.conn
            .take(n as u64, |b| {
                exp.resize(b.len(), 0);
                want.fill(&mut exp);
                corrupt |= b != exp.as_slice();
            })
            .map_err(|e| format!("after {got} of {size} bytes: {e}"))?;
        if corrupt {
            return Err(format!("corrupt between bytes {got} and {}", got + n));
        }
        got += n;
        gate.got.store(got, Ordering::SeqCst);
    }
    Ok(())
}

/// The new master takes the very sockets of the old one (SCM_RIGHTS), so
/// pidfile reloads (`-sf $(cat pidfile)`) lose nothing either: 10 of them
/// in a row under load, while a long download started before them moves
/// on after each of them and completes intact after the last.
#[test]
fn pidfile_reloads_take_the_old_sockets_and_lose_nothing() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    // Long client and server timeouts: the download pauses (reads nothing)
    // while each takeover happens.
    let cfg = http_config(
        port,
        "timeout = { connect = \"1s\", client = \"30s\", server = \"30s\", \
         http_request = \"2s\", http_keep_alive = \"2s\" }",
        "",
        &backend("be", "", &[origin.addr]),
    );
    let mut current = Weir::start_with(&cfg, &["-p", "{dir}/weir.pid"]);
    let listening: Vec<u64> = procfs::socket_inodes(current.pid());

    // A 32 MiB download, let through one step before the takeovers, one
    // more after each, and the rest after the last.
    const SIZE: usize = 32 << 20;
    const TAKEOVERS: usize = 10;
    const STEP: usize = SIZE / (TAKEOVERS + 2);
    let gate = Arc::new(Gate::default());
    let download = {
        let gate = gate.clone();
        thread::spawn(move || {
            let r = gated_download(port, SIZE, &gate);
            if let Err(e) = &r {
                *gate.failed.lock().unwrap() = Some(e.clone());
            }
            r
        })
    };
    let through = |n: usize, what: &str| {
        gate.allowed.store(n, Ordering::SeqCst);
        wait_until(DEADLINE, what, || {
            gate.got.load(Ordering::SeqCst) >= n || download.is_finished()
        });
        assert_eq!(
            gate.got.load(Ordering::SeqCst),
            n,
            "{what}: the download failed: {:?}",
            gate.failed.lock().unwrap()
        );
    };
    through(STEP, "the download's first step");

    let load = http_load(port, 4);
    let mut previous = Vec::new();
    for n in 0..TAKEOVERS {
        let got = gate.got.load(Ordering::SeqCst);
        assert!(
            got < SIZE && !download.is_finished(),
            "takeover {n}: the download is still running ({got} of {SIZE} bytes)"
        );
        let old_pid = current.pid().to_string();
        let new = Weir::start_with(&cfg, &["-p", "{dir}/weir.pid", "-sf", &old_pid]);
        new.wait_log("took 1 listening sockets over", DEADLINE);
        let taken = procfs::socket_inodes(new.pid());
        assert!(
            listening.iter().any(|i| taken.contains(i)),
            "reload {n}: the new master holds the first listening socket: {listening:?} vs {taken:?}"
        );
        previous.push(std::mem::replace(&mut current, new));
        through(
            (n + 2) * STEP,
            &format!("the download moving on after takeover {n}"),
        );
    }
    load.wait_more(50, "traffic after the takeovers");
    load.finish();
    gate.allowed.store(SIZE, Ordering::SeqCst);
    download
        .join()
        .unwrap()
        .expect("the long download completes intact");
    assert_eq!(gate.got.load(Ordering::SeqCst), SIZE);
    for old in &previous {
        old.wait_exit(Duration::from_secs(15));
    }
}
