//! `testssl.sh` (Debian package `testssl.sh`, command `testssl`) against
//! weir's default TLS settings: a bind with nothing but `crt` (an ECDSA
//! P-256 certificate), in HTTP mode. It checks the protocols (`-p`), the
//! cipher categories (`-s`), forward secrecy (`-f`), the server's
//! defaults (`-S`: tickets, resumption, extensions), the known
//! vulnerabilities (`-U`: Heartbleed, CCS, Ticketbleed, ROBOT,
//! renegotiation, CRIME, BREACH, POODLE, SWEET32, FREAK, DROWN, LOGJAM,
//! BEAST, LUCKY13, Winshock, RC4) and the HTTP headers (`-h`); its client
//! simulation and cipher order by protocol are left out to keep it near
//! a minute.
//!
//! No finding may be HIGH or CRITICAL, but those about the certificate
//! itself (`cert_*`): the test's is self-signed, has no revocation URL,
//! and is the operator's choice, not a setting of weir's.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::backend;
use common::http_origin::HttpOrigin;
use common::tls_certs::Ca;
use common::weir::TempDir;
use common::{ci, free_port, Weir};
use serde_json::Value;

/// The longest testssl may run.
const LIMIT: Duration = Duration::from_secs(400);

#[test]
fn testssl_finds_nothing_high_or_critical_in_the_defaults() {
    if !ci::missing_commands(&["testssl"]).is_empty() {
        return ci::skip("no testssl (Debian package testssl.sh)");
    }
    let dir = TempDir::new("testssl");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["localhost"]).write(&dir.path, "site.pem");
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let config = format!(
        "[global]\nlog = \"stderr\"\nnbproc = 1\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"10s\", server = \"10s\" }}\n\
         [frontend.fe]\nbind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{}\" }} }}]\n\
         default_backend = \"be\"\n{}",
        crt.display(),
        backend("be", "", &[origin.addr])
    );
    let weir = Weir::start(&config);
    let json = dir.path.join("testssl.json");
    let out = dir.path.join("testssl.txt");
    let mut child = Command::new("testssl")
        .args(["--quiet", "--color", "0", "--warnings", "off"])
        .args(["-p", "-s", "-f", "-S", "-U", "-h"])
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("create output file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("run testssl");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait testssl") {
            break st;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("testssl still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let raw = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON from testssl ({status}): {e}\n{text}"));
    let findings: Vec<Value> = serde_json::from_str(&raw).expect("testssl's JSON");
    assert!(findings.len() > 40, "too few findings: {raw}");
    let field = |f: &Value, k: &str| f[k].as_str().unwrap_or("").to_string();
    let bad: Vec<String> = findings
        .iter()
        .filter(|f| matches!(field(f, "severity").as_str(), "HIGH" | "CRITICAL"))
        .filter(|f| !field(f, "id").starts_with("cert_"))
        .map(|f| {
            format!(
                "{} {}: {}",
                field(f, "severity"),
                field(f, "id"),
                field(f, "finding")
            )
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}\n{text}");
    // What it saw, for the record (and a sanity check that it spoke TLS).
    let find = |id: &str| {
        findings
            .iter()
            .find(|f| field(f, "id") == id)
            .map(|f| field(f, "finding"))
            .unwrap_or_default()
    };
    assert!(find("TLS1_3").starts_with("offered"), "{text}");
    assert!(find("TLS1_2").starts_with("offered"), "{text}");
    assert_eq!(find("TLS1_1"), "not offered", "{text}");
    assert_eq!(find("TLS1"), "not offered", "{text}");
    assert_eq!(find("SSLv3"), "not offered", "{text}");
    eprintln!(
        "testssl: {} findings in {:?}; {}",
        findings.len(),
        start.elapsed(),
        ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
            .iter()
            .map(|s| {
                let of: Vec<String> = findings
                    .iter()
                    .filter(|f| field(f, "severity") == *s)
                    .map(|f| field(f, "id"))
                    .collect();
                format!("{s} {of:?}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(weir);
}
