//! Signals to the master: soft stop (USR1), hard stop (TERM), pause and
//! resume (TTOU/TTIN), state and pool dumps (HUP/QUIT).

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use socket2::{Domain, Socket, Type};

use common::client::{self, Payload};
use common::origin::echo_origin;
use common::procfs;
use common::{free_port, one_server, seed, tcp_config, wait_until, Weir, DEADLINE};

/// Tries one connection: `Ok(true)` if it was established, `Ok(false)` if it
/// was refused.
fn probe(port: u16) -> io::Result<bool> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(false),
        Err(e) => Err(e),
    }
}

#[test]
fn usr1_soft_stop_refuses_new_connections_and_finishes_transfers() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start_with(
        &tcp_config(
            port,
            "grace = \"300ms\"\nhard_stop_after = \"10s\"",
            "",
            &one_server(origin.addr),
        ),
        &["-p", "{dir}/weir.pid"],
    );
    let pidfile = weir.path("weir.pid");
    let written = std::fs::read_to_string(&pidfile).expect("pidfile written");
    assert_eq!(
        written.trim(),
        weir.pid().to_string(),
        "pidfile holds the master's pid"
    );

    // An open transfer.
    let mut s = client::connect(port).unwrap();
    let data = Payload::bytes(seed(), 256 * 1024);
    client::echo_roundtrip(&mut s, &data[..1000]).unwrap();

    let signalled = Instant::now();
    weir.signal(Signal::SIGUSR1);
    // During `grace` connections are still accepted; after it, refused.
    let refused_after = loop {
        if !probe(port).expect("a probe connection was neither accepted nor refused") {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "still accepting connections 5 s after SIGUSR1 (grace 300ms)"
        );
        std::thread::sleep(Duration::from_millis(15));
    };
    assert!(
        refused_after >= Duration::from_millis(250),
        "connections refused {refused_after:?} after SIGUSR1, before the 300ms grace ended"
    );
    for _ in 0..3 {
        assert!(
            !probe(port).unwrap(),
            "a connection was accepted after the listeners closed"
        );
    }

    // The master waits for the in-flight session.
    assert!(
        weir.try_exit().is_none(),
        "the master exited with a session in flight"
    );
    client::echo_roundtrip(&mut s, &data)
        .expect("the open transfer continues during the soft stop");
    s.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("EOF after the transfer");
    assert!(rest.is_empty());

    let status = weir.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(0), "soft stop exits 0: {status}");
    assert!(!pidfile.exists(), "pidfile removed on clean exit");
}

#[test]
fn term_stops_promptly_with_status_0() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));
    let workers = weir.worker_pids();
    let mut s = client::connect(port).unwrap();
    client::echo_roundtrip(&mut s, b"open").unwrap();

    let start = Instant::now();
    weir.signal(Signal::SIGTERM);
    let status = weir.wait_exit(Duration::from_secs(5));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");
    assert_eq!(status.code(), Some(0), "hard stop exits 0: {status}");
    client::wait_closed(&mut s, Duration::from_secs(2))
        .expect("the open session is closed by a hard stop");
    wait_until(Duration::from_secs(2), "workers to exit", || {
        workers.iter().all(|&w| !procfs::alive(w))
    });
}

/// A listener on 127.0.0.1:`port` with SO_REUSEPORT, as a second instance
/// taking over the traffic would open it.
fn reuseport_listener(port: u16) -> TcpListener {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.set_reuse_port(true).unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    s.bind(&addr.into())
        .unwrap_or_else(|e| panic!("bind {addr} with SO_REUSEPORT next to paused weir: {e}"));
    s.listen(128).unwrap();
    s.into()
}

#[test]
fn ttou_pauses_listening_and_ttin_resumes() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(port, "", "", &one_server(origin.addr)));
    assert_eq!(client::request(port, b"before").unwrap(), b"before");

    weir.signal(Signal::SIGTTOU);
    wait_until(DEADLINE, "weir to stop listening after SIGTTOU", || {
        !procfs::is_listening(port)
    });
    weir.wait_log("Proxy fe paused", DEADLINE);

    // Another process's listener now gets every new connection.
    let other = reuseport_listener(port);
    other.set_nonblocking(true).unwrap();
    let mut clients = Vec::new();
    for i in 0..20 {
        let c =
            client::connect(port).unwrap_or_else(|e| panic!("connection {i} while paused: {e}"));
        let start = Instant::now();
        loop {
            match other.accept() {
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    assert!(
                        start.elapsed() < Duration::from_secs(2),
                        "connection {i} did not reach the other listener"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
        clients.push(c);
    }
    drop(other);
    drop(clients);

    weir.signal(Signal::SIGTTIN);
    wait_until(DEADLINE, "weir to listen again after SIGTTIN", || {
        procfs::is_listening(port)
    });
    weir.wait_log("Proxy fe resumed", DEADLINE);
    for i in 0..5 {
        let msg = format!("after resume {i}");
        assert_eq!(
            client::request(port, msg.as_bytes()).unwrap_or_else(|e| panic!("{msg}: {e}")),
            msg.as_bytes()
        );
    }
}

#[test]
fn hup_and_quit_dump_state_and_keep_serving() {
    let origin = echo_origin();
    let spare = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "",
        "",
        &format!(
            "server = [ {{ name = \"s1\", address = \"{}\", weight = 2 }}, \
                        {{ name = \"s2\", address = \"{}\", disabled = true }} ]",
            origin.addr, spare.addr
        ),
    ));
    let workers = weir.worker_pids();
    for i in 0..3 {
        client::request(port, format!("{i}").as_bytes()).unwrap();
    }
    weir.wait_tcplogs(3, DEADLINE);

    weir.signal(Signal::SIGHUP);
    let up = weir.wait_log("SIGHUP: Server be/s1 is UP, weight 2.", DEADLINE);
    assert!(
        up.message.contains("Conn: 0 act, 0 pend, 3 tot."),
        "three sessions ended, none open: {:?}",
        up.message
    );
    weir.wait_log("SIGHUP: Server be/s2 is MAINT", DEADLINE);

    weir.signal(Signal::SIGQUIT);
    weir.wait_log_where("SIGQUIT: pool…", DEADLINE, |l| {
        l.message.starts_with("SIGQUIT: pool")
    });

    let mut s = client::connect(port).unwrap();
    s.write_all(b"still serving").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"still serving");
    assert!(weir.try_exit().is_none(), "weir exited after HUP/QUIT");
    assert_eq!(
        weir.worker_pids(),
        workers,
        "the signals must not cost a worker"
    );
}
