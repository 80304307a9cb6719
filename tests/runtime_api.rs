//! The runtime API on `global.stats_socket`, driven with `socat` as an
//! operator would: every command and HAProxy's answers to bad input,
//! prompt mode, and changes that reach both workers (nbproc = 2):
//! `disable`/`enable server`, `set weight`, `shutdown sessions server`.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::client;
use common::origin::{echo_origin, named_origin, Origin};
use common::runtime::tally;
use common::weir::TempDir;
use common::{free_port, tcp_config, wait_for, wait_until, Weir, DEADLINE};

/// Sends `input` with socat and returns everything it printed.
fn socat(sock: &Path, input: &str) -> String {
    let mut child = Command::new("socat")
        .args(["-t", "2", "-"])
        .arg(format!("UNIX-CONNECT:{}", sock.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("socat (Debian package socat, installed by make deps)");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write to socat");
    }
    let out = child.wait_with_output().expect("socat");
    assert!(
        out.status.success(),
        "socat: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One command, as `echo CMD | socat - UNIX-CONNECT:SOCK`.
fn cmd(sock: &Path, command: &str) -> String {
    socat(sock, &format!("{command}\n"))
}

/// Two servers `s1`, `s2` (named origins), nbproc 2, the socket in the
/// instance's directory; waits until the API answers.
fn start(s1: &Origin, s2: &Origin, weights: (u32, u32)) -> (Weir, u16, PathBuf, TempDir) {
    let port = free_port();
    let servers = format!(
        "server = [{{ name = \"s1\", address = \"{}\", weight = {} }}, \
         {{ name = \"s2\", address = \"{}\", weight = {} }}]",
        s1.addr, weights.0, s2.addr, weights.1
    );
    // The socket's path is only known once the instance has a directory.
    let config = tcp_config(
        port,
        "nbproc = 2\nstats_socket = \"{dir}/admin.sock\"",
        "timeout = { connect = \"1s\", client = \"30s\", server = \"30s\" }",
        &servers,
    );
    let dir = TempDir::new("sock");
    let sock = dir.path.join("admin.sock");
    let config = config.replace("{dir}", dir.path.to_str().unwrap_or("/tmp"));
    let weir = Weir::spawn(&config, &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the runtime API", || {
        UnixStream::connect(&sock).is_ok() && common::procfs::is_listening(port)
    });
    (weir, port, sock, dir)
}

#[test]
fn commands_answer_as_haproxy_does() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let (weir, port, sock, _dir) = start(&s1, &s2, (10, 20));
    let mode = std::fs::metadata(&sock).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));

    let help = cmd(&sock, "help");
    assert!(help.starts_with("The following commands are valid at this level:\n"));
    for c in [
        "show info",
        "show stat",
        "show servers state",
        "show pools",
        "set weight",
        "shutdown sessions server",
        "prompt",
        "quit",
    ] {
        assert!(help.contains(&format!("  {c}")), "help lists {c}: {help}");
    }
    let info = cmd(&sock, "show info");
    assert!(info.starts_with("Name: weir\nVersion: "), "{info}");
    for key in [
        "Nbproc: 2\n",
        "Process_num: 1\n",
        "Uptime: 0d 0h00m",
        "Uptime_sec: ",
        "CurrConns: ",
        "CumConns: ",
        "CumReq: ",
        "Maxconn: ",
    ] {
        assert!(info.contains(key), "show info has {key}: {info}");
    }
    assert!(info.contains(&format!("Pid: {}\n", weir.pid())), "{info}");
    assert!(info.ends_with("\n\n"));

    let _ = client::read_all(port);
    let stat = cmd(&sock, "show stat");
    assert!(stat.starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,"));
    assert!(
        stat.contains("\nbe,s1,")
            && stat.contains("\nbe,BACKEND,")
            && stat.contains("\nfe,FRONTEND,")
    );
    assert!(stat.ends_with(",-,\n\n"), "{stat}");

    let state = cmd(&sock, "show servers state");
    let lines: Vec<&str> = state.lines().collect();
    assert_eq!(lines[0], "1");
    assert!(lines[1].starts_with("# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change"));
    let s2_line: Vec<&str> = lines[3].split(' ').collect();
    assert_eq!(
        &s2_line[1..9],
        ["be", "2", "s2", "127.0.0.1", "2", "0", "20", "20"]
    );
    assert_eq!(s2_line.len(), 25, "{state}");
    assert_eq!(cmd(&sock, "show servers state be").lines().count(), 4 + 1);
    assert_eq!(
        cmd(&sock, "show servers state nope"),
        "Can't find backend.\n\n"
    );
    let pools = cmd(&sock, "show pools");
    assert!(
        pools.starts_with("Dumping pools usage.") && pools.contains("not visible"),
        "{pools}"
    );

    // Bad input: HAProxy's messages, and the API keeps answering.
    let unknown = cmd(&sock, "foo bar");
    assert!(unknown
        .starts_with("Unknown command, but maybe one of the following ones is a better match:\n"));
    for (c, want) in [
        ("disable server be", "Require 'backend/server'.\n\n"),
        ("enable server", "Require 'backend/server'.\n\n"),
        ("disable server nope/s1", "No such backend.\n\n"),
        ("disable server be/zz", "No such server.\n\n"),
        (
            "set weight be/s1 300",
            "Absolute weight can only be between 0 and 256 inclusive.\n\n",
        ),
        (
            "set weight be/s1 -3",
            "Absolute weight can only be between 0 and 256 inclusive.\n\n",
        ),
        (
            "set weight be/s1 12x",
            "Trailing garbage in weight string\n\n",
        ),
        (
            "set weight be/s1 abc",
            "Empty weight string empty or preceded by garbage\n",
        ),
        ("set weight be/s1", "Require <weight> or <weight%>.\n\n"),
        (
            "set weight be/s1 -5%",
            "Relative weight must be positive.\n\n",
        ),
        (
            "set server be/s1 state bogus",
            "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n",
        ),
        (
            "shutdown sessions server be",
            "Require 'backend/server'.\n\n",
        ),
        ("set weight be/s1 50%", "\n"),
        ("get weight be/s1", "5 (initial 10)\n\n"),
        ("set server be/s1 weight 10", "\n"),
        ("get weight be/s1", "10 (initial 10)\n\n"),
    ] {
        assert_eq!(cmd(&sock, c), want, "answer to {c:?}");
    }
    let long = "x".repeat(20_000);
    assert!(cmd(&sock, &long).contains("too long"));
    assert_eq!(
        socat(&sock, "\u{0}\u{1}garbage\r\n"),
        cmd(&sock, "\u{0}\u{1}garbage")
    );

    // Several commands on a line; prompt mode until quit.
    let two = cmd(&sock, "get weight be/s1;get weight be/s2");
    assert_eq!(two, "10 (initial 10)\n\n20 (initial 20)\n\n");
    let prompt = socat(
        &sock,
        "prompt\nget weight be/s2\nset server be/s2 state drain\nget weight be/s2\nquit\n",
    );
    assert_eq!(prompt, "\n> 20 (initial 20)\n\n> \n> 20 (initial 20)\n\n> ");
    assert!(cmd(&sock, "show stat").contains(",DRAIN,20,"));
    assert_eq!(cmd(&sock, "set server be/s2 state ready"), "\n");
    drop(weir);
}

