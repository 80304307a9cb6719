//! Servers added, deleted and moved at run time through the runtime API
//! (`add server`, `del server`, `set server B/S addr`), against a real weir
//! with two workers and real origins: what each worker routes to, what the
//! health checks see, what `show stat` and `show servers state` list, the
//! errors, a reload, and `weir -c` on `server_slots`.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::signal::Signal;

use common::http::{backend, curl, http_config, Client};
use common::http_origin::HttpOrigin;
use common::origin::{named_origin, Origin};
use common::runtime::{command, stat_text, tally};
use common::weir::TempDir;
use common::{free_port, tcp_config, wait_until, Weir, DEADLINE};

/// One command; panics if the socket does not answer.
fn cmd(sock: &Path, line: &str) -> String {
    command(sock, line).unwrap_or_else(|| panic!("no answer to {line:?}"))
}

/// weir with nbproc 2, backend `be` holding `servers` (TOML list items),
/// `extra` lines in the backend, the runtime API in the instance's
/// directory; waits until the API answers.
fn start(servers: &str, extra: &str) -> (Weir, u16, PathBuf, TempDir) {
    let port = free_port();
    let config = tcp_config(
        port,
        "nbproc = 2\nstats_socket = \"{dir}/admin.sock\"",
        "timeout = { connect = \"1s\", client = \"30s\", server = \"30s\" }",
        &format!("{extra}\nserver = [{servers}]"),
    );
    let dir = TempDir::new("srv");
    let sock = dir.path.join("admin.sock");
    let config = config.replace("{dir}", dir.path.to_str().unwrap_or("/tmp"));
    let weir = Weir::spawn(&config, &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the runtime API", || {
        UnixStream::connect(&sock).is_ok() && common::procfs::is_listening(port)
    });
    (weir, port, sock, dir)
}

fn server(name: &str, o: &Origin) -> String {
    format!("{{ name = \"{name}\", address = \"{}\" }}", o.addr)
}

/// The servers of `be` in `show stat`, in order.
fn stat_servers(sock: &Path) -> Vec<String> {
    cmd(sock, "show stat")
        .lines()
        .filter_map(|l| {
            let mut f = l.split(',');
            (f.next() == Some("be"))
                .then(|| f.next().map(str::to_string))
                .flatten()
        })
        .filter(|s| s != "BACKEND")
        .collect()
}

/// The `srv_name srv_addr srv_port` of each line of `show servers state be`.
fn state_servers(sock: &Path) -> Vec<(String, String, String)> {
    cmd(sock, "show servers state be")
        .lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Some((
                f.get(3)?.to_string(),
                f.get(4)?.to_string(),
                f.get(18)?.to_string(),
            ))
        })
        .collect()
}

fn both_workers(weir: &Weir, pids: &BTreeSet<i32>) {
    let workers: BTreeSet<i32> = weir.worker_pids().into_iter().collect();
    assert_eq!(pids, &workers, "both workers served");
}

