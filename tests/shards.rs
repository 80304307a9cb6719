//! `shards = "by-worker"`: one SO_REUSEPORT listening socket per worker.
//! Each worker holds its own shard only (the master holds them all); the
//! kernel spreads connections over the shards; a killed worker's shard
//! keeps queueing connections for its replacement; reloads (also from a
//! shared socket to shards) and SIGTTOU/SIGTTIN lose nothing; an `fd@N`
//! bind or a bad value is refused with its position.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::thread;
use std::time::Duration;

use common::client;
use common::load::Load;
use common::origin::echo_origin;
use common::procfs::{self, TCP_LISTEN};
use common::{free_port, one_server, tcp_config, wait_until, Weir, DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn sharded_config(port: u16, origin: std::net::SocketAddr, shards: &str) -> String {
    tcp_config(port, "nbproc = 2", "", &one_server(origin)).replace(
        "default_backend = \"be\"",
        &format!("default_backend = \"be\"\nshards = {shards}"),
    )
}

/// The inodes of the sockets listening on 127.0.0.1:`port`.
fn listening_inodes(port: u16) -> BTreeSet<u64> {
    procfs::tcp_rows()
        .into_iter()
        .filter(|r| r.state == TCP_LISTEN && r.local.port() == port)
        .map(|r| r.inode)
        .collect()
}

/// The listening sockets on `port` that `pid` holds.
fn held(pid: i32, port: u16) -> BTreeSet<u64> {
    let mine: BTreeSet<u64> = procfs::socket_inodes(pid).into_iter().collect();
    listening_inodes(port)
        .intersection(&mine)
        .copied()
        .collect()
}

/// One echo request on a new connection; `Err` says what went wrong.
fn echo(port: u16, msg: &str) -> Result<(), String> {
    match client::request(port, msg.as_bytes()) {
        Ok(back) if back == msg.as_bytes() => Ok(()),
        Ok(back) => Err(format!("{msg}: got {} bytes back", back.len())),
        Err(e) => Err(format!("{msg}: {e}")),
    }
}

/// Sessions logged per worker pid.
fn per_worker(weir: &Weir, n: usize) -> BTreeMap<i32, usize> {
    let mut out = BTreeMap::new();
    for (pid, _) in weir.wait_tcplogs(n, DEADLINE) {
        *out.entry(pid).or_insert(0) += 1;
    }
    out
}

#[test]
fn each_worker_accepts_on_its_own_shard_and_the_kernel_spreads_connections() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&sharded_config(port, origin.addr, "\"by-worker\""));
    let workers = weir.wait_workers(2, DEADLINE);
    // Two sockets in the group; the master holds both, each worker one.
    let all = listening_inodes(port);
    assert_eq!(all.len(), 2, "two shards listen on {port}: {all:?}");
    assert_eq!(held(weir.pid(), port), all, "the master holds every shard");
    let a = held(workers[0], port);
    let b = held(workers[1], port);
    assert_eq!(
        (a.len(), b.len()),
        (1, 1),
        "one shard per worker: {a:?} {b:?}"
    );
    assert_ne!(a, b, "the workers hold different shards");

    // 400 short connections, each from its own source port, 4 at a time.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                (0..100)
                    .map(|i| echo(port, &format!("{t}/{i}")))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for r in t.join().unwrap() {
            r.unwrap();
        }
    }
    let counts = per_worker(&weir, 400);
    assert_eq!(
        counts.keys().copied().collect::<BTreeSet<_>>(),
        workers.iter().copied().collect()
    );
    // SO_REUSEPORT picks the shard by a hash of the 4-tuple: each worker's
    // count is Binomial(400, 1/2). P(outside [140, 260]) = 2 P(X <= 139)
    // = 1.1e-9 (exact sum): this bound does not flake.
    for (pid, n) in &counts {
        assert!(
            (140..=260).contains(n),
            "worker {pid} got {n} of 400 connections (35 %-65 % expected): {counts:?}"
        );
    }
}

