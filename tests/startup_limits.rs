//! Start-up and limits: `maxconn` pauses and resumes accepting, the `-sf`
//! bind retry dance against an old process that holds the port, `fd@N`
//! listeners, syslog to a unix socket, and the command line's exit codes.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::origin::echo_origin;
use common::weir::bin;
use common::{free_port, one_server, tcp_config, wait_until, Weir, DEADLINE};

/// A python process that kills itself with the test.
struct Py(Child);

impl Drop for Py {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python(script: &str, args: &[&str]) -> Py {
    Py(Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .expect("python3 (make deps installs it)"))
}

#[test]
fn maxconn_pauses_and_resumes_accepting() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        "maxconn = 2\nnbproc = 1",
        "",
        &one_server(origin.addr),
    ));
    let mut a = common::client::connect(port).unwrap();
    let mut b = common::client::connect(port).unwrap();
    common::client::echo_roundtrip(&mut a, b"a").unwrap();
    common::client::echo_roundtrip(&mut b, b"b").unwrap();
    // The third connection is queued by the kernel, not served.
    let mut c = common::client::connect(port).unwrap();
    c.write_all(b"c").unwrap();
    c.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert!(
        c.read(&mut buf).is_err(),
        "a third connection was served past maxconn=2"
    );
    assert_eq!(origin.accepted(), 2);
    drop(a);
    c.set_read_timeout(Some(DEADLINE)).unwrap();
    c.read_exact(&mut buf).expect("served once a slot was free");
    assert_eq!(&buf, b"c");
    drop((b, c, weir));
}

const HOLDER: &str = r#"
import signal, socket, sys, time
port, log, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.bind(("127.0.0.1", port)); s.listen(8)   # no SO_REUSEPORT: weir gets EADDRINUSE
def note(sig, _):
    global s
    open(log, "a").write(signal.Signals(sig).name + "\n")
    if sig == signal.SIGTTOU and mode == "yield" and s:
        s.close(); s = None
    if sig == signal.SIGUSR1:
        sys.exit(0)
for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGUSR1):
    signal.signal(sig, note)
open(log, "a").write("ready\n")
while True:
    time.sleep(0.05)
"#;

fn wait_file(path: &std::path::Path, needle: &str) -> String {
    let mut text = String::new();
    wait_until(DEADLINE, &format!("{needle} in {}", path.display()), || {
        text = std::fs::read_to_string(path).unwrap_or_default();
        text.contains(needle)
    });
    text
}

#[test]
fn sf_pauses_old_process_and_takes_the_port() {
    let origin = echo_origin();
    let port = free_port();
    let log = std::env::temp_dir().join(format!("weir-holder-{}-{port}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let old = python(HOLDER, &[&port.to_string(), log.to_str().unwrap(), "yield"]);
    wait_file(&log, "ready");
    let pid = old.0.id().to_string();
    let weir = Weir::start_with(
        &tcp_config(port, "nbproc = 1", "", &one_server(origin.addr)),
        &["-sf", &pid],
    );
    let mut s = common::client::connect(port).unwrap();
    common::client::echo_roundtrip(&mut s, b"hello").unwrap();
    let text = wait_file(&log, "SIGUSR1");
    assert!(
        text.contains("SIGTTOU"),
        "old process was not paused: {text}"
    );
    let _ = std::fs::remove_file(&log);
    drop(weir);
}

#[test]
fn sf_gives_up_resumes_old_process_and_exits_1() {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("weir-holder-{}-{port}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let old = python(HOLDER, &[&port.to_string(), log.to_str().unwrap(), "keep"]);
    wait_file(&log, "ready");
    let pid = old.0.id().to_string();
    let weir = Weir::spawn(
        &tcp_config(
            port,
            "nbproc = 1",
            "",
            &one_server("127.0.0.1:9".parse().unwrap()),
        ),
        &["-sf", &pid],
    );
    let start = Instant::now();
    let status = weir.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(1), "{}", weir.context());
    // 200 retries 10 ms apart.
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "gave up after {:?}",
        start.elapsed()
    );
    assert!(
        weir.stderr().contains(&format!("127.0.0.1:{port}")),
        "{}",
        weir.context()
    );
    let text = wait_file(&log, "SIGTTIN");
    assert!(
        text.contains("SIGTTOU") && !text.contains("SIGUSR1"),
        "{text}"
    );
    let _ = std::fs::remove_file(&log);
}

const LAUNCHER: &str = r#"
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
fd = os.dup2(s.fileno(), 7); os.set_inheritable(7, True)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
s.close()
os.execv(sys.argv[1], [sys.argv[1], "-f", sys.argv[3]])
"#;

#[test]
fn fd_bind_uses_an_inherited_socket() {
    let origin = echo_origin();
    let dir = common::weir::TempDir::new("fdbind");
    let cfg = dir.path.join("weir.toml");
    let portfile = dir.path.join("port");
    std::fs::write(
        &cfg,
        format!(
            "[global]\nnbproc = 1\nlog = \"stderr\"\n[defaults]\nmode = \"tcp\"\n\
             [frontend.fe]\nbind = [\"fd@7\"]\ndefault_backend = \"be\"\n[backend.be]\n{}\n",
            one_server(origin.addr)
        ),
    )
    .unwrap();
    let _master = python(
        LAUNCHER,
        &[
            bin().to_str().unwrap(),
            portfile.to_str().unwrap(),
            cfg.to_str().unwrap(),
        ],
    );
    let mut port = 0u16;
    wait_until(DEADLINE, "the launcher's port", || {
        port = std::fs::read_to_string(&portfile)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        port != 0
    });
    let mut s = common::client::connect(port).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    common::client::echo_roundtrip(&mut s, b"through fd@7").unwrap();
}

#[test]
fn syslog_to_a_unix_socket() {
    let origin = echo_origin();
    let port = free_port();
    let dir = common::weir::TempDir::new("syslog");
    let sock_path = dir.path.join("log.sock");
    let rx = UnixDatagram::bind(&sock_path).unwrap();
    rx.set_read_timeout(Some(DEADLINE)).unwrap();
    let cfg = tcp_config(port, "nbproc = 1", "", &one_server(origin.addr)).replace(
        "log = \"stderr\"",
        &format!(
            "log = \"unix:{}\"\nlog_facility = \"local1\"",
            sock_path.display()
        ),
    );
    let weir = Weir::start(&cfg);
    let mut s = common::client::connect(port).unwrap();
    common::client::echo_roundtrip(&mut s, b"x").unwrap();
    drop(s);
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + DEADLINE;
    loop {
        let n = rx.recv(&mut buf).expect("a syslog datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        // local1 (17) * 8 + info (6) = 142.
        if msg.starts_with("<142>") && msg.contains(" fe be/s1 ") {
            assert!(msg.contains(" weir["), "{msg}");
            assert!(msg.contains(" -- "), "{msg}");
            break;
        }
        assert!(Instant::now() < deadline, "no tcplog datagram");
    }
    drop(weir);
}

#[test]
fn usage_and_version() {
    let out = Command::new(bin()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: weir"));
    let out = Command::new(bin())
        .args(["-f", "x.toml", "-sf", "abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(bin()).arg("-v").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("weir version "));
    let out = Command::new(bin()).arg("-vv").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Build options"));
}
