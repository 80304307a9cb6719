//! Servers discovered through DNS (SPEC §12), against a real weir with two
//! workers, real origins and Debian's dnsmasq as the registry: a named
//! server follows its address on every worker, keeps it while the registry
//! is silent and goes to maintenance once the name is gone; a template
//! fills its slots from SRV answers (port, weight, priority) and empties a
//! slot whose record is gone; `init_addr = "none"` starts without the
//! registry; a backend grows from 2 to 4 servers and back under traffic
//! without a failed connection; a truncated answer is asked again over
//! TCP; a reload with the
//! registry down keeps what was resolved; a name is asked once per interval
//! however many servers and workers use it (dnsmasq's query log);
//! `show resolvers` counts it all. Delays are short (hold 1 s) and every
//! wait has a deadline.
//!
//! Needs `dnsmasq` (the Makefile's TEST_TOOLS): without it the tests say so
//! and pass.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::origin::{named_origin, named_origin_at, Origin};
use common::runtime::{command, stat_text, tally};
use common::weir::TempDir;
use common::{free_port, tcp_config, wait_until, Weir, DEADLINE};

/// A dnsmasq answering on 127.0.0.1:`port` from a hosts file and SRV
/// records; killed by pid on drop.
struct Dnsmasq {
    child: Child,
    hosts: PathBuf,
    queries: PathBuf,
}

