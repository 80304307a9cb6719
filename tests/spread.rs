//! With `nbproc = 2` on one shared listening socket, connections spread
//! over both workers (issue 13 item 4): a burst of 50 keep-alive
//! connections lands within 60/40, time after time; and a worker that is
//! stopped holds no new connection hostage (the other serves them).
//! Which worker served a request is read from its log line's pid.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;

use common::http::{simple_config, Client};
use common::http_origin::HttpOrigin;
use common::{free_port, procfs, Weir, DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BURST: usize = 50;
/// Bursts in the even-spread test.
const ROUNDS: usize = 5;

fn two_workers(port: u16, origin: &HttpOrigin) -> Weir {
    let cfg = simple_config(port, origin.addr).replacen(
        "nbproc = 1",
        "nbproc = 2\ncpu_map = \"none\"",
        1,
    );
    let weir = Weir::start(&cfg);
    weir.wait_workers(2, DEADLINE);
    weir
}

/// Requests per worker pid among the log lines of targets starting with
/// `prefix`.
fn per_worker(weir: &Weir, prefix: &str, want: usize) -> BTreeMap<i32, usize> {
    let pattern = format!("\"GET {prefix}");
    let start = std::time::Instant::now();
    loop {
        let mut count = BTreeMap::new();
        for l in weir.logs() {
            if l.message.contains(&pattern) {
                *count.entry(l.pid).or_insert(0) += 1;
            }
        }
        if count.values().sum::<usize>() >= want || start.elapsed() > DEADLINE {
            return count;
        }
        thread::sleep(common::POLL);
    }
}

/// Five bursts of `BURST` connections: how many landed even (within
/// 60/40), and the connections per worker over all of them.
fn bursts(weir: &Weir, port: u16, attempt: usize) -> (usize, BTreeMap<i32, usize>) {
    let (mut even_rounds, mut total) = (0, BTreeMap::new());
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(BURST));
        let clients: Vec<_> = (0..BURST)
            .map(|i| {
                let barrier = barrier.clone();
                thread::spawn(move || {
                    barrier.wait();
                    let mut c = Client::connect(port);
                    let r = c.get(&format!("/burst{attempt}.{round}/{i}"));
                    assert_eq!(r.status, 200);
                    // Kept open until the whole burst is counted.
                    c
                })
            })
            .collect();
        let open: Vec<Client> = clients.into_iter().map(|t| t.join().unwrap()).collect();
        let count = per_worker(weir, &format!("/burst{attempt}.{round}/"), BURST);
        let served: Vec<usize> = count.values().copied().collect();
        assert_eq!(served.iter().sum::<usize>(), BURST, "{count:?}");
        let most = served.iter().copied().max().unwrap_or(0);
        if served.len() == 2 && most * 10 <= BURST * 6 {
            even_rounds += 1;
        } else {
            eprintln!(
                "burst {attempt}.{round}: {BURST} connections landed {count:?} on the workers"
            );
        }
        for (pid, n) in &count {
            *total.entry(*pid).or_insert(0) += n;
        }
        drop(open);
        // The next burst starts once weir holds none of these any more
        // (the share counts what each worker holds now).
        let start = std::time::Instant::now();
        while procfs::tcp_rows()
            .iter()
            .any(|r| r.local.port() == port && r.state == procfs::TCP_ESTABLISHED)
        {
            assert!(
                start.elapsed() < DEADLINE,
                "weir kept the burst's connections"
            );
            thread::sleep(common::POLL);
        }
    }
    (even_rounds, total)
}

#[test]
fn a_burst_of_keep_alive_connections_lands_on_both_workers() {
    let origin = HttpOrigin::start("o");
    let port = free_port();
    let weir = two_workers(port, &origin);
    // A worker the machine does not run for 100 ms loses its share of a
    // burst to the other (nothing is held hostage): on a machine several
    // times oversubscribed a burst may be uneven. So most of five bursts
    // and their sum must be even, in one of two attempts (without the fair
    // share every burst lands about 49/1).
    let mut seen = Vec::new();
    for attempt in 0..2 {
        let (even, total) = bursts(&weir, port, attempt);
        let served: Vec<usize> = total.values().copied().collect();
        let most = served.iter().copied().max().unwrap_or(0);
        if served.len() == 2 && most * 10 <= ROUNDS * BURST * 6 && even * 2 > ROUNDS {
            return;
        }
        seen.push(format!("{even} of {ROUNDS} bursts even, {total:?} in all"));
    }
    panic!("connections not spread within 60/40: {seen:?}");
}

#[test]
fn a_stopped_worker_holds_no_connection_hostage() {
    let origin = HttpOrigin::start("o");
    let port = free_port();
    let weir = two_workers(port, &origin);
    let workers = weir.worker_pids();
    let stopped = Pid::from_raw(workers[0]);
    kill(stopped, Signal::SIGSTOP).expect("SIGSTOP");
    let result = std::panic::catch_unwind(|| {
        for i in 0..20 {
            let mut c = Client::connect(port);
            let r = c.get(&format!("/alone/{i}"));
            assert_eq!(r.status, 200, "request {i} while a worker is stopped");
        }
    });
    kill(stopped, Signal::SIGCONT).expect("SIGCONT");
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    let count = per_worker(&weir, "/alone/", 20);
    assert_eq!(
        count.get(&workers[0]),
        None,
        "the stopped worker served: {count:?}"
    );
}
