//! Start-up: daemon mode with a pidfile and syslog, chroot and dropped
//! privileges, and failures that must leave nothing behind.

mod common;

use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{Group, User};

use common::logline::{self, LogLine, TcpLog};
use common::origin::echo_origin;
use common::procfs;
use common::weir::TempDir;
use common::{ci, client};
use common::{free_port, one_server, tcp_config, wait_for, wait_until, Weir, DEADLINE};

/// The session id (field 6 of `/proc/PID/stat`).
fn session_id(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Checks one syslog datagram, `<PRI>Mon DD HH:MM:SS weir[PID]: MESSAGE`,
/// and returns its pid and message.
fn parse_datagram(d: &str) -> LogLine {
    let rest = d
        .strip_prefix('<')
        .unwrap_or_else(|| panic!("no <PRI>: {d:?}"));
    let (pri, rest) = rest
        .split_once('>')
        .unwrap_or_else(|| panic!("no <PRI>: {d:?}"));
    let pri: u32 = pri.parse().unwrap_or_else(|_| panic!("bad PRI in {d:?}"));
    assert!(pri < 192, "PRI {pri} out of range in {d:?}");
    let rest = logline::strip_syslog_time(rest).unwrap_or_else(|| panic!("no timestamp: {d:?}"));
    assert!(
        rest.starts_with("weir["),
        "tag must follow the timestamp: {d:?}"
    );
    LogLine::parse(rest.trim_end_matches('\n')).unwrap_or_else(|| panic!("no weir[PID]: in {d:?}"))
}

#[test]
fn daemon_writes_pidfile_logs_to_syslog_and_serves() {
    let origin = echo_origin();
    let port = free_port();
    let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = tcp_config(
        port,
        &format!(
            "log = \"udp://127.0.0.1:{}\"",
            syslog.local_addr().unwrap().port()
        ),
        "",
        &one_server(origin.addr),
    )
    // tcp_config logs to stderr; this test wants syslog only.
    .replacen("log = \"stderr\"\n", "", 1);
    let weir = Weir::spawn(&config, &["-D", "-p", "{dir}/weir.pid"]);
    let pidfile = weir.path("weir.pid");

    let status = weir.wait_exit(DEADLINE);
    assert_eq!(
        status.code(),
        Some(0),
        "`weir -D` returns 0 once the daemon runs: {status}"
    );
    let pid: i32 = wait_for(DEADLINE, "the pidfile", || {
        fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    });
    weir.set_master(pid);
    assert!(
        procfs::alive(pid),
        "the pid in the pidfile ({pid}) is not running"
    );
    assert_ne!(
        session_id(pid),
        session_id(std::process::id() as i32),
        "the daemon must leave our session (setsid)"
    );
    for fd in 0..3 {
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok(),
            Some(PathBuf::from("/dev/null")),
            "the daemon's fd {fd} must be /dev/null"
        );
    }
    wait_until(DEADLINE, "the daemon to listen", || {
        procfs::is_listening(port)
    });
    let workers = weir.wait_workers(1, DEADLINE);

    let mut s = client::connect(port).unwrap();
    let me = s.local_addr().unwrap();
    client::echo_roundtrip(&mut s, b"through the daemon").unwrap();
    drop(s);

    // Both the start-up event and the session's tcplog arrive over syslog.
    let mut started = None;
    let mut session = None;
    let mut seen = Vec::new();
    let begin = Instant::now();
    let mut buf = [0u8; 65536];
    while started.is_none() || session.is_none() {
        assert!(
            begin.elapsed() < DEADLINE,
            "missing syslog lines (start-up: {started:?}, session: {session:?}); got {seen:#?}"
        );
        let Ok(n) = syslog.recv(&mut buf) else {
            continue;
        };
        let d = String::from_utf8_lossy(&buf[..n]).into_owned();
        let line = parse_datagram(&d);
        if line
            .message
            .contains(&format!("master started (pid {pid})"))
        {
            assert_eq!(line.pid, pid, "{d:?}");
            started = Some(d.clone());
        }
        if let Some(t) = TcpLog::parse(&line.message) {
            if t.client == me {
                assert_eq!(
                    line.pid, workers[0],
                    "sessions are logged by the worker: {d:?}"
                );
                assert_eq!(t.termination, "--", "{d:?}");
                session = Some(d.clone());
            }
        }
        seen.push(d);
    }

    weir.signal(Signal::SIGUSR1);
    weir.wait_gone(pid, DEADLINE);
    wait_until(Duration::from_secs(2), "the pidfile to be removed", || {
        !pidfile.exists()
    });
}