impl Dnsmasq {
    /// `None` when dnsmasq is not installed.
    fn start(dir: &Path, port: u16, hosts: &str, srv: &[String]) -> Option<Dnsmasq> {
        let path = dir.join("hosts");
        std::fs::write(&path, hosts).expect("write hosts");
        let mut cmd = Command::new("dnsmasq");
        cmd.arg("--no-daemon")
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg("--no-resolv")
            .arg("--no-hosts")
            .arg(format!("--addn-hosts={}", path.display()))
            // Names under .test that no record gives are NXDOMAIN.
            .arg("--local=/test/")
            .arg("--pid-file=")
            .arg("--log-queries")
            .arg(format!(
                "--log-facility={}",
                dir.join("queries.log").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for s in srv {
            cmd.arg(format!("--srv-host={s}"));
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => panic!("dnsmasq: {e}"),
        };
        let queries = dir.join("queries.log");
        let d = Dnsmasq {
            child,
            hosts: path,
            queries,
        };
        wait_until(DEADLINE, "dnsmasq listening", || {
            common::procfs::is_listening(port)
        });
        Some(d)
    }

    /// New hosts, read again on SIGHUP.
    fn set_hosts(&self, hosts: &str) {
        std::fs::write(&self.hosts, hosts).expect("write hosts");
        let pid = Pid::from_raw(self.child.id() as i32);
        kill(pid, Signal::SIGHUP).expect("SIGHUP dnsmasq");
    }

    /// How many `TYPE` queries for `name` dnsmasq has logged.
    fn queries(&self, qtype: &str, name: &str) -> usize {
        let log = std::fs::read_to_string(&self.queries).unwrap_or_default();
        let what = format!("query[{qtype}] {name} from");
        log.lines().filter(|l| l.contains(&what)).count()
    }

    fn stop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Says why a test does nothing.
fn no_dnsmasq() {
    eprintln!("dnsmasq is not installed (apt-get install dnsmasq): skipped");
}

/// `[resolvers.dc]` asking 127.0.0.1:`port`, with short delays.
fn resolvers(port: u16) -> String {
    format!(
        "[resolvers.dc]\n\
         nameservers = [\"127.0.0.1:{port}\"]\n\
         timeout = {{ resolve = \"300ms\", retry = \"300ms\" }}\n\
         retries = 2\n\
         hold = {{ valid = \"1s\", nx = \"1s\", timeout = \"1s\", other = \"1s\" }}\n"
    )
}

/// One counter of `show resolvers` (its only nameserver).
fn counter(sock: &Path, name: &str) -> u64 {
    let text = command(sock, "show resolvers").unwrap_or_default();
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn status(sock: &Path, srv: &str) -> String {
    stat_text(sock, "be", srv, "status").unwrap_or_default()
}

/// weir started on `config` with the runtime API in its directory: waits
/// until both workers run and the API answers.
fn weir_with(config: &str, port: u16) -> (Weir, PathBuf, TempDir) {
    let dir = TempDir::new("dns");
    let sock = dir.path.join("admin.sock");
    let config = config.replace("{sock}", sock.to_str().unwrap_or("/tmp/admin.sock"));
    let weir = Weir::spawn(&config, &[]);
    weir.wait_log("worker 2 started", DEADLINE);
    wait_until(DEADLINE, "the runtime API and the frontend", || {
        std::os::unix::net::UnixStream::connect(&sock).is_ok() && common::procfs::is_listening(port)
    });
    (weir, sock, dir)
}

fn config(port: u16, dns_port: u16, backend: &str) -> String {
    let c = tcp_config(port, "nbproc = 2\nstats_socket = \"{sock}\"", "", backend);
    format!("{c}\n{}", resolvers(dns_port))
}

fn only(name: &str, n: usize) -> BTreeMap<String, usize> {
    BTreeMap::from([(name.to_string(), n)])
}

#[test]
fn a_named_server_follows_its_address_on_both_workers_and_outlives_a_silent_registry() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let Some(mut dns) = Dnsmasq::start(&dir.path, dns_port, "127.0.0.2 api.test\n", &[]) else {
        return no_dnsmasq();
    };
    let sport = free_port();
    let _old = named_origin_at(&format!("127.0.0.2:{sport}"), "old");
    let _new = named_origin_at(&format!("127.0.0.3:{sport}"), "new");
    let port = free_port();
    let backend = format!(
        "server = [{{ name = \"api\", address = \"api.test:{sport}\", resolvers = \"dc\", \
         init_addr = \"none\" }}]"
    );
    let (weir, sock, _api) = weir_with(&config(port, dns_port, &backend), port);

    weir.wait_log("be/api changed its IP from none to 127.0.0.2", DEADLINE);
    let (counts, pids) = tally(&weir, port, 4);
    assert_eq!(counts, only("old", 4), "{}", weir.context());
    assert_eq!(pids.len(), 2, "both workers served");

    dns.set_hosts("127.0.0.3 api.test\n");
    weir.wait_log(
        "be/api changed its IP from 127.0.0.2 to 127.0.0.3",
        DEADLINE,
    );
    let (counts, pids) = tally(&weir, port, 4);
    assert_eq!(
        counts,
        only("new", 4),
        "every worker moved: {}",
        weir.context()
    );
    assert_eq!(pids.len(), 2);
    assert!(counter(&sock, "sent") >= 2 && counter(&sock, "valid") >= 2);
    assert!(
        counter(&sock, "update") >= 2,
        "{:?}",
        command(&sock, "show resolvers")
    );
    let state = command(&sock, "show servers state").unwrap_or_default();
    assert!(
        state
            .lines()
            .any(|l| l.contains(" api 127.0.0.3 ") && l.contains(" api.test ")),
        "srv_fqdn names the host: {state}"
    );

    // An operator's maintenance is not DNS's to lift: the address still
    // follows, the server stays in maintenance until enabled.
    assert_eq!(
        command(&sock, "disable server be/api").as_deref(),
        Some("\n")
    );
    dns.set_hosts("127.0.0.2 api.test\n");
    weir.wait_log(
        "be/api changed its IP from 127.0.0.3 to 127.0.0.2",
        DEADLINE,
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&sock, "api"), "MAINT");
    command(&sock, "enable server be/api");
    dns.set_hosts("127.0.0.3 api.test\n");
    wait_until(DEADLINE, "back at 127.0.0.3", || {
        let moved = "be/api changed its IP from 127.0.0.2 to 127.0.0.3";
        weir.logs()
            .iter()
            .filter(|l| l.message.contains(moved))
            .count()
            == 2
    });

    // The registry goes silent: the address stays, traffic flows.
    dns.stop();
    weir.wait_log("no usable answer for api.test (timeout)", DEADLINE);
    weir.wait_log("still no answer for api.test after hold.timeout", DEADLINE);
    assert!(counter(&sock, "timeout") >= 1);
    let (counts, _) = tally(&weir, port, 2);
    assert_eq!(
        counts,
        only("new", 2),
        "last address kept: {}",
        weir.context()
    );
    assert_eq!(status(&sock, "api"), "no check");

    // It comes back without the name: maintenance after hold.nx.
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, "127.0.0.9 other.test\n", &[]) else {
        return no_dnsmasq();
    };
    weir.wait_log("api.test has no record (NX): its servers keep", DEADLINE);
    weir.wait_log(
        "Server be/api is going DOWN for maintenance (DNS NX status)",
        DEADLINE,
    );
    assert_eq!(status(&sock, "api"), "MAINT (resolution)");
    assert!(counter(&sock, "nx") >= 1);
}

/// `show servers state` rows of the template's slots: (name, address,
/// weight) by name.
fn slots(sock: &Path) -> BTreeMap<String, (String, u64)> {
    let text = command(sock, "show servers state").unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let addr = format!("{}:{}", f.get(4)?, f.get(18)?);
            Some((f.get(3)?.to_string(), (addr, f.get(7)?.parse().ok()?)))
        })
        .collect()
}

