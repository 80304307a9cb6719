//! Logs, batched: a worker queues the lines of one loop turn and sends them
//! together (one `sendmmsg` per syslog target, one `write` on the console)
//! before it polls again. Every line still arrives, whole and in order, on
//! every target: many lines in one turn, a line longer than a batch, and
//! the last lines of a worker that stops.

mod common;

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::client;
use common::http::{http_config, raw_exchange, statuses};
use common::logline::{self, HttpLog, LogLine, TcpLog};
use common::origin::echo_origin;
use common::{free_port, one_server, tcp_config, wait_for, Weir, DEADLINE};
use nix::sys::signal::Signal;

/// A syslog server in a thread: every datagram weir sends, in arrival order.
struct Syslog {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<Mutex<bool>>,
    thread: Option<JoinHandle<()>>,
}

enum Rx {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Syslog {
    fn start(rx: Rx) -> Syslog {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(Mutex::new(false));
        let (l, s) = (lines.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            while !*s.lock().unwrap() {
                let got = match &rx {
                    Rx::Udp(u) => u.recv(&mut buf),
                    Rx::Unix(u) => u.recv(&mut buf),
                };
                if let Ok(n) = got {
                    l.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        Syslog {
            lines,
            stop,
            thread: Some(thread),
        }
    }

    /// A UDP syslog server on 127.0.0.1 and the `log` target naming it.
    fn udp() -> (Syslog, String) {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let target = format!("udp://{}", u.local_addr().unwrap());
        (Syslog::start(Rx::Udp(u)), target)
    }

    /// A unix datagram syslog server at `path` and the `log` target.
    fn unix(path: &std::path::Path) -> (Syslog, String) {
        let u = UnixDatagram::bind(path).unwrap();
        u.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let target = format!("unix:{}", path.display());
        (Syslog::start(Rx::Unix(u)), target)
    }

    /// Every datagram so far, checked (`<PRI>DATE weir[PID]: MESSAGE`) and
    /// parsed.
    fn logs(&self) -> Vec<LogLine> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|d| {
                // local0 (16): <128> to <135>.
                let rest = d
                    .strip_prefix("<13")
                    .and_then(|r| {
                        r.get(1..)
                            .filter(|_| (b'0'..=b'5').contains(&r.as_bytes()[0]))
                    })
                    .and_then(|r| r.strip_prefix('>'))
                    .unwrap_or_else(|| panic!("no local0 <PRI>: {d:.200}"));
                let rest = logline::strip_syslog_time(rest)
                    .unwrap_or_else(|| panic!("no syslog date: {d:.200}"));
                assert!(rest.starts_with("weir["), "{d:.200}");
                assert!(!rest.ends_with('\n'), "a datagram has no newline");
                LogLine::parse(rest).unwrap_or_else(|| panic!("no weir[PID]: {d:.200}"))
            })
            .collect()
    }

    fn httplogs(&self) -> Vec<HttpLog> {
        self.logs()
            .iter()
            .filter_map(|l| HttpLog::parse(l.pid, &l.message))
            .collect()
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        *self.stop.lock().unwrap() = true;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An HTTP frontend answering every request itself, logging to `targets`.
fn local_config(port: u16, targets: &str, global: &str) -> String {
    http_config(
        port,
        "",
        r#"http_request = [ { return = { status = 200, content_type = "text/plain", body = "ok" } } ]"#,
        "[backend.be]\nserver = [ { name = \"s1\", address = \"127.0.0.1:9\" } ]\n",
    )
    .replace(
        "log = \"stderr\"",
        &format!("log = [\"stderr\", \"{targets}\"]\n{global}"),
    )
}

/// `n` pipelined GETs of `/r/0` … `/r/{n-1}` in one write, the last one
/// closing the connection; returns the statuses weir answered.
fn pipelined(port: u16, targets: &[String]) -> Vec<u16> {
    let mut bytes = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let close = if i + 1 == targets.len() {
            "Connection: close\r\n"
        } else {
            ""
        };
        bytes.extend_from_slice(format!("GET {t} HTTP/1.1\r\nHost: x\r\n{close}\r\n").as_bytes());
    }
    let (got, closed) = raw_exchange(port, &bytes, DEADLINE);
    assert!(closed, "weir closes after the last request");
    statuses(&got)
}

/// The request targets of the httplog lines in `logs`, in order.
fn targets(logs: &[HttpLog]) -> Vec<String> {
    logs.iter().map(|l| l.target().to_string()).collect()
}

fn wait_targets(what: &str, n: usize, mut get: impl FnMut() -> Vec<HttpLog>) -> Vec<String> {
    wait_for(DEADLINE, what, || {
        let t = targets(&get());
        (t.len() >= n).then_some(t)
    })
}

#[test]
fn many_lines_of_one_turn_arrive_whole_and_in_order_over_udp_and_stderr() {
    let (syslog, target) = Syslog::udp();
    let port = free_port();
    let weir = Weir::start(&local_config(port, &target, ""));
    // More lines than one batch holds (64): pipelined requests are answered
    // several per loop turn, so the worker flushes early, then per turn.
    let want: Vec<String> = (0..150).map(|i| format!("/r/{i}")).collect();
    let got = pipelined(port, &want);
    assert_eq!(got, vec![200; want.len()]);

    let on_udp = wait_targets("150 httplog datagrams", want.len(), || syslog.httplogs());
    assert_eq!(on_udp, want, "every line, in order, one per datagram");
    let on_stderr = wait_targets("150 httplog lines on stderr", want.len(), || {
        logline::httplogs(&weir.stderr())
    });
    assert_eq!(on_stderr, want);
    let worker = weir.worker_pids()[0];
    assert!(syslog.httplogs().iter().all(|l| l.pid == worker));
    // Console lines stay one per line, never glued or split.
    let stderr = weir.stderr();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("/r/")).collect();
    assert_eq!(lines.len(), want.len());
    assert!(
        lines.iter().all(|l| l.ends_with(" HTTP/1.1\"")),
        "{lines:?}"
    );
}

#[test]
fn a_line_longer_than_a_batch_arrives_whole_between_its_neighbours() {
    let dir = common::weir::TempDir::new("logbatch");
    let (syslog, target) = Syslog::unix(&dir.path.join("log.sock"));
    let port = free_port();
    // A request line of 80 KiB, longer than a batch (64 KiB): the buffers
    // must hold its head.
    let weir = Weir::start(&local_config(port, &target, "bufsize = \"256k\""));
    let long = format!("/long/{}", "x".repeat(80 * 1024));
    let want = vec!["/before".to_string(), long.clone(), "/after".to_string()];
    assert_eq!(pipelined(port, &want), vec![200, 200, 200]);

    let on_stderr = wait_targets("3 httplog lines on stderr", 3, || {
        logline::httplogs(&weir.stderr())
    });
    assert_eq!(on_stderr, want, "whole, in order, on stderr");
    let on_unix = wait_targets("3 httplog datagrams", 3, || syslog.httplogs());
    assert_eq!(on_unix, want, "whole, in order, over a unix socket");
}

#[test]
fn lines_of_a_soft_stopping_worker_are_all_sent() {
    let (syslog, target) = Syslog::udp();
    let origin = echo_origin();
    let port = free_port();
    let config = tcp_config(
        port,
        "grace = \"100ms\"\nhard_stop_after = \"10s\"",
        "",
        &one_server(origin.addr),
    )
    .replace(
        "log = \"stderr\"",
        &format!("log = [\"stderr\", \"{target}\"]"),
    );
    let weir = Weir::start(&config);
    let worker = weir.worker_pids()[0];

    // A session open through the soft stop.
    let mut s = client::connect(port).unwrap();
    client::echo_roundtrip(&mut s, b"hello").unwrap();
    let me = s.local_addr().unwrap();
    weir.signal(Signal::SIGUSR1);
    // The worker's own lines, logged while it waits for the session, leave
    // before it polls (it is idle then).
    let from_worker = |l: &LogLine| l.pid == worker && l.message.contains("Proxy fe stopped");
    weir.wait_log_where("the worker's `Proxy fe stopped`", DEADLINE, from_worker);
    wait_for(DEADLINE, "`Proxy fe stopped` over syslog", || {
        syslog.logs().into_iter().find(|l| from_worker(l))
    });

    // The session ends; its line is the worker's last, logged in the turn
    // after which it exits.
    client::echo_roundtrip(&mut s, b"bye").unwrap();
    drop(s);
    let status = weir.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(0), "soft stop exits 0: {status}");
    let mine = |pid: i32, t: &TcpLog| pid == worker && t.client == me;
    let on_stderr = weir.tcplogs().into_iter().find(|(p, t)| mine(*p, t));
    let (_, line) = on_stderr.unwrap_or_else(|| panic!("no tcplog line\n{}", weir.context()));
    assert_eq!(line.termination, "--", "{line:?}");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let found = syslog
            .logs()
            .into_iter()
            .any(|l| TcpLog::parse(&l.message).is_some_and(|t| mine(l.pid, &t)));
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no tcplog datagram from the stopped worker: {:?}",
            syslog.logs()
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}
