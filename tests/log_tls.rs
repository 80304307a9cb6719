//! The TLS fields of the logs, with real TLS clients (curl): `httpslog`
//! ends with HAProxy's TLS fields (resumption, SNI, version, cipher by
//! OpenSSL's name), `%ft` carries HAProxy's `~`, and JSON lines hold the
//! same in their `tls` object.

mod common;

use std::process::Command;

use common::http::backend;
use common::http_origin::HttpOrigin;
use common::syslog::Syslog;
use common::weir::TempDir;
use common::{free_port, Weir, DEADLINE};
use rcgen::{CertificateParams, DnType, KeyPair};
use serde_json::Value;

/// A self-signed certificate and key for `name`, in one PEM file.
fn cert_file(dir: &TempDir, name: &str) -> String {
    let mut p = CertificateParams::new(vec![name.to_string()]).expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("key");
    let c = p.self_signed(&key).expect("cert");
    let path = dir.path.join("site.pem");
    std::fs::write(&path, format!("{}{}", c.pem(), key.serialize_pem())).unwrap();
    path.display().to_string()
}

/// `curl -k` to `https://NAME:PORT/PATH` (NAME resolved to 127.0.0.1, so
/// it is the SNI); returns the status.
fn get(name: &str, port: u16, path: &str, extra: &[&str]) -> u16 {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-k",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"))
        .args(extra)
        .arg(format!("https://{name}:{port}{path}"))
        .output()
        .expect("run curl (is it installed? make deps)");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn httpslog_and_json_show_the_client_tls() {
    let dir = TempDir::new("log-tls");
    let crt = cert_file(&dir, "www.example.test");
    let syslog = Syslog::start();
    let origin = HttpOrigin::start("o1");
    let (p1, p2) = (free_port(), free_port());
    let fe = |name: &str, port: u16, format: &str| {
        format!(
            "[frontend.{name}]\nbind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{crt}\" }} }}]\n\
             default_backend = \"be\"\nlog = \"{}\"\nlog_format = \"{format}\"\n",
            syslog.target
        )
    };
    let config = format!(
        "[global]\nnbproc = 1\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n{}{}{}",
        fe("s", p1, "httpslog"),
        fe("j", p2, "json"),
        backend("be", "", &[origin.addr])
    );
    let weir = Weir::start(&config);

    assert_eq!(get("www.example.test", p1, "/v13", &["--tlsv1.3"]), 200);
    assert_eq!(
        get("www.example.test", p1, "/v12", &["--tls-max", "1.2"]),
        200
    );
    assert_eq!(get("www.example.test", p2, "/json", &["--tlsv1.3"]), 200);

    let lines = syslog.wait(3, DEADLINE, |m| {
        m.starts_with(b"127.0.0.1:") || m.starts_with(b"{")
    });
    let text: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    let find = |what: &str| {
        text.iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line with {what}: {text:#?}"))
    };
    let v13 = find("GET /v13 ");
    assert!(v13.contains("] s~ be/s1 "), "%ft with HAProxy's ~: {v13}");
    assert!(
        v13.ends_with(
            "\"GET /v13 HTTP/1.1\" 0/0/0/0/0 www.example.test/TLSv1.3/TLS_AES_256_GCM_SHA384"
        ) || v13.ends_with(
            "\"GET /v13 HTTP/1.1\" 0/0/0/0/0 www.example.test/TLSv1.3/TLS_AES_128_GCM_SHA256"
        ) || v13.ends_with(
            "\"GET /v13 HTTP/1.1\" 0/0/0/0/0 www.example.test/TLSv1.3/TLS_CHACHA20_POLY1305_SHA256"
        ),
        "{v13}"
    );
    let v12 = find("GET /v12 ");
    let tail = v12.rsplit(' ').next().unwrap();
    assert!(
        tail.starts_with("www.example.test/TLSv1.2/ECDHE-ECDSA-"),
        "{v12}"
    );

    let json: Value = serde_json::from_str(find("/json")).expect("a JSON line");
    let tls = &json["tls"];
    assert_eq!(tls["version"], "TLSv1.3", "{json}");
    assert_eq!(tls["sni"], "www.example.test", "{json}");
    assert!(
        tls["cipher"]
            .as_str()
            .is_some_and(|c| c.starts_with("TLS_")),
        "{json}"
    );
    assert_eq!(tls["resumed"], false);
    assert_eq!(json["frontend"], "j");
    drop(weir);
}