#[test]
fn a_template_fills_its_slots_from_srv_and_empties_a_slot_whose_record_is_gone() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let origins: Vec<Origin> = ["a", "b", "c"].iter().map(|n| named_origin(n)).collect();
    let hosts = "127.0.0.1 a.web.test b.web.test c.web.test\n";
    let srv = |o: &Origin, t: &str, prio: u16, weight: u16| {
        format!(
            "_app._tcp.web.test,{t}.web.test,{},{prio},{weight}",
            o.port()
        )
    };
    let records = vec![
        srv(&origins[0], "a", 10, 1),
        srv(&origins[1], "b", 10, 3),
        srv(&origins[2], "c", 10, 1),
    ];
    let Some(mut dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &records) else {
        return no_dnsmasq();
    };
    let port = free_port();
    let backend = "server_template = { prefix = \"web\", count = 4, \
                   name = \"_app._tcp.web.test\", resolvers = \"dc\" }";
    let (weir, sock, _api) = weir_with(&config(port, dns_port, backend), port);

    wait_until(DEADLINE, "three slots filled", || {
        ["web1", "web2", "web3"]
            .iter()
            .all(|s| status(&sock, s) == "no check")
    });
    assert_eq!(
        status(&sock, "web4"),
        "MAINT (resolution)",
        "no record for the 4th slot"
    );
    let by_addr: BTreeMap<String, u64> = slots(&sock).into_values().collect();
    assert_eq!(
        by_addr.get(&origins[1].addr.to_string()),
        Some(&3),
        "SRV weight"
    );
    assert_eq!(by_addr.get(&origins[0].addr.to_string()), Some(&1));
    let (counts, _) = tally(&weir, port, 12);
    for n in ["a", "b", "c"] {
        assert!(
            counts.get(n).is_some_and(|&k| k > 0),
            "{n} gets traffic: {counts:?}"
        );
    }
    let state = command(&sock, "show servers state").unwrap_or_default();
    assert!(state.contains(" _app._tcp.web.test "), "srvrecord: {state}");

    // a is gone, c drops to a lower priority: a's slot goes to
    // maintenance after hold.nx, c's becomes a backup.
    dns.stop();
    let records = vec![srv(&origins[1], "b", 10, 3), srv(&origins[2], "c", 20, 1)];
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &records) else {
        return no_dnsmasq();
    };
    weir.wait_log(
        &format!("no longer lists {}", origins[0].addr),
        Duration::from_secs(15),
    );
    weir.wait_log("now has weight 1 (backup) from DNS", DEADLINE);
    let maint: Vec<String> = slots(&sock)
        .keys()
        .filter(|s| status(&sock, s) == "MAINT (resolution)")
        .cloned()
        .collect();
    assert_eq!(maint.len(), 2, "a's slot and the 4th: {maint:?}");
    let (counts, _) = tally(&weir, port, 4);
    assert_eq!(counts, only("b", 4), "backup c unused while b is up");
    assert!(counter(&sock, "valid") >= 2);

    // A reload while the registry is down keeps what was resolved
    // (init_addr "last", a template's default): the new generation's
    // slots hold the same addresses, and traffic flows.
    let before = slots(&sock);
    let old_control = weir.control_pid();
    let old_workers = weir.worker_pids();
    drop(_dns);
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    let control = common::wait_for(DEADLINE, "a new control process", || {
        weir.control_pid().filter(|&p| Some(p) != old_control)
    });
    weir.wait_log_where("the new control process timing out", DEADLINE, |l| {
        l.pid == control
            && l.message
                .contains("no usable answer for _app._tcp.web.test")
    });
    if let Some(p) = old_control {
        weir.wait_gone(p, DEADLINE);
    }
    // The tally pauses every worker in turn: only the new generation's.
    for p in old_workers {
        weir.wait_gone(p, DEADLINE);
    }
    assert_eq!(slots(&sock), before, "same slots after the reload");
    let (counts, pids) = tally(&weir, port, 4);
    assert_eq!(counts, only("b", 4), "{}", weir.context());
    assert_eq!(pids.len(), 2);
}