#[test]
fn added_server_takes_traffic_on_both_workers_and_deleted_one_none() {
    let (o1, o2) = (named_origin("s1"), named_origin("s2"));
    let (weir, port, sock, _dir) = start(&server("s1", &o1), "server_slots = 3");

    let answer = cmd(&sock, &format!("add server be/s2 {} weight 5", o2.addr));
    assert_eq!(answer, "New server registered.\n\n");
    // As HAProxy: a new server waits in maintenance until enabled.
    assert_eq!(
        stat_text(&sock, "be", "s2", "status").as_deref(),
        Some("MAINT")
    );
    assert_eq!(stat_text(&sock, "be", "s2", "weight").as_deref(), Some("5"));
    assert_eq!(stat_servers(&sock), ["s1", "s2"]);
    let state = state_servers(&sock);
    assert_eq!(
        state[1],
        ("s2".into(), "127.0.0.1".into(), o2.port().to_string())
    );
    assert_eq!(cmd(&sock, "get weight be/s2"), "5 (initial 5)\n\n");
    let (counts, _) = tally(&weir, port, 10);
    assert_eq!(
        counts.get("s1"),
        Some(&10),
        "nothing to s2 in maintenance: {counts:?}"
    );

    // Enabled, and s1 out: every connection, from both workers, to s2.
    assert_eq!(cmd(&sock, "enable server be/s2"), "\n");
    assert_eq!(cmd(&sock, "set server be/s1 state maint"), "\n");
    let (counts, pids) = tally(&weir, port, 20);
    assert_eq!(counts.get("s2"), Some(&20), "{counts:?}");
    both_workers(&weir, &pids);
    assert_eq!(stat_text(&sock, "be", "s2", "stot").as_deref(), Some("20"));

    // Both in: both get traffic.
    assert_eq!(cmd(&sock, "set server be/s1 state ready"), "\n");
    let (counts, _) = tally(&weir, port, 24);
    assert!(
        counts.get("s1") > Some(&0) && counts.get("s2") > Some(&0),
        "{counts:?}"
    );

    // Not in maintenance: refused.
    assert_eq!(
        cmd(&sock, "del server be/s2"),
        "Only servers in maintenance mode can be deleted.\n\n"
    );
    // In maintenance but with a session on it: refused.
    let mut held = hold_session_on(&sock, port, "s2");
    assert_eq!(cmd(&sock, "disable server be/s2"), "\n");
    assert_eq!(
        cmd(&sock, "del server be/s2"),
        "Server still has connections attached to it, cannot remove it.\n\n"
    );
    drop(held.take());
    wait_until(DEADLINE, "the session on s2 to end", || {
        stat_text(&sock, "be", "s2", "scur").as_deref() == Some("0")
    });
    assert_eq!(cmd(&sock, "del server be/s2"), "Server deleted.\n\n");
    weir.wait_log("Server be/s2 deleted", DEADLINE);
    assert_eq!(stat_servers(&sock), ["s1"]);
    assert_eq!(state_servers(&sock).len(), 1);
    assert_eq!(cmd(&sock, "disable server be/s2"), "No such server.\n\n");
    let before = o2.accepted();
    let (counts, pids) = tally(&weir, port, 20);
    assert_eq!(counts.get("s1"), Some(&20), "{counts:?}");
    both_workers(&weir, &pids);
    assert_eq!(o2.accepted(), before, "the deleted server got nothing");

    // The slot is free again: a new server takes it with fresh figures.
    let o3 = named_origin("s3");
    assert_eq!(
        cmd(&sock, &format!("add server be/s3 {}", o3.addr)),
        "New server registered.\n\n"
    );
    assert_eq!(stat_text(&sock, "be", "s3", "stot").as_deref(), Some("0"));
    assert_eq!(stat_servers(&sock), ["s1", "s3"]);
}

/// Opens a connection that lands on `server` (the other servers in
/// maintenance meanwhile) and stays open: weir holds a session on it until
/// the returned stream is dropped.
fn hold_session_on(sock: &Path, port: u16, server: &str) -> Option<TcpStream> {
    assert_eq!(cmd(sock, "set server be/s1 state maint"), "\n");
    let mut s = common::client::connect(port).unwrap_or_else(|e| panic!("connect: {e}"));
    let mut name = vec![0u8; server.len()];
    s.read_exact(&mut name)
        .unwrap_or_else(|e| panic!("read: {e}"));
    assert_eq!(name, server.as_bytes());
    wait_until(DEADLINE, "a session on the server", || {
        stat_text(sock, "be", server, "scur").as_deref() == Some("1")
    });
    assert_eq!(cmd(sock, "set server be/s1 state ready"), "\n");
    Some(s)
}

