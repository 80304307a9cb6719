//! A running `weir`: the real binary, started on a config written to a
//! fresh temporary directory, its stderr captured to a file there.
//!
//! Dropping a [`Weir`] ends every process it started, by pid: SIGTERM to the
//! master, up to 3 s for it to exit; then SIGTERM, up to 3 s, to any process
//! still running with this instance's (unique) config path in its command
//! line (a daemon, orphaned workers); then SIGKILL to all of those and to
//! every worker pid ever seen (each checked against its recorded start time,
//! so a recycled pid is never hit).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::logline::{self, LogLine, TcpLog};
use super::{procfs, wait_for, DEADLINE, POLL};

/// A temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "weir-test-{tag}-{}-{:x}",
            std::process::id(),
            super::seed()
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The `weir` binary: `$WEIR_BIN`, or `target/debug/weir` of this workspace.
pub fn bin() -> PathBuf {
    let path = std::env::var_os("WEIR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/weir"));
    assert!(
        path.is_file(),
        "{} does not exist: build it first: cargo build -p weir",
        path.display()
    );
    path
}

pub struct Weir {
    pub dir: TempDir,
    pub config_path: PathBuf,
    stderr_path: PathBuf,
    stdout_path: PathBuf,
    /// The process we spawned: the master, or with `-D` the launcher.
    child: Mutex<Child>,
    /// The master's pid (the child's, unless `-D` moved it elsewhere).
    master: Mutex<i32>,
    /// Its exit status once reaped (only for a master that is our child).
    exit: Mutex<Option<ExitStatus>>,
    /// Every worker pid seen, with its start time (field 22 of `stat`).
    seen: Mutex<BTreeMap<i32, u64>>,
}

/// The process name the control process gives itself.
pub const CONTROL_COMM: &str = "weir-control";

fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    // after ")": field 3 is state; starttime is field 22.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

impl Weir {
    /// Starts `weir -f CONFIG`, and waits until it is ready: every
    /// `127.0.0.1:PORT` on a `bind` line listens and the master has `nbproc`
    /// workers. Panics with weir's stderr if it exits instead.
    pub fn start(config: &str) -> Weir {
        Weir::start_with(config, &[])
    }

    /// [`Weir::start`] with extra command-line arguments.
    pub fn start_with(config: &str, args: &[&str]) -> Weir {
        let weir = Weir::spawn(config, args);
        weir.wait_ready(config);
        weir
    }

    /// [`Weir::start_with`] with extra environment variables (e.g.
    /// `NOTIFY_SOCKET`).
    pub fn start_env(config: &str, args: &[&str], env: &[(&str, &OsStr)]) -> Weir {
        let weir = Weir::spawn_env(config, args, env);
        weir.wait_ready(config);
        weir
    }

    /// Spawns `weir -f CONFIG ARGS…` and returns at once.
    pub fn spawn(config: &str, args: &[&str]) -> Weir {
        Weir::spawn_env(config, args, &[])
    }

    /// [`Weir::spawn`] with extra environment variables.
    pub fn spawn_env(config: &str, args: &[&str], env: &[(&str, &OsStr)]) -> Weir {
        let dir = TempDir::new("weir");
        let config_path = dir.path.join("weir.toml");
        fs::write(&config_path, config).expect("write config");
        let stderr_path = dir.path.join("stderr.log");
        let stdout_path = dir.path.join("stdout.log");
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{dir}", dir.path.to_str().unwrap()))
            .collect();
        let child = Command::new(bin())
            .arg("-f")
            .arg(&config_path)
            .args(&args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout.log"))
            .stderr(File::create(&stderr_path).expect("create stderr.log"))
            .spawn()
            .expect("spawn weir");
        let pid = child.id() as i32;
        Weir {
            dir,
            config_path,
            stderr_path,
            stdout_path,
            child: Mutex::new(child),
            master: Mutex::new(pid),
            exit: Mutex::new(None),
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    fn wait_ready(&self, config: &str) {
        let ports = bind_ports(config);
        let nbproc = nbproc(config);
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_exit() {
                panic!(
                    "weir exited during start-up with {status}\n{}",
                    self.context()
                );
            }
            let listening = ports.iter().all(|&p| procfs::is_listening(p));
            if listening && self.worker_pids().len() == nbproc {
                return;
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "weir not ready after {DEADLINE:?} (ports {ports:?} listening: {listening}, \
                     workers {:?}, want {nbproc})\n{}",
                    self.worker_pids(),
                    self.context()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// A path inside this instance's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path.join(name)
    }

    pub fn pid(&self) -> i32 {
        *self.master.lock().unwrap()
    }

    /// For `-D`: the master is not our child; tell the guard which pid it is.
    pub fn set_master(&self, pid: i32) {
        *self.master.lock().unwrap() = pid;
    }

    /// The master's workers: its children but the control process (every
    /// child is recorded for the guard).
    pub fn worker_pids(&self) -> Vec<i32> {
        let pids = procfs::children(self.pid());
        let mut seen = self.seen.lock().unwrap();
        for &p in &pids {
            if let Some(t) = start_time(p) {
                seen.entry(p).or_insert(t);
            }
        }
        pids.into_iter()
            .filter(|&p| procfs::comm(p).as_deref() != Some(CONTROL_COMM))
            .collect()
    }

    /// The control process (health checks, runtime API), if running.
    pub fn control_pid(&self) -> Option<i32> {
        self.worker_pids();
        procfs::children(self.pid())
            .into_iter()
            .find(|&p| procfs::comm(p).as_deref() == Some(CONTROL_COMM))
    }

    /// Waits until the master has exactly `n` workers and returns them.
    pub fn wait_workers(&self, n: usize, timeout: Duration) -> Vec<i32> {
        wait_for(timeout, &format!("{n} workers"), || {
            let pids = self.worker_pids();
            (pids.len() == n).then_some(pids)
        })
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stderr_path).unwrap_or_default()).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stdout_path).unwrap_or_default()).into_owned()
    }

