//! The process model: a master and `nbproc` pinned workers; a killed worker
//! is replaced without disturbing the others; workers die with the master.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::origin::echo_origin;
use common::procfs;
use common::{ci, client};
use common::{free_port, one_server, tcp_config, wait_for, wait_until, Weir, DEADLINE};

/// CPUs this test process may run on, from `Cpus_allowed_list` (e.g. "0-1,4").
fn allowed_cpus() -> BTreeSet<usize> {
    let list =
        procfs::status_field(std::process::id() as i32, "Cpus_allowed_list").unwrap_or_default();
    let mut cpus = BTreeSet::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()),
            None => {
                cpus.insert(part.parse().unwrap());
            }
        }
    }
    cpus
}

fn two_workers_config(port: u16, origin: std::net::SocketAddr) -> String {
    tcp_config(
        port,
        "nbproc = 2\ncpu_map = \"auto\"",
        "",
        &one_server(origin),
    )
}

#[test]
fn two_workers_pinned_and_both_serve() {
    let cpus = allowed_cpus();
    if !(cpus.contains(&0) && cpus.contains(&1)) {
        ci::skip(&format!(
            "needs CPUs 0 and 1, this process may use {cpus:?}"
        ));
        return;
    }
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&two_workers_config(port, origin.addr));
    let workers = weir.wait_workers(2, DEADLINE);
    assert!(!workers.contains(&weir.pid()));

    let pinned: BTreeMap<i32, String> = workers
        .iter()
        .map(|&w| (w, procfs::status_field(w, "Cpus_allowed_list").unwrap()))
        .collect();
    let set: BTreeSet<&str> = pinned.values().map(String::as_str).collect();
    assert_eq!(
        set,
        BTreeSet::from(["0", "1"]),
        "with cpu_map = \"auto\" worker 1 runs on CPU 0 and worker 2 on CPU 1: {pinned:?}"
    );
    // The start-up line of each worker names the CPU it is pinned to.
    for (&pid, cpu) in &pinned {
        let pattern = format!("(pid {pid}, cpu {cpu})");
        weir.wait_log_where(&pattern, DEADLINE, |l| {
            l.message.contains("started") && l.message.contains(&pattern)
        });
    }

    // 200 sessions from 10 clients in parallel.
    let threads: Vec<_> = (0..10)
        .map(|t| {
            thread::spawn(move || {
                for i in 0..20 {
                    let msg = format!("client {t} request {i}");
                    let back = client::request(port, msg.as_bytes())
                        .unwrap_or_else(|e| panic!("client {t} request {i}: {e}"));
                    assert_eq!(back, msg.as_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let logs = weir.wait_tcplogs(200, DEADLINE);
    let mut per_pid: BTreeMap<i32, usize> = BTreeMap::new();
    for (pid, _) in &logs {
        *per_pid.entry(*pid).or_insert(0) += 1;
    }
    for (pid, n) in &per_pid {
        assert!(
            workers.contains(pid),
            "{n} sessions logged by pid {pid}, not a worker {workers:?}"
        );
    }
    for w in &workers {
        assert!(
            per_pid.get(w).copied().unwrap_or(0) > 0,
            "worker {w} served none of 200 sessions: {per_pid:?}"
        );
    }
}

#[test]
fn killed_worker_is_replaced_and_other_sessions_survive() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&two_workers_config(port, origin.addr));
    let workers = weir.wait_workers(2, DEADLINE);

    // A long-lived session; find which worker holds it.
    let mut long = client::connect(port).unwrap();
    client::echo_roundtrip(&mut long, b"before").unwrap();
    let me = long.local_addr().unwrap();
    let owner = wait_for(DEADLINE, "the worker holding the session", || {
        procfs::owner_of_accepted(me, &workers)
    });
    let victim = *workers.iter().find(|&&w| w != owner).unwrap();
    let victim_cpu = procfs::status_field(victim, "Cpus_allowed_list");

    let killed_at = Instant::now();
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let replacement = wait_for(Duration::from_secs(5), "a replacement worker", || {
        let now = weir.worker_pids();
        (now.len() == 2 && !now.contains(&victim)).then_some(now)
    });
    let took = killed_at.elapsed();
    // The contract says within one second; allow scheduling slack on a busy
    // 2-CPU machine.
    assert!(
        took < Duration::from_millis(1500),
        "replaced after {took:?}"
    );
    assert!(
        replacement.contains(&owner),
        "the surviving worker was replaced too: {replacement:?}"
    );
    let new = *replacement.iter().find(|&&w| w != owner).unwrap();
    assert_eq!(
        procfs::status_field(new, "Cpus_allowed_list"),
        victim_cpu,
        "the replacement runs on the dead worker's CPU"
    );
    weir.wait_log(
        &format!("(pid {victim}) killed by signal SIGKILL"),
        DEADLINE,
    );

    // The session held by the other worker still works.
    client::echo_roundtrip(&mut long, b"after the kill")
        .expect("long-lived session after the kill");
    // New sessions work.
    for i in 0..10 {
        let msg = format!("new {i}");
        let back = client::request(port, msg.as_bytes())
            .unwrap_or_else(|e| panic!("new session {i}: {e}"));
        assert_eq!(back, msg.as_bytes());
    }
    client::echo_roundtrip(&mut long, b"still").unwrap();
}

#[test]
fn workers_die_with_the_master() {
    let origin = echo_origin();
    let port = free_port();
    let weir = Weir::start(&two_workers_config(port, origin.addr));
    let workers = weir.wait_workers(2, DEADLINE);

    weir.signal(Signal::SIGKILL);
    weir.wait_exit(DEADLINE);
    wait_until(
        Duration::from_secs(3),
        "workers to die after the master",
        || workers.iter().all(|&w| !procfs::alive(w)),
    );
    wait_until(
        Duration::from_secs(2),
        "the listening socket to close",
        || !procfs::is_listening(port),
    );
}
