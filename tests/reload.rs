//! Reloads in place (SIGUSR2): no request fails and no connection is reset
//! while the configuration is reloaded under load; a TCP session lives
//! across reloads; an invalid configuration changes nothing; listeners are
//! added and removed; counters keep counting.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use common::http::{backend, http_config};
use common::http_origin::HttpOrigin;
use common::load::{Load, Tally};
use common::origin::echo_origin;
use common::{free_port, one_server, procfs, tcp_config, wait_until, Weir, DEADLINE};
use nix::sys::signal::Signal;

/// One GET on `conn`; returns the status and whether the server said it
/// closes the connection.
fn get(conn: &mut BufReader<TcpStream>, close: bool) -> io::Result<(u16, bool)> {
    let extra = if close { "Connection: close\r\n" } else { "" };
    conn.get_mut()
        .write_all(format!("GET /r HTTP/1.1\r\nHost: t\r\n{extra}\r\n").as_bytes())?;
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before the response",
        ));
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut len, mut closing) = (0usize, false);
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if l.starts_with("connection:") && l.contains("close") {
            closing = true;
        }
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)?;
    Ok((status, closing))
}

fn connect(port: u16) -> io::Result<BufReader<TcpStream>> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(BufReader::new(s))
}

/// Clients hammering weir in the background: half on kept-alive
/// connections, half with a new connection per request. Every failure
/// (connect error, reset, early close, non-200) is recorded.
fn http_load(port: u16, clients: usize) -> Load {
    Load::start(clients, move |i, tally| {
        client_loop(port, i % 2 == 0, tally)
    })
}

fn client_loop(port: u16, keep_alive: bool, tally: &Tally) {
    let mut conn: Option<BufReader<TcpStream>> = None;
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
        thread::sleep(Duration::from_millis(100));
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

/// The new master takes the very sockets of the old one (SCM_RIGHTS), so
/// pidfile reloads (`-sf $(cat pidfile)`) lose nothing either: 10 of them
/// in a row under load, while a long download started before them
/// completes intact.
#[test]
fn pidfile_reloads_take_the_old_sockets_and_lose_nothing() {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let cfg = http_config(port, "", "", &backend("be", "", &[origin.addr]));
    let mut current = Weir::start_with(&cfg, &["-p", "{dir}/weir.pid"]);
    let listening: Vec<u64> = procfs::socket_inodes(current.pid());

    // A 32 MiB download, read slowly enough to span the reloads.
    const SIZE: usize = 32 << 20;
    let download = thread::spawn(move || -> Result<(), String> {
        let mut c = connect(port).map_err(|e| e.to_string())?;
        c.get_mut()
            .write_all(
                format!("GET /download?bytes={SIZE}&seed=7 HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
            )
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        loop {
            line.clear();
            c.read_line(&mut line).map_err(|e| e.to_string())?;
            if line.trim_end().is_empty() {
                break;
            }
        }
        let mut want = common::client::Payload::new(7);
        let (mut got, mut buf, mut exp) = (0usize, vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
        while got < SIZE {
            let n = c
                .read(&mut buf)
                .map_err(|e| format!("after {got} bytes: {e}"))?;
            if n == 0 {
                return Err(format!("closed after {got} of {SIZE} bytes"));
            }
            want.fill(&mut exp[..n]);
            if buf[..n] != exp[..n] {
                return Err(format!("corrupt at byte {got}"));
            }
            got += n;
            thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    });

    let load = http_load(port, 4);
    let mut previous = Vec::new();
    for n in 0..10 {
        let old_pid = current.pid().to_string();
        let new = Weir::start_with(&cfg, &["-p", "{dir}/weir.pid", "-sf", &old_pid]);
        new.wait_log("took 1 listening sockets over", DEADLINE);
        let taken = procfs::socket_inodes(new.pid());
        assert!(
            listening.iter().any(|i| taken.contains(i)),
            "reload {n}: the new master holds the first listening socket: {listening:?} vs {taken:?}"
        );
        previous.push(std::mem::replace(&mut current, new));
    }
    load.wait_more(50, "traffic after the takeovers");
    load.finish();
    download
        .join()
        .unwrap()
        .expect("the long download completes intact");
    for old in &previous {
        old.wait_exit(Duration::from_secs(15));
    }
}
