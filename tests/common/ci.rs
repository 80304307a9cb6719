//! The one place that decides what a test does when this machine lacks
//! something it needs (a tool, a CPU, root): on a developer's machine it
//! says why it does not run and passes; under CI it fails, so that a green
//! CI run means every test ran.
//!
//! CI is `CI=true` in the environment (most CI runners set it; `.ci/run`
//! exports it too).

use std::io::Write;

/// Whether this run is CI's: `CI` is `true` (any case) or `1`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// For a test that cannot run here, called just before it returns: under
/// CI it panics with `why`; elsewhere it prints `SKIPPED <test>: <why>`
/// (straight to stderr, so that `cargo test` shows it even when the test
/// passes).
#[track_caller]
pub fn skip(why: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("this test");
    if under_ci() {
        panic!(
            "{test} cannot run on this machine ({why}), and CI=true: skipping is for \
             a developer's machine, not for CI"
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The commands of `cmds` that are not on `PATH`.
pub fn missing_commands<'a>(cmds: &[&'a str]) -> Vec<&'a str> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    cmds.iter()
        .copied()
        .filter(|c| !std::env::split_paths(&path).any(|d| d.join(c).is_file()))
        .collect()
}
