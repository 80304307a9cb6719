//! The runtime API (`global.stats_socket`) from the test process, for tests
//! that wait on weir's own counters (`show stat`) rather than on time.
//! `tests/runtime_api.rs` drives the same socket with socat, as an operator.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::signal::Signal;

use super::client::{self, IO_TIMEOUT};
use super::weir::Weir;
use super::DEADLINE;

/// Sends one command and returns the whole answer (weir closes the
/// connection after it); `None` if the socket cannot be used (yet).
pub fn command(sock: &Path, command: &str) -> Option<String> {
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    s.write_all(format!("{command}\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// One figure of `show stat`: the `field` column (e.g. `stot`) of the row
/// `pxname,svname` (e.g. `be,BACKEND`); `None` if the socket does not
/// answer, or the row, column or figure is not there.
pub fn stat(sock: &Path, pxname: &str, svname: &str, field: &str) -> Option<u64> {
    stat_text(sock, pxname, svname, field)?.parse().ok()
}

/// One field of `show stat` as text (e.g. `check_status`).
pub fn stat_text(sock: &Path, pxname: &str, svname: &str, field: &str) -> Option<String> {
    let text = command(sock, "show stat")?;
    let mut lines = text.lines();
    let header = lines.next()?.strip_prefix("# ")?;
    let column = header.split(',').position(|c| c == field)?;
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.first() == Some(&pxname) && r.get(1) == Some(&svname))?
        .get(column)
        .map(|v| v.to_string())
}

/// One line of `show info` (`CumSslConns`…), as a number.
pub fn info(sock: &Path, key: &str) -> Option<u64> {
    let text = command(sock, "show info")?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))?
        .trim()
        .parse()
        .ok()
}

/// `n` sequential connections; which origin answered, and which workers
/// (by pid in the tcplog lines) served them.
pub fn tally(weir: &Weir, port: u16, n: usize) -> (BTreeMap<String, usize>, BTreeSet<i32>) {
    let before = weir.tcplogs().len();
    let mut counts = BTreeMap::new();
    // Workers share one listening socket, and which one accepts is up to
    // the kernel: to see every worker serve, each takes its share while the
    // others are paused (SIGTTOU to a worker pauses that worker only).
    let workers = weir.worker_pids();
    let share = n.div_ceil(workers.len().max(1));
    let mut done = 0;
    for &w in &workers {
        let others: Vec<i32> = workers.iter().copied().filter(|&o| o != w).collect();
        for &o in &others {
            toggle(weir, o, Signal::SIGTTOU, "paused");
        }
        for _ in 0..share.min(n - done) {
            let name = client::read_all(port).unwrap_or_else(|e| panic!("connection #{done}: {e}"));
            *counts.entry(name).or_insert(0) += 1;
            done += 1;
        }
        for &o in &others {
            toggle(weir, o, Signal::SIGTTIN, "resumed");
        }
    }
    let logs = weir.wait_tcplogs(before + n, DEADLINE);
    let pids = logs[before..].iter().map(|(pid, _)| *pid).collect();
    (counts, pids)
}

/// Sends `sig` to worker `pid` and waits for its "Proxy … paused/resumed."
/// line.
pub fn toggle(weir: &Weir, pid: i32, sig: Signal, word: &str) {
    let seen = |w: &Weir| {
        w.logs()
            .iter()
            .filter(|l| l.pid == pid && l.message.contains(&format!("Proxy fe {word}.")))
            .count()
    };
    let before = seen(weir);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap();
    super::wait_until(DEADLINE, &format!("worker {pid} {word}"), || {
        seen(weir) > before
    });
}