#[test]
fn a_killed_workers_shard_queues_connections_for_its_replacement() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&sharded_config(port, origin.addr, "\"by-worker\""));
    let workers = weir.wait_workers(2, DEADLINE);
    let victim = workers[0];
    let shard = held(victim, port);
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    // Connections made while it is dead or being replaced: about half hash
    // to its shard, which the master keeps open; all are answered.
    let threads: Vec<_> = (0..40)
        .map(|i| thread::spawn(move || echo(port, &format!("meanwhile {i}"))))
        .collect();
    let errors: Vec<String> = threads
        .into_iter()
        .filter_map(|t| t.join().unwrap().err())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{}", weir.context());
    weir.wait_log(
        &format!("(pid {victim}) killed by signal SIGKILL"),
        DEADLINE,
    );
    let now = weir.wait_workers(2, DEADLINE);
    let fresh = *now
        .iter()
        .find(|p| !workers.contains(p))
        .expect("a replacement");
    wait_until(
        DEADLINE,
        "the replacement to hold the dead worker's shard",
        || held(fresh, port) == shard,
    );
    assert_eq!(listening_inodes(port).len(), 2);
    // The replacement answered the connections that hashed to its shard
    // (P(none of 40 did) = 2^-40).
    let counts = per_worker(&weir, 40);
    assert!(counts.get(&fresh).copied().unwrap_or(0) > 0, "{counts:?}");
}

#[test]
fn a_pidfile_reload_takes_over_every_shard() {
    let origin = echo_origin();
    let port = free_port();
    let cfg = sharded_config(port, origin.addr, "\"by-worker\"");
    let old = Weir::start_with(&cfg, &["-p", "{dir}/weir.pid"]);
    let shards = listening_inodes(port);
    let load = echo_load(port, 4);
    let old_pid = old.pid().to_string();
    let new = Weir::start_with(&cfg, &["-sf", &old_pid]);
    new.wait_log("took 2 listening sockets over", DEADLINE);
    assert_eq!(
        held(new.pid(), port),
        shards,
        "the new master holds both shards"
    );
    old.wait_exit(Duration::from_secs(15));
    load.wait_more(100, "traffic after the takeover");
    assert_eq!(listening_inodes(port), shards);
    let workers = new.wait_workers(2, DEADLINE);
    let mine: Vec<BTreeSet<u64>> = workers.iter().map(|&w| held(w, port)).collect();
    assert!(
        mine.iter().all(|s| s.len() == 1) && mine[0] != mine[1],
        "{mine:?}"
    );
    load.finish();
}