#[test]
fn workers_chroot_and_drop_privileges() {
    if !nix::unistd::geteuid().is_root() {
        ci::skip("chroot and setuid need root");
        return;
    }
    let (Some(user), Some(group)) = (
        User::from_name("nobody").ok().flatten(),
        Group::from_name("nogroup").ok().flatten(),
    ) else {
        ci::skip("no user nobody or group nogroup on this system");
        return;
    };
    let jail = TempDir::new("chroot");
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&tcp_config(
        port,
        &format!(
            "nbproc = 2\nchroot = \"{}\"\nuser = \"nobody\"\ngroup = \"nogroup\"",
            jail.path.display()
        ),
        "",
        &one_server(origin.addr),
    ));
    let workers = weir.wait_workers(2, DEADLINE);
    let jail_path = fs::canonicalize(&jail.path).unwrap();
    let (uid, gid) = (user.uid.as_raw(), group.gid.as_raw());
    for &w in &workers {
        assert_eq!(
            procfs::root_dir(w),
            Some(jail_path.clone()),
            "root of worker {w}"
        );
        assert_eq!(
            procfs::ids(w, "Uid"),
            vec![uid; 4],
            "Uid of worker {w} (nobody = {uid})"
        );
        assert_eq!(
            procfs::ids(w, "Gid"),
            vec![gid; 4],
            "Gid of worker {w} (nogroup = {gid})"
        );
        let groups = procfs::status_field(w, "Groups").unwrap_or_default();
        assert!(
            groups.split_whitespace().all(|g| g == gid.to_string()),
            "worker {w} kept supplementary groups: {groups:?}"
        );
    }
    // The master stays root and unchrooted, to re-read its config and bind.
    let master = weir.pid();
    assert_eq!(procfs::ids(master, "Uid"), vec![0; 4], "master Uid");
    assert_eq!(
        procfs::root_dir(master),
        Some(PathBuf::from("/")),
        "master root"
    );

    for i in 0..5 {
        let msg = format!("jailed {i}");
        assert_eq!(
            client::request(port, msg.as_bytes()).unwrap(),
            msg.as_bytes()
        );
    }
}

#[test]
fn bad_config_exits_1_and_listens_on_nothing() {
    let origin = echo_origin();
    let port = free_port();
    let config = tcp_config(port, "", "", &one_server(origin.addr))
        .replace("default_backend = \"be\"", "default_backend = \"nope\"");
    let weir = Weir::spawn(&config, &[]);
    let status = weir.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(1), "{status}\n{}", weir.context());
    let err = weir.stderr();
    assert!(
        err.contains("weir.toml"),
        "the error names the file: {err:?}"
    );
    assert!(
        err.contains("nope"),
        "the error names the unknown backend: {err:?}"
    );
    assert!(
        !procfs::is_listening(port),
        "a failed start left a listener"
    );
    assert!(
        client::connect(port).is_err(),
        "a failed start accepts connections"
    );
}

#[test]
fn busy_port_exits_1_naming_the_listener() {
    let origin = echo_origin();
    let port = free_port();
    // A plain listener (no SO_REUSEPORT) holds the port.
    let squatter = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let weir = Weir::spawn(&tcp_config(port, "", "", &one_server(origin.addr)), &[]);
    let status = weir.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(1), "{status}\n{}", weir.context());
    let err = weir.stderr();
    assert!(
        err.contains(&format!("127.0.0.1:{port}")),
        "the error names the listener: {err:?}"
    );
    drop(squatter);
}
