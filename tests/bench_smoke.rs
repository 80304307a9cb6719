//! `make bench` still runs: `bench/run.sh --smoke` (peerbench with HAProxy
//! and weir, scenario ka-64, one round of one second, no memory test, no
//! waiting for a quiet machine) must finish and write its summary. No figure
//! is asserted: benchmarks are never timed assertions in `make test`.
//!
//! It runs when `WEIR_BENCH_SMOKE=1`, or when it runs as root and the tools
//! the harness uses are installed (haproxy, nginx with its stream module,
//! wrk, curl, python3; `make deps` installs them); otherwise it skips, and
//! under CI (`CI=true`) it fails instead ([`common::ci::skip`]).
//! `WEIR_BENCH_SMOKE=0` skips it (and fails under CI too). It uses the weir
//! binary the other tests use (`$WEIR_BIN`, else `target/debug/weir`), so it
//! builds nothing.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest the harness may take before the test kills it and fails.
const LIMIT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn weir_bin() -> PathBuf {
    std::env::var_os("WEIR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/debug/weir"))
}

/// Why the smoke run cannot happen here, or None when it can.
fn skip_reason() -> Option<String> {
    match std::env::var("WEIR_BENCH_SMOKE").as_deref() {
        Ok("1") => return None,
        Ok("0") => return Some("WEIR_BENCH_SMOKE=0".into()),
        _ => {}
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (the harness pins CPUs and raises fd limits)".into());
    }
    let missing = common::ci::missing_commands(&[
        "haproxy", "nginx", "wrk", "curl", "python3", "taskset", "setsid", "ss",
    ]);
    if !missing.is_empty() {
        return Some(format!("missing {}", missing.join(", ")));
    }
    if !Path::new("/usr/lib/nginx/modules/ngx_stream_module.so").exists() {
        return Some("missing nginx's stream module (libnginx-mod-stream)".into());
    }
    None
}

#[test]
fn bench_harness_runs_and_writes_its_summary() {
    if let Some(why) = skip_reason() {
        common::ci::skip(&format!("{why} (set WEIR_BENCH_SMOKE=1 to run it anyway)"));
        return;
    }
    let bin = weir_bin();
    assert!(
        bin.is_file(),
        "{} does not exist: cargo build -p weir",
        bin.display()
    );
    let out = std::env::temp_dir().join(format!("weir-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);

    let mut child = Command::new(root().join("bench/run.sh"))
        .args(["--smoke", "--out"])
        .arg(&out)
        .env("WEIR_BIN", &bin)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bench/run.sh starts");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for bench/run.sh") {
            break Some(st);
        }
        if start.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        // The harness traps TERM and kills every server it started; the
        // process group is the one this test created.
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
        std::thread::sleep(Duration::from_secs(3));
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    }
    let output = child
        .wait_with_output()
        .expect("collect bench/run.sh output");
    let log = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let status =
        status.unwrap_or_else(|| panic!("bench/run.sh --smoke took over {LIMIT:?}\n{log}"));
    assert!(
        status.success(),
        "bench/run.sh --smoke failed: {status}\n{log}"
    );

    let summary = std::fs::read_to_string(out.join("summary.txt"))
        .unwrap_or_else(|e| panic!("no {}: {e}\n{log}", out.join("summary.txt").display()));
    for want in ["# weir against HAProxy", "ka-64", "haproxy", "weir"] {
        assert!(
            summary.contains(want),
            "summary lacks {want:?}:\n{summary}\n{log}"
        );
    }
    eprintln!("bench_smoke: ran in {:?}", start.elapsed());
    let _ = std::fs::remove_dir_all(&out);
}