/// New-connection echo clients in the background (about 50 requests a
/// second each); every failure recorded.
fn echo_load(port: u16, clients: usize) -> Load {
    Load::start(clients, move |c, tally| {
        let mut i = 0;
        while tally.running() {
            match echo(port, &format!("client {c} request {i}")) {
                Ok(()) => tally.ok(),
                Err(e) => tally.fail(e),
            }
            i += 1;
            // Bounded: the test origin keeps every connection's
            // descriptor until it is dropped.
            thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn reloads_keep_the_shards_and_turning_sharding_on_loses_nothing() {
    let origin = echo_origin();
    let port = free_port();
    let shared = sharded_config(port, origin.addr, "1");
    let weir = Weir::start(&shared);
    let first = listening_inodes(port);
    assert_eq!(first.len(), 1);
    let load = echo_load(port, 4);

    // Shared → by-worker: the shared socket serves as shard 1, shard 2 is
    // bound and joins the group.
    std::fs::write(
        &weir.config_path,
        sharded_config(port, origin.addr, "\"by-worker\""),
    )
    .unwrap();
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    load.wait_more(100, "traffic after turning sharding on");
    let sharded = listening_inodes(port);
    assert_eq!(sharded.len(), 2, "{sharded:?}");
    assert!(
        first.is_subset(&sharded),
        "the shared socket is kept: {first:?} {sharded:?}"
    );

    // Same configuration again, several times: the very same shards.
    for n in 2..=4 {
        weir.signal(Signal::SIGUSR2);
        weir.wait_log(&format!("reload done (generation {n})"), DEADLINE);
        load.wait_more(50, "traffic after a reload");
    }
    wait_until(DEADLINE, "old workers to finish", || {
        weir.worker_pids().len() == 2
    });
    assert_eq!(listening_inodes(port), sharded);
    let workers = weir.worker_pids();
    let mine: Vec<BTreeSet<u64>> = workers.iter().map(|&w| held(w, port)).collect();
    assert!(
        mine.iter().all(|s| s.len() == 1) && mine[0] != mine[1],
        "{mine:?}"
    );
    load.finish();

    // Back to one shared socket (no load: Linux resets what is queued on
    // the shard that closes, see docs/architecture.md): shard 1 serves as
    // the shared socket again, shard 2 closes with the old worker.
    std::fs::write(&weir.config_path, &shared).unwrap();
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 5)", DEADLINE);
    wait_until(DEADLINE, "the extra shard to close", || {
        listening_inodes(port) == first
    });
    for i in 0..10 {
        echo(port, &format!("shared again {i}")).unwrap();
    }
}

#[test]
fn pause_and_resume_every_shard() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&sharded_config(port, origin.addr, "\"by-worker\""));
    echo(port, "before").unwrap();
    weir.signal(Signal::SIGTTOU);
    wait_until(DEADLINE, "no shard listening after SIGTTOU", || {
        !procfs::is_listening(port)
    });
    weir.wait_log("Proxy fe paused", DEADLINE);
    assert!(
        client::connect(port).is_err(),
        "nothing accepts while paused"
    );
    weir.signal(Signal::SIGTTIN);
    wait_until(DEADLINE, "both shards listening after SIGTTIN", || {
        listening_inodes(port).len() == 2
    });
    weir.wait_log("Proxy fe resumed", DEADLINE);
    for i in 0..40 {
        echo(port, &format!("after resume {i}")).unwrap();
    }
    // Both workers accept again (40 connections: P(one worker gets none)
    // = 2^-39).
    let counts = per_worker(&weir, 41);
    assert_eq!(counts.len(), 2, "{counts:?}");
}

#[test]
fn config_errors_name_their_position() {
    let dir = common::weir::TempDir::new("shards-config");
    let check = |name: &str, text: &str| -> String {
        let path = dir.path.join(name);
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(common::weir::bin())
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name} must be refused");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let base = sharded_config(8080, "127.0.0.1:9".parse().unwrap(), "\"by-worker\"");
    let bad = base.replace("shards = \"by-worker\"", "shards = \"by-wroker\"");
    let err = check("bad.toml", &bad);
    assert!(
        err.contains("bad.toml:") && err.contains("unknown shards \"by-wroker\""),
        "{err}"
    );
    assert!(err.contains("did you mean `by-worker`?"), "{err}");
    let err = check(
        "two.toml",
        &base.replace("shards = \"by-worker\"", "shards = 2"),
    );
    assert!(
        err.contains("two.toml:") && err.contains("shards = 2"),
        "{err}"
    );
    let fd = base.replace("bind = [\"127.0.0.1:8080\"]", "bind = [\"fd@3\"]");
    let err = check("fd.toml", &fd);
    assert!(err.contains("fd.toml:") && err.contains("fd@N"), "{err}");
    let in_defaults = base
        .replace("shards = \"by-worker\"", "")
        .replace("bind = [\"127.0.0.1:8080\"]", "bind = [\"fd@3\"]")
        .replace("mode = \"tcp\"", "mode = \"tcp\"\nshards = \"by-worker\"");
    let err = check("defaults.toml", &in_defaults);
    assert!(err.contains("(set in [defaults])"), "{err}");
}