    /// The last lines of stderr, for failure messages.
    pub fn context(&self) -> String {
        let err = self.stderr();
        let lines: Vec<&str> = err.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- weir stderr (last 40 lines) ---\n{tail}\n---")
    }

    pub fn logs(&self) -> Vec<LogLine> {
        logline::lines(&self.stderr())
    }

    pub fn tcplogs(&self) -> Vec<(i32, TcpLog)> {
        logline::tcplogs(&self.stderr())
    }

    /// Waits for a log line whose message contains `pattern`.
    pub fn wait_log(&self, pattern: &str, timeout: Duration) -> LogLine {
        self.wait_log_where(pattern, timeout, |l| l.message.contains(pattern))
    }

    /// Waits for a log line matching `pred`; `what` names it in the failure.
    pub fn wait_log_where(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&LogLine) -> bool,
    ) -> LogLine {
        let start = Instant::now();
        loop {
            if let Some(l) = self.logs().into_iter().find(|l| pred(l)) {
                return l;
            }
            if start.elapsed() > timeout {
                panic!("no log line {what:?} after {timeout:?}\n{}", self.context());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the tcplog line of the session from `client` (the client
    /// socket's local address).
    pub fn wait_tcplog(&self, client: SocketAddr, timeout: Duration) -> (i32, TcpLog) {
        let start = Instant::now();
        loop {
            if let Some(t) = self.tcplogs().into_iter().find(|(_, t)| t.client == client) {
                return t;
            }
            if start.elapsed() > timeout {
                panic!(
                    "no tcplog line for client {client} after {timeout:?}\n{}",
                    self.context()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until there are at least `n` tcplog lines and returns them all.
    pub fn wait_tcplogs(&self, n: usize, timeout: Duration) -> Vec<(i32, TcpLog)> {
        let start = Instant::now();
        loop {
            let logs = self.tcplogs();
            if logs.len() >= n {
                return logs;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{} tcplog lines after {timeout:?}, want {n}\n{}",
                    logs.len(),
                    self.context()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Sends `sig` to the master.
    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid()), sig).expect("kill(master)");
    }

    /// The exit status of the spawned process, if it has exited.
    pub fn try_exit(&self) -> Option<ExitStatus> {
        let mut exit = self.exit.lock().unwrap();
        if exit.is_none() {
            *exit = self.child.lock().unwrap().try_wait().ok().flatten();
        }
        *exit
    }

    /// Waits until the spawned process exits and returns its status.
    pub fn wait_exit(&self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.try_exit() {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("weir still running after {timeout:?}\n{}", self.context());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `pid` is gone (for processes that are not our children).
    pub fn wait_gone(&self, pid: i32, timeout: Duration) {
        wait_for(timeout, &format!("pid {pid} to exit"), || {
            (!procfs::alive(pid)).then_some(())
        })
    }

    fn master_alive(&self) -> bool {
        let pid = self.pid();
        if pid == self.child.lock().unwrap().id() as i32 {
            self.try_exit().is_none()
        } else {
            procfs::alive(pid)
        }
    }
}

impl Drop for Weir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.context());
        }
        let master = self.pid();
        if self.master_alive() {
            self.worker_pids();
            let _ = kill(Pid::from_raw(master), Signal::SIGTERM);
            let start = Instant::now();
            while self.master_alive() && start.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(POLL);
            }
            if self.master_alive() {
                let _ = kill(Pid::from_raw(master), Signal::SIGKILL);
            }
        }
        let mut seen = self.seen.lock().unwrap();
        // Anything still running on this instance's config file is ours too:
        // e.g. a daemon whose pid we never learnt because the test failed
        // first. Ask it to stop, then kill it.
        let config = self.config_path.to_string_lossy().into_owned();
        let strays = procfs::pids_with_arg(&config);
        for &pid in &strays {
            if let Some(t) = start_time(pid) {
                seen.entry(pid).or_insert(t);
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
        let start = Instant::now();
        while !strays.is_empty()
            && strays.iter().any(|&p| procfs::alive(p))
            && start.elapsed() < Duration::from_secs(3)
        {
            std::thread::sleep(POLL);
        }
        for (&pid, &started) in seen.iter() {
            if procfs::alive(pid) && start_time(pid) == Some(started) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let mut child = self.child.lock().unwrap();
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Every `127.0.0.1:PORT` on the config's `bind` lines.
fn bind_ports(config: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    for line in config
        .lines()
        .filter(|l| l.trim_start().starts_with("bind"))
    {
        let mut rest = line;
        while let Some(i) = rest.find("127.0.0.1:") {
            rest = &rest[i + "127.0.0.1:".len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(p) = digits.parse() {
                ports.push(p);
            }
        }
    }
    ports
}

/// `global.nbproc` as written in the config (1 when absent).
fn nbproc(config: &str) -> usize {
    config
        .lines()
        .find_map(|l| {
            let l = l.trim();
            let v = l.strip_prefix("nbproc")?.trim_start().strip_prefix('=')?;
            v.split('#').next()?.trim().parse().ok()
        })
        .unwrap_or(1)
}