/// A worker, or the control process, respawned after a crash starts from
/// the shared state: servers added before the crash are there.
#[test]
fn respawned_processes_see_added_servers() {
    let (o1, o2) = (named_origin("s1"), named_origin("s2"));
    let (weir, port, sock, _dir) = start(
        &server("s1", &o1),
        "check = { type = \"tcp\", interval = \"100ms\", rise = 1, fall = 1 }",
    );
    assert_eq!(
        cmd(&sock, &format!("add server be/s2 {} check", o2.addr)),
        "New server registered.\n\n"
    );
    assert_eq!(cmd(&sock, "enable server be/s2"), "\n");
    assert_eq!(cmd(&sock, "disable server be/s1"), "\n");
    let victim = weir.worker_pids()[0];
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim), Signal::SIGKILL)
        .unwrap_or_else(|e| panic!("kill {victim}: {e}"));
    wait_until(DEADLINE, "a new worker", || {
        let pids = weir.worker_pids();
        pids.len() == 2 && !pids.contains(&victim)
    });
    let (counts, pids) = tally(&weir, port, 20);
    assert_eq!(counts.get("s2"), Some(&20), "{counts:?}");
    both_workers(&weir, &pids);

    let control = weir
        .control_pid()
        .unwrap_or_else(|| panic!("a control process"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(control), Signal::SIGKILL)
        .unwrap_or_else(|e| panic!("kill {control}: {e}"));
    wait_until(DEADLINE, "a new control process", || {
        weir.control_pid().is_some_and(|p| p != control)
    });
    // Its checks include the added server: gone, it goes DOWN.
    drop(o2);
    wait_until(DEADLINE, "s2 DOWN", || {
        stat_text(&sock, "be", "s2", "status").as_deref() == Some("DOWN")
    });
}

#[test]
fn bad_input_and_no_free_slot() {
    let o1 = named_origin("s1");
    let (_weir, _port, sock, _dir) = start(&server("s1", &o1), "server_slots = 2");
    let o2 = named_origin("s2");
    let a = o2.addr;
    let cases = [
        (format!("add server nope/x {a}"), "No such backend.\n"),
        (format!("add server be/s1 {a}"), "Already exists a server with the same name in backend.\n"),
        ("add server be/x".to_string(), "Usage: add server <backend>/<server> <addr>:<port> [weight <n>] [check] [backup]\n"),
        ("add server be/x localhost:80".to_string(), "Invalid address 'localhost:80': expected IPv4:PORT or [IPv6]:PORT (no host names).\n"),
        (format!("add server be/x {a} weight 300"), "'weight' expects an integer between 0 and 256.\n"),
        (format!("add server be/x {a} maxconn 3"), "'maxconn' is not supported by 'add server' (weight <n>, check, backup).\n"),
        (format!("add server be/x {a} check"), "Backend 'be' has no health check settings: a server added with 'check' needs the backend's `check` table in the configuration.\n"),
        (format!("add server be/b@d {a}"), "Invalid server name 'b@d': use letters, digits, '-', '_', '.' and ':'.\n"),
        ("del server be/nope".to_string(), "No such server.\n"),
        ("set server be/s1 addr nowhere".to_string(), "Invalid address 'nowhere': expected an IPv4 or IPv6 address.\n"),
        ("set server be/s1 addr 127.0.0.1 port 0".to_string(), "Invalid port '0': expected 1 to 65535.\n"),
    ];
    for (line, want) in &cases {
        assert_eq!(cmd(&sock, line), format!("{want}\n"), "{line}");
    }
    // As HAProxy 2.4 scripts send it.
    assert_eq!(
        cmd(
            &sock,
            &format!("experimental-mode on; add server be/s2 {a} backup")
        ),
        "\nNew server registered.\n\n"
    );
    assert_eq!(stat_text(&sock, "be", "s2", "bck").as_deref(), Some("1"));
    assert_eq!(
        cmd(&sock, &format!("add server be/s3 {a}")),
        "No free server slot in backend 'be' (server_slots = 2): raise server_slots in the \
         configuration and reload.\n\n"
    );
    assert_eq!(stat_servers(&sock), ["s1", "s2"]);
}

