//! Each process names itself, as nginx's do, so that `ps` tells them apart:
//! `weir: master process <the command line>`, `weir: worker N (cpu C)` and
//! `weir: control` in `/proc/PID/cmdline` (what `ps -ef` shows), and `weir`,
//! `weir-worker-N`, `weir-control` in `/proc/PID/comm`. A replaced worker
//! takes its slot's name again.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::origin::echo_origin;
use common::weir::{bin, TempDir};
use common::{free_port, one_server, procfs, tcp_config, wait_for, Weir, DEADLINE};

/// `/proc/PID/cmdline` as `ps` prints it: arguments joined by spaces, the
/// NUL padding after a title left out.
fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    words.join(" ")
}

fn comm(pid: i32) -> String {
    procfs::comm(pid).unwrap_or_default().trim_end().to_string()
}

/// What `ps -o args= -p PID` prints.
fn ps_args(pid: i32) -> String {
    let out = Command::new("ps")
        .args(["-o", "args=", "-p", &pid.to_string()])
        .output()
        .expect("run ps");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// (command line, comm) of each worker, in a set.
fn workers(weir: &Weir) -> BTreeSet<(String, String)> {
    weir.wait_workers(2, DEADLINE)
        .into_iter()
        .map(|p| (cmdline(p), comm(p)))
        .collect()
}

#[test]
fn master_workers_and_control_have_their_own_names() {
    let origin = echo_origin();
    let port = free_port();
    let sock_dir = TempDir::new("titles");
    let socket = sock_dir.path.join("admin.sock");
    // Both workers on CPU 0, which every machine has; the runtime API
    // socket gives the service a control process.
    let global = format!(
        "nbproc = 2\ncpu_map = [0, 0]\nstats_socket = \"{}\"",
        socket.display()
    );
    let weir = Weir::start(&tcp_config(port, &global, "", &one_server(origin.addr)));

    let master = weir.pid();
    let want = format!(
        "weir: master process {} -f {}",
        bin().display(),
        weir.config_path.display()
    );
    assert_eq!(cmdline(master), want);
    assert_eq!(ps_args(master), want, "what ps shows");
    assert_eq!(comm(master), "weir", "init scripts check the master's comm");

    let expected: BTreeSet<(String, String)> = (1..=2)
        .map(|i| {
            (
                format!("weir: worker {i} (cpu 0)"),
                format!("weir-worker-{i}"),
            )
        })
        .collect();
    assert_eq!(workers(&weir), expected);

    let control = wait_for(DEADLINE, "the control process", || weir.control_pid());
    assert_eq!(cmdline(control), "weir: control");
    assert_eq!(ps_args(control), "weir: control");
    assert_eq!(comm(control), "weir-control");

    // A worker killed is replaced under the same name.
    let first = weir
        .worker_pids()
        .into_iter()
        .find(|&p| comm(p) == "weir-worker-1")
        .expect("worker 1");
    kill(Pid::from_raw(first), Signal::SIGKILL).expect("kill worker 1");
    let again = wait_for(DEADLINE, "worker 1 replaced", || {
        weir.worker_pids()
            .into_iter()
            .find(|&p| p != first && comm(p) == "weir-worker-1")
    });
    assert_eq!(cmdline(again), "weir: worker 1 (cpu 0)");
    assert_eq!(workers(&weir), expected);
    // The master still names itself after its command line.
    assert_eq!(cmdline(master), want);
}
