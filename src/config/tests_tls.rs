//! TLS settings (SPEC §8): defaults, every key, the mistakes that are
//! errors (at their line and column), the warnings, and the refusal of
//! `tls` while the worker cannot serve it.

use std::path::PathBuf;
use std::time::Duration;

use super::model::{ClientVerify, Config, ServerSni, ServerVerify, TlsVersion};
use super::{load_str, Diagnostic, Severity};
use crate::tls::testcerts;

/// A directory of test files, removed on drop.
struct Files(PathBuf);

impl Files {
    fn new() -> Files {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("weir-cfg-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        Files(d)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A frontend whose second line is `bind = BIND`, line 5 onwards `extra`.
fn fe(bind: &str, extra: &str) -> String {
    format!(
        "[frontend.web]\nbind = {bind}\ndefault_backend = \"app\"\nmode = \"http\"\n{extra}\n\
         [backend.app]\nmode = \"http\"\nserver = [{{ name = \"a\", address = \"127.0.0.1:8000\" }}]\n"
    )
}

/// A backend whose `server` line is line 5.
fn be(server: &str, check: &str) -> String {
    format!(
        "[frontend.web]\nbind = \":80\"\ndefault_backend = \"app\"\n[backend.app]\n\
         server = [{server}]\n{check}\n"
    )
}

fn ok(text: &str) -> Config {
    load_str("t.toml", text).unwrap_or_else(|e| panic!("unexpected errors: {e:#?}\n{text}"))
}

fn errors(text: &str) -> Vec<String> {
    match load_str("t.toml", text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
    }
}

fn one_error(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e[0].clone()
}

fn cert_file(f: &Files) -> String {
    f.write(
        "site.pem",
        &testcerts::leaf(&["www.example.com"]).combined(),
    )
}

#[test]
fn bind_defaults() {
    let f = Files::new();
    let crt = cert_file(&f);
    let c = ok(&fe(
        &format!("{{ address = \":443\", tls = {{ crt = \"{crt}\" }} }}"),
        "",
    ));
    let tls = c.frontends[0].binds[0].tls.as_ref().expect("tls");
    assert_eq!(tls.certs.len(), 1);
    assert_eq!(tls.certs[0].info.dns_names, ["www.example.com"]);
    assert_eq!(tls.alpn, ["http/1.1"]);
    assert_eq!(
        (tls.min_version, tls.max_version),
        (TlsVersion::V1_2, TlsVersion::V1_3)
    );
    assert_eq!(tls.verify, ClientVerify::None);
    assert!(tls.resumption && !tls.strict_sni && tls.ciphersuites.is_none());
    assert_eq!(
        tls.handshake_timeout,
        Duration::from_secs(30),
        "timeout.client"
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.global.tls_ticket_lifetime, Duration::from_secs(12 * 3600));
    // TCP mode: no ALPN unless asked.
    let tcp = fe(
        &format!("{{ address = \":443\", tls = {{ crt = \"{crt}\" }} }}"),
        "",
    )
    .replace("mode = \"http\"", "mode = \"tcp\"");
    let c = ok(&tcp);
    assert!(c.frontends[0].binds[0]
        .tls
        .as_ref()
        .expect("tls")
        .alpn
        .is_empty());
}

#[test]
fn bind_every_key() {
    let f = Files::new();
    let crt = cert_file(&f);
    let other = f.write(
        "other.pem",
        &testcerts::leaf(&["other.example.com"]).combined(),
    );
    let ca = f.write("ca.pem", &testcerts::ca("Client CA").cert_pem);
    let bind = format!(
        "{{ address = \":443\", tls = {{ crt = [\"{crt}\"], default_crt = \"{other}\", \
         strict_sni = true, alpn = [\"http/1.1\", \"acme-tls/1\"], min_version = \"1.3\", \
         max_version = \"1.3\", ciphersuites = [\"TLS_CHACHA20_POLY1305_SHA256\"], \
         client_ca = \"{ca}\", verify = \"optional\", handshake_timeout = \"3s\", \
         resumption = false }} }}"
    );
    let c = ok(&fe(&bind, "timeout = { client = \"1m\" }"));
    let tls = c.frontends[0].binds[0].tls.as_ref().expect("tls");
    assert_eq!(tls.certs.len(), 2, "default_crt is loaded too");
    assert_eq!(tls.default_crt, Some(PathBuf::from(&other)));
    assert!(tls.strict_sni && !tls.resumption);
    assert_eq!(tls.alpn, ["http/1.1", "acme-tls/1"]);
    assert_eq!(tls.min_version, TlsVersion::V1_3);
    assert_eq!(
        tls.ciphersuites.as_deref(),
        Some(&["TLS_CHACHA20_POLY1305_SHA256".to_string()][..])
    );
    assert_eq!(tls.verify, ClientVerify::Optional);
    assert_eq!(tls.client_ca.as_ref().expect("ca").roots.len(), 1);
    assert_eq!(tls.handshake_timeout, Duration::from_secs(3));
}

#[test]
fn bind_errors_at_their_column() {
    let f = Files::new();
    let crt = cert_file(&f);
    let t = |inner: &str| {
        fe(
            &format!("{{ address = \":443\", tls = {{ crt = \"{crt}\"{inner} }} }}"),
            "",
        )
    };
    // Columns: `bind = { address = ":443", tls = { crt = "PATH"` then `inner`.
    let base = "bind = { address = \":443\", tls = { crt = \"\"".len() + crt.chars().count();
    let col = |extra: usize| base + extra + 1;
    let e = one_error(&t(", min_version = \"1.1\""));
    assert_eq!(
        e,
        format!(
            "2:{}: TLS version \"1.1\" is not available: weir speaks TLS 1.2 and 1.3 only",
            col(16)
        )
    );
    let e = one_error(&t(
        ", ciphersuites = [\"TLS_AES_128_GCM_SHA256\", \"ECDHE-RSA-AES128-GCM-SHA256\"]",
    ));
    assert!(
        e.starts_with(&format!("2:{}: unknown cipher suite", col(44))),
        "{e}"
    );
    assert!(e.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), "{e}");
    let e = one_error(&t(", verify = \"required\""));
    assert!(
        e.starts_with(&format!(
            "2:{}: `verify` = \"optional\" or \"required\" needs `client_ca`",
            col(2)
        )),
        "{e}"
    );
    let e = one_error(&t(", verify = \"requird\""));
    assert!(e.contains("did you mean `required`"), "{e}");
    let e = one_error(&t(", min_version = \"1.3\", max_version = \"1.2\""));
    assert!(e.contains("`min_version` is above `max_version`"), "{e}");
    let e = one_error(&t(", alpn = [\"h2\", \"h2\"]"));
    assert!(e.contains("ALPN protocol \"h2\" is listed twice"), "{e}");
    let e = one_error(&t(", strict_snl = true"));
    assert!(
        e.starts_with(&format!("2:{}: unknown key `strict_snl`", col(2))),
        "{e}"
    );
    assert!(e.contains("did you mean `strict_sni`"), "{e}");
    let e = one_error(&t(", ciphersuites = [\"TLS_AES_128_GCM_SHA256\"]"));
    assert!(
        e.contains("lists no TLS 1.2 suite while TLS 1.2 is enabled"),
        "{e}"
    );
    let e = one_error(&t(", handshake_timeout = \"0s\""));
    assert!(e.contains("`handshake_timeout` must be above zero"), "{e}");
    let e = one_error(&t(&format!(", default_crt = \"{}\"", f.0.display())));
    assert!(
        e.contains("is a directory: name one certificate file"),
        "{e}"
    );
    let e = one_error(&fe("{ address = \":443\", tls = { alpn = [] } }", ""));
    assert!(e.starts_with("2:28: a bind's `tls` needs `crt`"), "{e}");
}

#[test]
fn crt_problems_at_the_crt_key() {
    let f = Files::new();
    let a = testcerts::leaf(&["a.test"]);
    let b = testcerts::leaf(&["b.test"]);
    let mixed = f.write("mixed.pem", &format!("{}{}", a.cert_pem, b.key_pem));
    let missing = f.0.join("missing.pem").display().to_string();
    let text = fe(
        &format!("[{{ address = \":443\", tls = {{ crt = [\"{mixed}\", \"{missing}\"] }} }}]"),
        "",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].starts_with("2:37: crt \""), "{e:#?}");
    assert!(e[0].contains("does not match the certificate"), "{e:#?}");
    assert!(
        e[1].contains(&format!("crt \"{missing}\": no such file")),
        "{e:#?}"
    );
    let empty = f.0.join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let e = one_error(&fe(
        &format!(
            "{{ address = \":443\", tls = {{ crt = \"{}\" }} }}",
            empty.display()
        ),
        "",
    ));
    assert!(e.contains("holds no certificate file"), "{e}");
}

#[test]
fn expired_certificate_is_a_warning() {
    let f = Files::new();
    let old = f.write(
        "old.pem",
        &testcerts::leaf_valid(&["old.test"], 2001, 2002).combined(),
    );
    let c = ok(&fe(
        &format!("{{ address = \":443\", tls = {{ crt = \"{old}\" }} }}"),
        "",
    ));
    let w: &Diagnostic = &c.warnings[0];
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!((w.line, w.col, w.severity), (2, 36, Severity::Warning));
    assert!(w.message.contains("expired on 2002-01-01"), "{}", w.message);
    assert!(
        w.to_string().starts_with("t.toml:2:36: warning: crt \""),
        "{w}"
    );
}

#[test]
fn server_tls() {
    let f = Files::new();
    let ca = f.write("ca.pem", &testcerts::ca("Origin CA").cert_pem);
    let client = cert_file(&f);
    let c = ok(&be(
        &format!(
            "{{ name = \"a\", address = \"localhost:8443\", tls = true }}, \
             {{ name = \"b\", address = \"127.0.0.1:8443\", tls = true }}, \
             {{ name = \"c\", address = \"127.0.0.1:8443\", tls = {{ verify = \"none\", \
             sni = \"origin.test\", alpn = [\"http/1.1\"], crt = \"{client}\" }} }}, \
             {{ name = \"d\", address = \"127.0.0.1:8443\", tls = {{ ca = \"{ca}\" }} }}, \
             {{ name = \"e\", address = \"127.0.0.1:8443\", tls = false }}"
        ),
        "check = { type = \"tcp\", tls = false }",
    ));
    let s = &c.backends[0].servers;
    let a = s[0].tls.as_ref().expect("a");
    assert_eq!(a.verify, ServerVerify::Required);
    assert_eq!(a.sni, ServerSni::Name("localhost".into()));
    assert!(
        a.roots.as_ref().is_some_and(|r| !r.is_empty()),
        "system roots"
    );
    let b = s[1].tls.as_ref().expect("b");
    assert_eq!(b.sni, ServerSni::Address("127.0.0.1".parse().expect("ip")));
    let cc = s[2].tls.as_ref().expect("c");
    assert_eq!((cc.verify, cc.roots.is_none()), (ServerVerify::None, true));
    assert_eq!(cc.sni, ServerSni::Name("origin.test".into()));
    assert_eq!(cc.alpn, ["http/1.1"]);
    assert!(cc.crt.is_some());
    let d = s[3].tls.as_ref().expect("d");
    assert_eq!(d.roots.as_ref().expect("ca").len(), 1);
    assert_eq!(d.ca, Some(PathBuf::from(&ca)));
    assert!(s[4].tls.is_none());
    assert!(!c.backends[0].check.as_ref().expect("check").tls);
}

#[test]
fn server_tls_errors() {
    let e = one_error(&be(
        "{ name = \"a\", address = \"127.0.0.1:1\", tls = { sni = \"host\" } }",
        "",
    ));
    assert!(
        e.starts_with("5:64: sni = \"host\" takes the request's Host header"),
        "{e}"
    );
    let e = one_error(&be(
        "{ name = \"a\", address = \"127.0.0.1:1\", tls = { verify = \"optional\" } }",
        "",
    ));
    assert!(e.contains("expected \"required\" or \"none\""), "{e}");
    let e = one_error(&be(
        "{ name = \"a\", address = \"127.0.0.1:1\", tls = { ca = \"/nonexistent/ca.pem\" } }",
        "",
    ));
    assert_eq!(e, "5:58: ca \"/nonexistent/ca.pem\": no such file");
    let e = one_error(&be(
        "{ name = \"a\", address = \"127.0.0.1:1\", tls = \"yes\" }",
        "",
    ));
    assert!(e.contains("true, false or a tls table"), "{e}");
}

#[test]
fn ticket_keys_in_global() {
    let f = Files::new();
    let line = |b: u8| data_encoding::BASE64.encode(&[b; 80]);
    let keys = f.write("keys", &format!("{}\n{}\n{}\n", line(1), line(2), line(3)));
    let text = format!(
        "[global]\ntls_ticket_keys = \"{keys}\"\ntls_ticket_lifetime = \"1h\"\n{}",
        fe("\":80\"", "")
    );
    let c = ok(&text);
    let k = c.global.tls_ticket_keys.as_ref().expect("keys");
    assert_eq!(k.keys.encrypting().name, [2; 16]);
    assert_eq!(c.global.tls_ticket_lifetime, Duration::from_secs(3600));
    let bad = f.write("bad", &line(1));
    let e = one_error(&format!(
        "[global]\ntls_ticket_keys = \"{bad}\"\n{}",
        fe("\":80\"", "")
    ));
    assert!(e.starts_with("2:19: tls_ticket_keys \""), "{e}");
    assert!(e.contains("1 key(s); at least 3 are needed"), "{e}");
    let e = one_error(&format!(
        "[global]\ntls_ticket_lifetime = \"8d\"\n{}",
        fe("\":80\"", "")
    ));
    assert!(
        e.starts_with("2:23: `tls_ticket_lifetime` must be between 1m and 7d"),
        "{e}"
    );
}