#[test]
fn added_checked_server_goes_down_when_its_origin_is_gone() {
    let o1 = named_origin("s1");
    let (weir, _port, sock, _dir) = start(
        &server("s1", &o1),
        "check = { type = \"tcp\", interval = \"100ms\", timeout = \"500ms\", rise = 1, fall = 2 }",
    );
    let o2 = named_origin("s2");
    let port2 = o2.port();
    assert_eq!(
        cmd(&sock, &format!("add server be/s2 {} check", o2.addr)),
        "New server registered.\n\n"
    );
    assert_eq!(cmd(&sock, "enable server be/s2"), "\n");
    wait_until(DEADLINE, "s2 checked and UP", || {
        stat_text(&sock, "be", "s2", "check_status").as_deref() == Some("L4OK")
            && stat_text(&sock, "be", "s2", "status").as_deref() == Some("UP")
    });
    drop(o2);
    wait_until(DEADLINE, "s2 DOWN", || {
        stat_text(&sock, "be", "s2", "status").as_deref() == Some("DOWN")
    });
    assert_eq!(
        stat_text(&sock, "be", "s2", "check_status").as_deref(),
        Some("L4CON")
    );
    weir.wait_log("Server be/s2 is DOWN", DEADLINE);
    // Moved to a live origin, the check follows the new address.
    let o3 = named_origin("s3");
    let answer = cmd(
        &sock,
        &format!("set server be/s2 addr 127.0.0.1 port {}", o3.port()),
    );
    assert_eq!(
        answer,
        format!(
            "no need to change the addr, port changed from '{port2}' to '{}' by 'stats socket command'\n\n",
            o3.port()
        )
    );
    wait_until(DEADLINE, "s2 UP again at its new address", || {
        stat_text(&sock, "be", "s2", "status").as_deref() == Some("UP")
    });
    // Deleted: no more checks of it (its origin sees no new connection).
    assert_eq!(cmd(&sock, "disable server be/s2"), "\n");
    assert_eq!(cmd(&sock, "del server be/s2"), "Server deleted.\n\n");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = o3.accepted();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        o3.accepted(),
        after,
        "a deleted server is no longer checked"
    );
}

#[test]
fn set_server_addr_moves_traffic() {
    let (o1, o2) = (named_origin("old"), named_origin("new"));
    let (weir, port, sock, _dir) = start(&server("s1", &o1), "");
    let (counts, _) = tally(&weir, port, 10);
    assert_eq!(counts.get("old"), Some(&10), "{counts:?}");
    let answer = cmd(
        &sock,
        &format!("set server be/s1 addr 127.0.0.1 port {}", o2.port()),
    );
    assert_eq!(
        answer,
        format!(
            "no need to change the addr, port changed from '{}' to '{}' by 'stats socket command'\n\n",
            o1.port(),
            o2.port()
        )
    );
    let before = o1.accepted();
    let (counts, pids) = tally(&weir, port, 20);
    assert_eq!(counts.get("new"), Some(&20), "{counts:?}");
    both_workers(&weir, &pids);
    assert_eq!(o1.accepted(), before, "nothing to the old address");
    assert_eq!(
        state_servers(&sock)[0],
        ("s1".into(), "127.0.0.1".into(), o2.port().to_string())
    );
    assert_eq!(
        stat_text(&sock, "be", "s1", "addr"),
        Some(format!("127.0.0.1:{}", o2.port()))
    );
}

#[test]
fn reload_drops_runtime_added_servers() {
    let (o1, o2) = (named_origin("s1"), named_origin("s2"));
    let (weir, port, sock, _dir) = start(&server("s1", &o1), "");
    assert_eq!(
        cmd(&sock, &format!("add server be/s2 {}", o2.addr)),
        "New server registered.\n\n"
    );
    assert_eq!(cmd(&sock, "enable server be/s2"), "\n");
    assert_eq!(stat_servers(&sock), ["s1", "s2"]);
    let old_workers = weir.worker_pids();
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    // The tally pauses every worker in turn: only the new generation's
    // (an old one, its listeners closed, would never say "paused").
    for p in old_workers {
        weir.wait_gone(p, DEADLINE);
    }
    wait_until(DEADLINE, "the new control process", || {
        stat_servers_opt(&sock).is_some_and(|s| s == ["s1"])
    });
    assert_eq!(state_servers(&sock).len(), 1);
    let before = o2.accepted();
    let (counts, pids) = tally(&weir, port, 20);
    assert_eq!(counts.get("s1"), Some(&20), "{counts:?}");
    both_workers(&weir, &pids);
    assert_eq!(o2.accepted(), before);
    // Its slot is free in the new generation.
    assert_eq!(
        cmd(&sock, &format!("add server be/s2 {}", o2.addr)),
        "New server registered.\n\n"
    );
}