#[test]
fn init_addr_none_starts_without_the_registry_and_a_truncated_answer_goes_over_tcp() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let sport = free_port();
    let _big = named_origin_at(&format!("127.0.1.1:{sport}"), "big");
    let port = free_port();
    let backend = format!(
        "server = [{{ name = \"big\", address = \"big.test:{sport}\", resolvers = \"dc\", \
         init_addr = \"last,none\" }}]"
    );
    // Nothing answers at dns_port yet.
    let (weir, sock, _api) = weir_with(&config(port, dns_port, &backend), port);
    assert_eq!(status(&sock, "big"), "MAINT (resolution)");
    let state = command(&sock, "show servers state").unwrap_or_default();
    assert!(
        state.lines().any(|l| l.contains(" big 0.0.0.0 0 32 ")),
        "srv_admin_state 32 (RMAINT): {state}"
    );
    weir.wait_log("no usable answer for big.test (timeout)", DEADLINE);
    assert!(common::client::read_all(port).map_or(true, |s| s.is_empty()));

    // Sixty addresses: more than a 512-byte UDP answer holds.
    let hosts: String = (1..=60)
        .map(|i| format!("127.0.1.{i} big.test\n"))
        .collect();
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, &hosts, &[]) else {
        return no_dnsmasq();
    };
    weir.wait_log("be/big changed its IP from none to 127.0.1.1", DEADLINE);
    weir.wait_log("big.test answered again (after timeout)", DEADLINE);
    assert!(
        counter(&sock, "truncated") >= 1,
        "{:?}",
        command(&sock, "show resolvers")
    );
    let (counts, pids) = tally(&weir, port, 4);
    assert_eq!(counts, only("big", 4));
    assert_eq!(pids.len(), 2);
}

#[test]
fn weir_c_points_at_an_unknown_resolvers_section() {
    let dir = TempDir::new("dnscheck");
    let path = dir.path.join("weir.toml");
    let text = format!(
        "{}\n{}",
        tcp_config(
            1,
            "",
            "",
            "server = [{ name = \"a\", address = \"api.test:80\", resolvers = \"dx\", init_addr = \"none\" }]"
        ),
        resolvers(53)
    );
    std::fs::write(&path, &text).expect("write");
    let out = Command::new(common::weir::bin())
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run weir -c");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .position(|l| l.contains("resolvers = \"dx\""))
        .map_or(0, |i| i + 1);
    let col = text
        .lines()
        .nth(line - 1)
        .and_then(|l| l.find("\"dx\""))
        .map_or(0, |c| c + 1);
    let want = format!(
        "{}:{line}:{col}: error: unknown resolvers \"dx\"",
        path.display()
    );
    assert!(err.starts_with(&want), "want {want:?} in {err}");
}

#[test]
fn a_name_is_asked_once_per_interval_for_the_whole_service() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let Some(dns) = Dnsmasq::start(&dir.path, dns_port, "127.0.0.2 api.test\n", &[]) else {
        return no_dnsmasq();
    };
    let sport = free_port();
    let _o = named_origin_at(&format!("127.0.0.2:{sport}"), "api");
    let port = free_port();
    // Two servers of the same name, two workers: still one job.
    let backend = format!(
        "server = [{{ name = \"a\", address = \"api.test:{sport}\", resolvers = \"dc\", \
         init_addr = \"none\" }}, {{ name = \"b\", address = \"api.test:{sport}\", \
         resolvers = \"dc\", init_addr = \"none\" }}]"
    );
    let (weir, _sock, _api) = weir_with(&config(port, dns_port, &backend), port);
    weir.wait_log("be/b changed its IP from none to 127.0.0.2", DEADLINE);
    let start = dns.queries("A", "api.test");
    std::thread::sleep(Duration::from_secs(3));
    let asked = dns.queries("A", "api.test") - start;
    // hold.valid = 1s (the TTL is 0): about 3 in 3 s, whatever the
    // number of servers and workers using the name.
    assert!((1..=4).contains(&asked), "{asked} A queries in 3 s");
    let (counts, pids) = tally(&weir, port, 4);
    assert_eq!(counts, only("api", 4));
    assert_eq!(pids.len(), 2);
}