#[test]
fn idle_and_half_open_connections_are_closed() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let (weir, _port, sock, _dir) = start(&s1, &s2, (1, 1));
    let mut idle = UnixStream::connect(&sock).expect("connect");
    let mut partial = UnixStream::connect(&sock).expect("connect");
    partial.write_all(b"show in").expect("write");
    let _ = idle.set_read_timeout(Some(Duration::from_secs(15)));
    let start = Instant::now();
    let mut buf = [0u8; 64];
    assert!(
        matches!(idle.read(&mut buf), Ok(0)),
        "the idle connection closes"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(13),
        "{waited:?}"
    );
    let _ = partial.set_read_timeout(Some(Duration::from_secs(5)));
    assert!(matches!(partial.read(&mut buf), Ok(0)));
    // Meanwhile (and after) the API answers others.
    assert!(cmd(&sock, "show info").starts_with("Name: weir"));
    drop(weir);
}

#[test]
fn disable_and_enable_reach_both_workers() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let (weir, port, sock, _dir) = start(&s1, &s2, (1, 1));
    let (counts, _) = tally(&weir, port, 10);
    assert!(counts.get("s2").copied().unwrap_or(0) > 0, "{counts:?}");

    assert_eq!(cmd(&sock, "disable server be/s2"), "\n");
    weir.wait_log("Server be/s2 is going DOWN for maintenance", DEADLINE);
    let (counts, pids) = tally(&weir, port, 40);
    assert_eq!(
        counts.get("s1"),
        Some(&40),
        "only s1 once s2 is in maintenance: {counts:?}"
    );
    assert_eq!(pids.len(), 2, "both workers served: {pids:?}");
    assert!(cmd(&sock, "show stat").contains("\nbe,s2,0,0,0,"));
    assert!(cmd(&sock, "show stat").contains(",MAINT,"));

    assert_eq!(cmd(&sock, "enable server be/s2"), "\n");
    let (counts, pids) = tally(&weir, port, 40);
    assert!(
        counts.get("s2").copied().unwrap_or(0) >= 10,
        "s2 is back: {counts:?}"
    );
    assert_eq!(pids.len(), 2, "{pids:?}");
    // The same through `set server … state maint|ready`.
    assert_eq!(cmd(&sock, "set server be/s1 state maint"), "\n");
    let (counts, _) = tally(&weir, port, 20);
    assert_eq!(counts.get("s2"), Some(&20), "{counts:?}");
    assert_eq!(cmd(&sock, "set server be/s1 state ready"), "\n");
    drop(weir);
}

