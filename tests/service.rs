//! weir under systemd (`Type=notify`): the master's `sd_notify` messages,
//! read from a datagram socket the test binds and passes as
//! `$NOTIFY_SOCKET`, in the order systemd needs them — `READY=1` with
//! `MAINPID` once the workers are up; on SIGUSR2 `RELOADING=1` with
//! `MONOTONIC_USEC`, then `READY=1` (after a done or an aborted reload); on
//! SIGUSR1 or SIGTERM `STOPPING=1`.

mod common;

use std::ffi::OsStr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use common::weir::TempDir;
use common::{free_port, Weir, DEADLINE};
use nix::sys::signal::Signal;
use nix::time::{clock_gettime, ClockId};

/// An HTTP frontend that answers by itself, so no origin is needed.
fn config(port: u16) -> String {
    format!(
        "[global]\n\
         log = \"stderr\"\n\
         hard_stop_after = \"5s\"\n\
         \n\
         [defaults]\n\
         mode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\
         \n\
         [frontend.fe]\n\
         bind = [\"127.0.0.1:{port}\"]\n\
         default_backend = \"be\"\n\
         http_request = [{{ return = {{ status = 200, content_type = \"text/plain\", body = \"up\\n\" }} }}]\n\
         \n\
         [backend.be]\n\
         server = [{{ name = \"s1\", address = \"127.0.0.1:9\" }}]\n"
    )
}

/// The test's end of `$NOTIFY_SOCKET`.
struct Systemd {
    sock: UnixDatagram,
    /// The value to pass in the environment.
    env: String,
    _dir: Option<TempDir>,
}

impl Systemd {
    /// A socket file in a temporary directory.
    fn path() -> Systemd {
        let dir = TempDir::new("notify");
        let path = dir.path.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        sock.set_read_timeout(Some(DEADLINE)).unwrap();
        Systemd {
            sock,
            env: path.to_str().unwrap().to_string(),
            _dir: Some(dir),
        }
    }

    /// An abstract address, `@name` (no file), as systemd also uses.
    fn abstract_name() -> Systemd {
        let name = format!(
            "weir-test-notify-{}-{:x}",
            std::process::id(),
            common::seed()
        );
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let sock = UnixDatagram::bind_addr(&addr).expect("bind abstract notify socket");
        sock.set_read_timeout(Some(DEADLINE)).unwrap();
        Systemd {
            sock,
            env: format!("@{name}"),
            _dir: None,
        }
    }

    fn start(&self, config: &str) -> Weir {
        Weir::start_env(
            config,
            &[],
            &[("NOTIFY_SOCKET", OsStr::new(self.env.as_str()))],
        )
    }

    /// The next message, as `KEY=VALUE` lines; panics after [`DEADLINE`].
    fn recv(&self, weir: &Weir, waiting_for: &str) -> Vec<(String, String)> {
        let mut buf = [0u8; 4096];
        let n = self.sock.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "no notify message ({waiting_for}) within {DEADLINE:?}: {e}\n{}",
                weir.context()
            )
        });
        let text = std::str::from_utf8(&buf[..n]).expect("UTF-8 message");
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l
                    .split_once('=')
                    .unwrap_or_else(|| panic!("not KEY=VALUE: {l:?} in {text:?}"));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    /// Nothing arrives within `d`.
    fn silent_for(&self, d: Duration) -> Option<String> {
        self.sock.set_read_timeout(Some(d)).unwrap();
        let mut buf = [0u8; 4096];
        let got = self
            .sock
            .recv(&mut buf)
            .ok()
            .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
        self.sock.set_read_timeout(Some(DEADLINE)).unwrap();
        got
    }
}

fn get<'a>(msg: &'a [(String, String)], key: &str) -> Option<&'a str> {
    msg.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn monotonic_usec() -> u64 {
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).unwrap();
    t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000
}

fn assert_ready(msg: &[(String, String)], weir: &Weir) {
    assert_eq!(get(msg, "READY"), Some("1"), "{msg:?}");
    assert_eq!(
        get(msg, "MAINPID"),
        Some(weir.pid().to_string().as_str()),
        "{msg:?}"
    );
    assert!(get(msg, "STATUS").is_some(), "{msg:?}");
}

fn curl_ok(port: u16) {
    let out = common::http::curl(port, "/", &[]);
    let body = String::from_utf8_lossy(&out.body);
    assert_eq!((out.status, body.as_ref()), (200, "up\n"), "{}", out.stderr);
}