#[test]
fn a_backend_grows_from_two_to_four_servers_and_back_under_traffic_without_a_failure() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let origins: Vec<Origin> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| named_origin(n))
        .collect();
    let hosts = "127.0.0.1 a.web.test b.web.test c.web.test d.web.test\n";
    let records = |n: usize| -> Vec<String> {
        origins[..n]
            .iter()
            .zip(["a", "b", "c", "d"])
            .map(|(o, t)| format!("_app._tcp.web.test,{t}.web.test,{},10,1", o.port()))
            .collect()
    };
    let Some(mut dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &records(2)) else {
        return no_dnsmasq();
    };
    let port = free_port();
    let backend = "server_template = { prefix = \"web\", count = 4, \
                   name = \"_app._tcp.web.test\", resolvers = \"dc\" }";
    let (weir, sock, _api) = weir_with(&config(port, dns_port, backend), port);
    let up = |sock: &Path| {
        ["web1", "web2", "web3", "web4"]
            .iter()
            .filter(|s| status(sock, s) == "no check")
            .count()
    };
    wait_until(DEADLINE, "two slots filled", || up(&sock) == 2);

    let load = common::load::Load::start(4, move |_, tally| {
        while tally.running() {
            // Paced (about 200 connections a second in all): every
            // connection leaves a TIME_WAIT behind on the origin's side.
            std::thread::sleep(Duration::from_millis(20));
            match common::client::read_all(port) {
                Ok(name) if ["a", "b", "c", "d"].contains(&name.as_str()) => tally.ok(),
                Ok(other) => tally.fail(format!("answer {other:?}")),
                Err(e) => tally.fail(e.to_string()),
            }
        }
    });
    dns.stop();
    let Some(mut dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &records(4)) else {
        return no_dnsmasq();
    };
    wait_until(DEADLINE, "four slots filled", || up(&sock) == 4);
    let before: Vec<usize> = origins.iter().map(Origin::accepted).collect();
    load.wait_more(200, "traffic over four servers");
    for (o, b) in origins.iter().zip(&before) {
        assert!(o.accepted() > *b, "{} gets traffic", o.addr);
    }
    dns.stop();
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &records(2)) else {
        return no_dnsmasq();
    };
    wait_until(DEADLINE, "back to two", || up(&sock) == 2);
    load.wait_more(200, "traffic over two servers");
    let before: Vec<usize> = origins.iter().map(Origin::accepted).collect();
    load.wait_more(100, "more traffic");
    assert_eq!(origins[2].accepted(), before[2], "c gets no more traffic");
    assert_eq!(origins[3].accepted(), before[3], "d gets no more traffic");
    load.finish();
    drop(weir);
}

#[test]
fn health_checks_follow_the_addresses_dns_gives() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let live = named_origin("live");
    let dead = common::origin::dead_port();
    let hosts = "127.0.0.1 live.web.test dead.web.test\n";
    let records = vec![
        format!("_app._tcp.web.test,live.web.test,{},10,1", live.port()),
        format!("_app._tcp.web.test,dead.web.test,{},10,1", dead.addr.port()),
    ];
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &records) else {
        return no_dnsmasq();
    };
    let port = free_port();
    let backend = "check = { type = \"tcp\", interval = \"200ms\", timeout = \"500ms\", rise = 1, fall = 1 }\n\
                   server_template = { prefix = \"web\", count = 2, \
                   name = \"_app._tcp.web.test\", resolvers = \"dc\", check = true }";
    let (weir, sock, _api) = weir_with(&config(port, dns_port, backend), port);
    let by_addr = |sock: &Path, addr: SocketAddr| {
        slots(sock)
            .into_iter()
            .find(|(_, (a, _))| *a == addr.to_string())
            .map(|(name, _)| status(sock, &name))
    };
    wait_until(DEADLINE, "the live target UP, the dead one DOWN", || {
        by_addr(&sock, live.addr).as_deref() == Some("UP")
            && by_addr(&sock, dead.addr).as_deref() == Some("DOWN")
    });
    let (counts, _) = tally(&weir, port, 4);
    assert_eq!(counts, only("live", 4));
}

#[test]
fn a_template_of_address_records_takes_its_port() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let sport = free_port();
    let _o2 = named_origin_at(&format!("127.0.0.2:{sport}"), "two");
    let _o3 = named_origin_at(&format!("127.0.0.3:{sport}"), "three");
    let hosts = "127.0.0.2 pool.test\n127.0.0.3 pool.test\n";
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, hosts, &[]) else {
        return no_dnsmasq();
    };
    let port = free_port();
    let backend = format!(
        "server_template = {{ prefix = \"p\", count = 3, name = \"pool.test\", \
         resolvers = \"dc\", port = {sport}, weight = 7 }}"
    );
    let (weir, sock, _api) = weir_with(&config(port, dns_port, &backend), port);
    wait_until(DEADLINE, "two slots filled", || {
        status(&sock, "p1") == "no check" && status(&sock, "p2") == "no check"
    });
    assert_eq!(status(&sock, "p3"), "MAINT (resolution)");
    let s = slots(&sock);
    assert_eq!(s["p1"], (format!("127.0.0.2:{sport}"), 7));
    assert_eq!(s["p2"], (format!("127.0.0.3:{sport}"), 7));
    let (counts, _) = tally(&weir, port, 8);
    assert!(
        counts.contains_key("two") && counts.contains_key("three"),
        "{counts:?}"
    );
}