#[test]
fn set_weight_changes_the_split() {
    let (s1, s2) = (named_origin("s1"), named_origin("s2"));
    let (weir, port, sock, _dir) = start(&s1, &s2, (10, 10));
    assert_eq!(cmd(&sock, "set weight be/s2 30"), "\n");
    let (counts, pids) = tally(&weir, port, 80);
    let n2 = counts.get("s2").copied().unwrap_or(0);
    // 3 to 1 in each worker's round robin: 60 of 80, give or take a
    // rotation per worker.
    assert!((52..=68).contains(&n2), "s2 got {n2} of 80: {counts:?}");
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert_eq!(cmd(&sock, "set weight be/s1 0"), "\n");
    let (counts, _) = tally(&weir, port, 20);
    assert_eq!(
        counts.get("s2"),
        Some(&20),
        "weight 0 takes no traffic: {counts:?}"
    );
    assert!(cmd(&sock, "show stat").contains("\nbe,BACKEND,0,0,0,"));
    drop(weir);
}

#[test]
fn shutdown_sessions_closes_open_tcp_sessions() {
    let (s1, s2) = (echo_origin(), echo_origin());
    let (weir, port, sock, _dir) = start(&s1, &s2, (1, 1));
    // Enough sessions that both servers hold some.
    let mut conns: Vec<_> = (0..6)
        .map(|_| {
            let mut c = client::connect(port).expect("connect");
            client::echo_roundtrip(&mut c, b"hello").expect("echo through weir");
            c
        })
        .collect();
    wait_until(DEADLINE, "6 sessions", || {
        cmd(&sock, "show stat").contains("\nbe,BACKEND,0,0,6,")
    });
    // How many sit on s1 (scur, the CSV's fifth column).
    let stat = cmd(&sock, "show stat");
    let on_s1: usize = stat
        .lines()
        .find(|l| l.starts_with("be,s1,"))
        .and_then(|l| l.split(',').nth(4))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no s1 row: {stat}"));
    assert!((1..6).contains(&on_s1), "{stat}");
    assert_eq!(cmd(&sock, "shutdown sessions server be/s1"), "\n");
    let mut closed = 0;
    for c in &mut conns {
        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 16];
        if matches!(c.read(&mut buf), Ok(0) | Err(_)) && client::echo_roundtrip(c, b"x").is_err() {
            closed += 1;
        }
    }
    assert_eq!(closed, on_s1, "the sessions on s1 closed, those on s2 live");
    let killed = wait_for(DEADLINE, "the killed sessions' logs", || {
        let k: Vec<_> = weir
            .tcplogs()
            .into_iter()
            .filter(|(_, t)| t.termination.starts_with('K'))
            .collect();
        (k.len() == on_s1).then_some(k)
    });
    assert!(
        killed
            .iter()
            .all(|(_, t)| t.server == "s1" && t.termination == "KD"),
        "{killed:?}"
    );
    drop(conns);
    drop(weir);
}
