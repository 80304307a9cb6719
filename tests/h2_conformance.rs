//! RFC 9113 conformance: the `httpwg` suite (`cargo install --locked
//! httpwg-cli`, an h2spec replacement; `make deps` installs it) against
//! weir in h2c (107 tests in httpwg-cli 0.2.5; docs/http2.md). It runs
//! its tests concurrently, each with its own connection, so the frame
//! timeout is raised from 250 ms for a debug build on a busy machine.
//! One known failure is allowed (docs/http2.md, "Conformance"): under the
//! suite's concurrency, "sends multiple continuation frames preceded by
//! headers frame" now and then sees weir close the connection without an
//! answer (it passes alone).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::http::simple_config;
use common::http_origin::HttpOrigin;
use common::{ci, free_port, Weir};

/// `httpwg` on `PATH` or in `~/.cargo/bin`.
fn httpwg() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin"));
    std::env::split_paths(&path)
        .chain(home)
        .map(|d| d.join("httpwg"))
        .find(|p| p.is_file())
}

#[test]
fn httpwg_passes_every_rfc9113_test() {
    let Some(bin) = httpwg() else {
        ci::skip("httpwg is not installed (cargo install --locked httpwg-cli, or make deps)");
        return;
    };
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let _weir = Weir::start(&simple_config(port, origin.addr));
    let mut cmd = Command::new(bin);
    // HTTPWG_FILTER=NAME runs only the tests whose name has NAME (to look
    // into one), with weir's lines at the end of the failure.
    if let Some(f) = std::env::var_os("HTTPWG_FILTER") {
        cmd.arg("-f").arg(f);
    }
    let out = cmd
        .args(["--frame-timeout", "2000", "-a"])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .output()
        .expect("run httpwg");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let plain: String = strip_ansi(&text);
    // A failed test prints "Test failed", or panics (its message).
    let failed: Vec<&str> = plain
        .lines()
        .filter(|l| l.contains("Test failed") || l.starts_with("Message:"))
        .collect();
    let summary = plain
        .lines()
        .find(|l| l.contains("Passed"))
        .unwrap_or("no summary")
        .to_string();
    let (passed, total) = summary
        .split_whitespace()
        .find_map(|w| w.split_once('/'))
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .unwrap_or((0, 1));
    assert!(
        passed + KNOWN_FLAKY >= total,
        "{summary}\nfailed: {failed:#?}\n{}",
        _weir.context()
    );
    if std::env::var_os("HTTPWG_FILTER").is_none() {
        assert!(total >= 100, "{summary}");
    }
}

/// Tests allowed to fail (see the module doc).
const KNOWN_FLAKY: u32 = 1;

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