#[test]
fn a_server_added_into_a_deleted_template_slot_is_left_alone() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let a = named_origin("a");
    let extra = named_origin("extra");
    let records = vec![format!("_app._tcp.web.test,a.web.test,{},10,1", a.port())];
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, "127.0.0.1 a.web.test\n", &records) else {
        return no_dnsmasq();
    };
    let port = free_port();
    let backend = "server_slots = 2\nserver_template = { prefix = \"web\", count = 2, \
                   name = \"_app._tcp.web.test\", resolvers = \"dc\" }";
    let (weir, sock, _api) = weir_with(&config(port, dns_port, backend), port);
    wait_until(DEADLINE, "web1 filled", || {
        status(&sock, "web1") == "no check"
    });
    assert_eq!(status(&sock, "web2"), "MAINT (resolution)");
    let del = command(&sock, "del server be/web2").unwrap_or_default();
    assert!(del.starts_with("Server deleted."), "{del}");
    let add = command(&sock, &format!("add server be/extra {}", extra.addr)).unwrap_or_default();
    assert!(add.starts_with("New server registered."), "{add}");
    command(&sock, "enable server be/extra");
    // Several answers later, DNS has neither moved it nor put it back in
    // maintenance.
    let sent = counter(&sock, "valid");
    wait_until(DEADLINE, "three more answers", || {
        counter(&sock, "valid") >= sent + 3
    });
    assert_eq!(status(&sock, "extra"), "no check");
    assert_eq!(slots(&sock)["extra"].0, extra.addr.to_string());
    let (counts, _) = tally(&weir, port, 8);
    assert!(
        counts.contains_key("a") && counts.contains_key("extra"),
        "{counts:?}"
    );
}

/// One counter of nameserver `ns` (`ns1`, `ns2`…) in `show resolvers`.
fn ns_counter(sock: &Path, ns: &str, name: &str) -> u64 {
    let text = command(sock, "show resolvers").unwrap_or_default();
    text.split(&format!(" nameserver {ns}:\n"))
        .nth(1)
        .and_then(|rest| {
            rest.lines()
                .take_while(|l| !l.starts_with(" nameserver"))
                .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_silent_nameserver_is_passed_over_for_the_next_one() {
    let dir = TempDir::new("dnsmasq");
    let dns_port = free_port();
    let Some(_dns) = Dnsmasq::start(&dir.path, dns_port, "127.0.0.2 api.test\n", &[]) else {
        return no_dnsmasq();
    };
    // A UDP port nobody reads: queries sent there are never answered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let silent_port = silent.local_addr().map_or(0, |a| a.port());
    let sport = free_port();
    let _o = named_origin_at(&format!("127.0.0.2:{sport}"), "api");
    let port = free_port();
    let backend = format!(
        "server = [{{ name = \"api\", address = \"api.test:{sport}\", resolvers = \"dc\", \
         init_addr = \"none\" }}]"
    );
    let config = config(port, dns_port, &backend).replace(
        &format!("nameservers = [\"127.0.0.1:{dns_port}\"]"),
        &format!("nameservers = [\"127.0.0.1:{silent_port}\", \"127.0.0.1:{dns_port}\"]"),
    );
    let (weir, sock, _api) = weir_with(&config, port);
    weir.wait_log("be/api changed its IP from none to 127.0.0.2", DEADLINE);
    wait_until(DEADLINE, "ns1 timing out, ns2 answering", || {
        ns_counter(&sock, "ns1", "timeout") >= 1 && ns_counter(&sock, "ns2", "valid") >= 2
    });
    assert_eq!(ns_counter(&sock, "ns1", "valid"), 0);
    assert!(ns_counter(&sock, "ns1", "sent") >= 1);
    let (counts, _) = tally(&weir, port, 2);
    assert_eq!(counts, only("api", 2));
    drop(silent);
}