#[test]
fn ready_reloading_ready_stopping_in_order() {
    let systemd = Systemd::path();
    let port = free_port();
    let weir = systemd.start(&config(port));

    let ready = systemd.recv(&weir, "READY=1 at start-up");
    assert_ready(&ready, &weir);
    assert!(
        get(&ready, "STATUS").unwrap().contains("1 workers"),
        "{ready:?}"
    );
    curl_ok(port);

    // Reload: RELOADING=1 stamped with CLOCK_MONOTONIC, then READY=1.
    let before = monotonic_usec();
    weir.signal(Signal::SIGUSR2);
    let reloading = systemd.recv(&weir, "RELOADING=1");
    let after = monotonic_usec();
    assert_eq!(get(&reloading, "RELOADING"), Some("1"), "{reloading:?}");
    let stamp: u64 = get(&reloading, "MONOTONIC_USEC")
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {reloading:?}"))
        .parse()
        .unwrap();
    assert!(
        (before..=after).contains(&stamp),
        "MONOTONIC_USEC={stamp} not within [{before}, {after}]"
    );
    assert!(get(&reloading, "READY").is_none(), "{reloading:?}");
    let ready = systemd.recv(&weir, "READY=1 after the reload");
    assert_ready(&ready, &weir);
    assert_eq!(
        get(&ready, "STATUS"),
        Some("reload done (generation 1)"),
        "{ready:?}"
    );
    weir.wait_log("reload done (generation 1)", DEADLINE);
    curl_ok(port);

    // Soft stop.
    weir.signal(Signal::SIGUSR1);
    let stopping = systemd.recv(&weir, "STOPPING=1");
    assert_eq!(get(&stopping, "STOPPING"), Some("1"), "{stopping:?}");
    assert!(weir.wait_exit(DEADLINE).success(), "{}", weir.context());
    assert_eq!(systemd.silent_for(Duration::from_millis(200)), None);
}

#[test]
fn an_aborted_reload_is_ready_again_and_a_hard_stop_says_stopping() {
    let systemd = Systemd::path();
    let port = free_port();
    let weir = systemd.start(&config(port));
    assert_ready(&systemd.recv(&weir, "READY=1 at start-up"), &weir);

    std::fs::write(&weir.config_path, "[global]\nnbproc = \"many\"\n").unwrap();
    weir.signal(Signal::SIGUSR2);
    let reloading = systemd.recv(&weir, "RELOADING=1");
    assert_eq!(get(&reloading, "RELOADING"), Some("1"), "{reloading:?}");
    let ready = systemd.recv(&weir, "READY=1 after the aborted reload");
    assert_ready(&ready, &weir);
    assert!(
        get(&ready, "STATUS").unwrap().contains("aborted"),
        "{ready:?}"
    );
    weir.wait_log("reload aborted", DEADLINE);
    curl_ok(port);

    weir.signal(Signal::SIGTERM);
    let stopping = systemd.recv(&weir, "STOPPING=1 on SIGTERM");
    assert_eq!(get(&stopping, "STOPPING"), Some("1"), "{stopping:?}");
    assert!(weir.wait_exit(DEADLINE).success(), "{}", weir.context());
}

#[test]
fn abstract_notify_socket() {
    let systemd = Systemd::abstract_name();
    let port = free_port();
    let weir = systemd.start(&config(port));
    assert_ready(&systemd.recv(&weir, "READY=1 on @abstract"), &weir);
    weir.signal(Signal::SIGUSR1);
    let stopping = systemd.recv(&weir, "STOPPING=1");
    assert_eq!(get(&stopping, "STOPPING"), Some("1"), "{stopping:?}");
}

#[test]
fn a_quiet_check_sends_and_prints_nothing() {
    let systemd = Systemd::path();
    let dir = TempDir::new("notify-check");
    let path = dir.path.join("weir.toml");
    std::fs::write(&path, config(free_port())).unwrap();
    let out = std::process::Command::new(common::weir::bin())
        .args(["-c", "-q", "-f"])
        .arg(&path)
        .env("NOTIFY_SOCKET", &systemd.env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "-c -q is silent when valid: {out:?}"
    );
    assert_eq!(systemd.silent_for(Duration::from_millis(200)), None);
}

/// The init script's `reload`: a new master started with `-p PIDFILE -sf
/// OLD` rewrites the pidfile, and the old master leaving must not delete
/// it; the new master removes it when it stops.
#[test]
fn a_pidfile_reload_leaves_the_new_masters_pidfile() {
    let dir = TempDir::new("pidfile-reload");
    let pidfile = dir.path.join("weir.pid");
    let pidfile_arg = pidfile.to_str().unwrap();
    let port = free_port();
    let cfg = config(port);
    let old = Weir::start_with(&cfg, &["-p", pidfile_arg]);
    let old_pid = old.pid().to_string();
    let read = || std::fs::read_to_string(&pidfile).unwrap_or_default();
    assert_eq!(read().trim(), old_pid);

    let new = Weir::start_with(&cfg, &["-p", pidfile_arg, "-sf", &old_pid]);
    assert!(old.wait_exit(DEADLINE).success(), "{}", old.context());
    assert_eq!(read().trim(), new.pid().to_string(), "after the old exited");
    curl_ok(port);

    new.signal(Signal::SIGUSR1);
    assert!(new.wait_exit(DEADLINE).success(), "{}", new.context());
    assert!(!pidfile.exists(), "the last master removes its pidfile");
}