/// HTTP: a client connection kept alive across `set server addr` sends
/// its next request to the new address (the server connection it kept to
/// the old one is not reused), and the stats page lists an added server
/// and drops it once deleted.
#[test]
fn http_keepalive_follows_the_new_address_and_the_stats_page_lists_added_servers() {
    let (a, b, c) = (
        HttpOrigin::start("a"),
        HttpOrigin::start("b"),
        HttpOrigin::start("c"),
    );
    let (port, stats_port) = (free_port(), free_port());
    let dir = TempDir::new("http");
    let sock = dir.path.join("admin.sock");
    let stats = format!(
        "[listen.stats]\nbind = \"127.0.0.1:{stats_port}\"\nstats = {{ uri = \"/stats\" }}\n"
    );
    let config = http_config(port, "", "", &(backend("be", "", &[a.addr]) + &stats)).replace(
        "nbproc = 1",
        &format!("nbproc = 2\nstats_socket = \"{}\"", sock.display()),
    );
    let weir = Weir::start(&config);
    wait_until(DEADLINE, "the runtime API", || {
        UnixStream::connect(&sock).is_ok()
    });
    let mut client = Client::connect(port);
    assert_eq!(client.get("/").header("x-origin"), Some("a"));
    assert_eq!(client.get("/").header("x-origin"), Some("a"));
    let answer = cmd(
        &sock,
        &format!("set server be/s1 addr 127.0.0.1 port {}", b.addr.port()),
    );
    assert!(answer.contains("port changed from"), "{answer}");
    let r = client.get("/");
    assert_eq!(
        r.header("x-origin"),
        Some("b"),
        "the same client connection"
    );
    assert_eq!(client.get("/").header("x-origin"), Some("b"));

    assert_eq!(
        cmd(&sock, &format!("add server be/s2 {}", c.addr)),
        "New server registered.\n\n"
    );
    let csv = curl(stats_port, "/stats;csv", &[]);
    let csv = String::from_utf8_lossy(&csv.body).into_owned();
    assert!(csv.contains("\nbe,s2,"), "{csv}");
    let page = curl(stats_port, "/stats", &[]);
    assert!(String::from_utf8_lossy(&page.body).contains("s2"));
    assert_eq!(cmd(&sock, "del server be/s2"), "Server deleted.\n\n");
    let csv = curl(stats_port, "/stats;csv", &[]);
    let csv = String::from_utf8_lossy(&csv.body).into_owned();
    assert!(
        !csv.contains("\nbe,s2,") && csv.contains("\nbe,s1,"),
        "{csv}"
    );
    drop(weir);
}

fn stat_servers_opt(sock: &Path) -> Option<Vec<String>> {
    command(sock, "show stat")?;
    Some(stat_servers(sock))
}

#[test]
fn check_refuses_fewer_slots_than_servers() {
    let dir = TempDir::new("slots");
    let path = dir.path.join("weir.toml");
    let text = "[frontend.fe]\nbind = \"127.0.0.1:1\"\ndefault_backend = \"be\"\n\n\
                [backend.be]\nserver_slots = 1\n\
                server = [{ name = \"a\", address = \"127.0.0.1:2\" }, \
                { name = \"b\", address = \"127.0.0.1:3\" }]\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
    let out = Command::new(common::weir::bin())
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("weir -c: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let want = format!(
        "{}:6:1: error: `server_slots` = 1 is less than the 2 servers backend \"be\" configures",
        path.display()
    );
    assert!(stderr.contains(&want), "{stderr}");
    std::fs::write(&path, text.replace("server_slots = 1", "server_slots = 2"))
        .unwrap_or_else(|e| panic!("write: {e}"));
    let out = Command::new(common::weir::bin())
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("weir -c: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
