//! `weir -c` on TLS settings, through the real binary, against certificate
//! files made at test time (rcgen): each mistake at its `FILE:LINE:COL`,
//! warnings printed, a key unreadable by the user weir runs as; and the
//! SNI table through the library (`weir_core::tls`), with real handshakes
//! in memory.
//!
//! A correct configuration with `tls` on its binds is valid. The binary is
//! `target/debug/weir` (or `$WEIR_BIN`).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use rcgen::{date_time_ymd, CertificateParams, DnType, KeyPair};
use rustls::pki_types::ServerName;
use weir_core::config::model::{BindTls, ClientVerify, TlsVersion};
use weir_core::tls::{crt, Acceptor};

fn weir_bin() -> PathBuf {
    let bin = std::env::var_os("WEIR_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/weir"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "{} not found: cargo build -p weir",
        bin.display()
    );
    bin
}

/// A temporary directory (mode 0755), removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "weir-config-tls-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed ECDSA certificate (PEM) and its key, valid between the
/// years given (by default around now).
fn cert(names: &[&str], years: Option<(i32, i32)>) -> (String, String) {
    let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, names[0]);
    if let Some((from, to)) = years {
        p.not_before = date_time_ymd(from, 1, 1);
        p.not_after = date_time_ymd(to, 1, 1);
    }
    let key = KeyPair::generate().expect("key");
    let c = p.self_signed(&key).expect("cert");
    (c.pem(), key.serialize_pem())
}

fn combined(names: &[&str]) -> String {
    let (c, k) = cert(names, None);
    format!("{c}{k}")
}

/// `weir -c -f FILE`, optionally as another uid/gid.
fn check(file: &str, as_user: Option<u32>) -> Output {
    let mut cmd = Command::new(weir_bin());
    cmd.arg("-c").arg("-f").arg(file);
    if let Some(id) = as_user {
        cmd.uid(id).gid(id);
    }
    cmd.output().expect("run weir")
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// An HTTP frontend with `bind = [":8080", { address = ":8443", tls = TLS }]`
/// on line 2; the `tls` key is at column 39.
fn config(tls: &str) -> String {
    format!(
        "[frontend.web]\nbind = [\":8080\", {{ address = \":8443\", tls = {tls} }}]\n\
         mode = \"http\"\ndefault_backend = \"app\"\n\n[backend.app]\nmode = \"http\"\n\
         server = [{{ name = \"a\", address = \"127.0.0.1:8000\" }}]\n"
    )
}

/// The column of `crt` in `config("{ crt = …")`.
const CRT_COL: usize = 47;

/// Runs `weir -c`; asserts that every diagnostic line is one of `want`
/// (each `(line, col, part)`), all of them found, and the exit status: 1
/// with an error among them, else 0 (warnings only).
fn expect(file: &str, out: &Output, want: &[(usize, usize, &str)]) {
    let got = lines(out);
    let errors = want.iter().any(|(_, _, part)| !part.starts_with("warning"));
    let code = if errors { 1 } else { 0 };
    assert_eq!(out.status.code(), Some(code), "{got:#?}");
    let others: Vec<&String> = got
        .iter()
        .filter(|l| l.starts_with(&format!("{file}:")))
        .collect();
    assert_eq!(others.len(), want.len(), "{got:#?}");
    for (line, col, part) in want {
        let prefix = format!("{file}:{line}:{col}: ");
        assert!(
            others
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(part)),
            "want {prefix}…{part}… in {got:#?}"
        );
    }
}

#[test]
fn a_good_configuration_is_valid() {
    let dir = TempDir::new("good");
    let site = dir.write("site.pem", &combined(&["www.example.com"]));
    let certs = TempDir::new("good-dir");
    certs.write("10-a.pem", &combined(&["a.example.com"]));
    let (c, k) = cert(&["b.example.com"], None);
    certs.write("20-b.crt", &c);
    certs.write("20-b.key", &k);
    let ca = dir.write("ca.pem", &cert(&["Client CA"], None).0);
    let file = dir.write(
        "weir.toml",
        &config(&format!(
            "{{ crt = [\"{site}\", \"{}\"], client_ca = \"{ca}\", verify = \"optional\", \
             alpn = [\"http/1.1\"], min_version = \"1.2\", ciphersuites = \
             [\"TLS_AES_128_GCM_SHA256\", \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"] }}",
            certs.0.display()
        )),
    );
    let out = check(&file, None);
    expect(&file, &out, &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), "Configuration file is valid");
}

#[test]
fn ticket_keys_alone_are_valid() {
    let dir = TempDir::new("keys");
    let key = |b: u8| data_encoding::BASE64.encode(&[b; 48]);
    let keys = dir.write("keys", &format!("{}\n{}\n{}\n", key(1), key(2), key(3)));
    let text = format!(
        "[global]\ntls_ticket_keys = \"{keys}\"\ntls_ticket_lifetime = \"1h\"\n\n\
         [listen.l]\nbind = \":8080\"\nserver = [{{ name = \"a\", address = \"127.0.0.1:1\" }}]\n"
    );
    let file = dir.write("weir.toml", &text);
    let out = check(&file, None);
    assert_eq!(out.status.code(), Some(0), "{:#?}", lines(&out));
    let bad = dir.write("bad", &format!("{}\n{}\n", key(1), key(2)));
    let file = dir.write("weir.toml", &text.replace(&keys, &bad));
    let out = check(&file, None);
    let got = lines(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        got[0].starts_with(&format!(
            "{file}:2:19: error: tls_ticket_keys \"{bad}\": 2 key(s)"
        )),
        "{got:#?}"
    );
}

#[test]
fn certificate_errors_at_the_crt_key() {
    let dir = TempDir::new("errors");
    let (a_cert, _) = cert(&["a.test"], None);
    let (_, b_key) = cert(&["b.test"], None);
    let mixed = dir.write("mixed.pem", &format!("{b_key}{a_cert}"));
    let text = dir.write("text.pem", "hello\n");
    let nokey = dir.write("nokey.pem", &a_cert);
    let keyonly = dir.write("keyonly.pem", &b_key);
    let empty = TempDir::new("errors-empty");
    empty.write("x.key", &b_key);
    empty.write(".hidden.pem", &combined(&["h.test"]));
    let file = dir.write(
        "weir.toml",
        &config(&format!(
            "{{ crt = [\"{mixed}\", \"{text}\", \"{nokey}\", \"{keyonly}\", \"{}\"] }}",
            empty.0.display()
        )),
    );
    let out = check(&file, None);
    expect(
        &file,
        &out,
        &[
            (
                2,
                CRT_COL,
                "the private key does not match the certificate (CN=a.test)",
            ),
            (2, CRT_COL, "text.pem\": not a PEM file"),
            (2, CRT_COL, "nokey.pem\": no private key in it, nor in"),
            (2, CRT_COL, "keyonly.pem\": no certificate in it"),
            (2, CRT_COL, "the directory holds no certificate file"),
        ],
    );
}

#[test]
fn value_errors_at_their_column() {
    let dir = TempDir::new("values");
    let site = dir.write("site.pem", &combined(&["a.test"]));
    let file = dir.write(
        "weir.toml",
        &config(&format!(
            "{{ crt = \"{site}\", ciphersuites = [\"TLS_AES_128_GCM_SHA256\", \"AES128-SHA\"], verify = \"required\" }}"
        )),
    );
    let out = check(&file, None);
    let suite_col = CRT_COL
        + "crt = \"\", ciphersuites = [\"TLS_AES_128_GCM_SHA256\", ".len()
        + site.chars().count();
    let verify_col = suite_col + "\"AES128-SHA\"], ".len();
    expect(
        &file,
        &out,
        &[
            (2, suite_col, "unknown cipher suite \"AES128-SHA\""),
            (2, verify_col, "needs `client_ca`"),
        ],
    );
}

#[test]
fn an_expired_certificate_is_a_warning() {
    let dir = TempDir::new("expired");
    let (c, k) = cert(&["old.test"], Some((2001, 2002)));
    let old = dir.write("old.pem", &format!("{c}{k}"));
    let file = dir.write("weir.toml", &config(&format!("{{ crt = \"{old}\" }}")));
    let out = check(&file, None);
    expect(&file, &out, &[(2, CRT_COL, "warning: crt \"")]);
    let got = lines(&out);
    assert!(
        got.iter()
            .any(|l| l.contains("expired on 2002-01-01 00:00:00 UTC")),
        "{got:#?}"
    );
}

#[test]
fn a_root_only_key_is_reported_for_a_non_root_user() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: running weir as another user needs root");
        return;
    }
    let dir = TempDir::new("perm");
    let (c, k) = cert(&["a.test"], None);
    let site = dir.write("site.pem", &c);
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let key = dir.write("site.pem.key", &k);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let file = dir.write("weir.toml", &config(&format!("{{ crt = \"{site}\" }}")));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // As root: readable.
    expect(&file, &check(&file, None), &[]);
    // As nobody: the key file, by name, and why.
    let out = check(&file, Some(65534));
    expect(
        &file,
        &out,
        &[(
            2,
            CRT_COL,
            &format!("crt \"{key}\": cannot read it: permission denied (weir reads it as uid 65534, gid 65534)"),
        )],
    );
}

/// Every file TLS settings name, unreadable by the user `weir -c` runs as
/// (0600, root's) or missing: each is named, with why, at its key.
#[test]
fn every_unreadable_tls_file_is_named_with_why() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: running weir as another user needs root");
        return;
    }
    let dir = TempDir::new("perm-all");
    let private = |name: &str, text: &str| {
        let path = dir.write(name, text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    };
    let site = private("site.pem", &combined(&["a.test"]));
    let (ca_pem, _) = cert(&["ca.test"], None);
    let ca = private("ca.pem", &ca_pem);
    let client = private("client.pem", &combined(&["client.test"]));
    let keys = private(
        "tickets.key",
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\nQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M=\n",
    );
    let missing = dir.0.join("missing.pem").display().to_string();
    let text = format!(
        "[global]\ntls_ticket_keys = \"{keys}\"\n\
         [frontend.web]\n\
         bind = [{{ address = \":8443\", tls = {{ crt = [\"{site}\", \"{missing}\"], \
         client_ca = \"{ca}\", verify = \"optional\" }} }}]\n\
         mode = \"http\"\ndefault_backend = \"app\"\n\n[backend.app]\nmode = \"http\"\n\
         server = [{{ name = \"a\", address = \"127.0.0.1:8000\", \
         tls = {{ ca = \"{ca}\", crt = \"{client}\" }} }}]\n"
    );
    let file = dir.write("weir.toml", &text);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // As root: only the missing file.
    let out = check(&file, None);
    let got = lines(&out);
    assert_eq!(out.status.code(), Some(1), "{got:#?}");
    let errors: Vec<&String> = got.iter().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 1, "{got:#?}");
    assert!(
        errors[0].starts_with(&format!("{file}:4:"))
            && errors[0].ends_with(&format!("crt \"{missing}\": no such file")),
        "{got:#?}"
    );
    // As nobody: every file, by its key, and why.
    let out = check(&file, Some(65534));
    let got = lines(&out);
    assert_eq!(out.status.code(), Some(1), "{got:#?}");
    let why = "cannot read it: permission denied (weir reads it as uid 65534, gid 65534)";
    let want = [
        (2, format!("tls_ticket_keys \"{keys}\": {why}")),
        (4, format!("crt \"{site}\": {why}")),
        (4, format!("crt \"{missing}\": no such file")),
        (4, format!("client_ca \"{ca}\": {why}")),
        (10, format!("ca \"{ca}\": {why}")),
        (10, format!("crt \"{client}\": {why}")),
    ];
    for (line, end) in &want {
        let prefix = format!("{file}:{line}:");
        assert!(
            got.iter().any(|l| l.starts_with(&prefix)
                && l.contains(": error: ")
                && l.ends_with(end.as_str())),
            "want {prefix}…{end} in {got:#?}"
        );
    }
    let errors = got.iter().filter(|l| l.contains(": error: ")).count();
    assert_eq!(errors, want.len(), "{got:#?}");
}

/// The SNI table through the library: which certificate a client with
/// this SNI is served, by real handshakes in memory.
#[test]
fn sni_and_wildcards() {
    let dir = TempDir::new("sni");
    let mut certs = Vec::new();
    for (i, names) in [
        &["default.test"][..],
        &["*.example.com"],
        &["www.example.com", "example.com"],
        &["*.api.example.com"],
    ]
    .iter()
    .enumerate()
    {
        let path = dir.write(&format!("{i}.pem"), &combined(names));
        certs.push(Arc::new(crt::load_file(Path::new(&path)).expect("load")));
    }
    let tls = BindTls {
        certs,
        default_crt: None,
        strict_sni: false,
        alpn: Vec::new(),
        min_version: TlsVersion::V1_2,
        max_version: TlsVersion::V1_3,
        ciphersuites: None,
        client_ca: None,
        verify: ClientVerify::None,
        handshake_timeout: std::time::Duration::from_secs(5),
        resumption: true,
    };
    let acceptor = Acceptor::from_bind(&tls, None).expect("acceptor");
    let mut strict = tls.clone();
    strict.strict_sni = true;
    let strict = Acceptor::from_bind(&strict, None).expect("acceptor");
    let table: &[(&str, Option<&str>)] = &[
        ("www.example.com", Some("www.example.com")),
        ("example.com", Some("www.example.com")),
        ("shop.example.com", Some("*.example.com")),
        ("v1.api.example.com", Some("*.api.example.com")),
        ("api.example.com", Some("*.example.com")),
        ("a.b.api.example.com", Some("default.test")),
        ("other.test", Some("default.test")),
    ];
    for (sni, want) in table {
        assert_eq!(served(&acceptor, sni).as_deref(), *want, "sni {sni}");
    }
    assert_eq!(served(&strict, "other.test"), None);
    assert_eq!(
        served(&strict, "shop.example.com").as_deref(),
        Some("*.example.com")
    );
}

/// The first DNS name of the certificate served for `sni`, or `None` when
/// the handshake fails. The client accepts any certificate.
fn served(acceptor: &Acceptor, sni: &str) -> Option<String> {
    use weir_core::tls::client::InsecureAcceptAnyServerCert;
    let config = rustls::ClientConfig::builder_with_provider(weir_core::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(InsecureAcceptAnyServerCert(
            weir_core::tls::provider(),
        )))
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_string()).expect("name");
    let mut c = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let mut s = rustls::ServerConnection::new(acceptor.config.clone()).expect("server");
    let mut buf = Vec::new();
    for _ in 0..10 {
        while c.wants_write() {
            buf.clear();
            c.write_tls(&mut buf).expect("write");
            s.read_tls(&mut &buf[..]).expect("read");
            s.process_new_packets().ok()?;
        }
        while s.wants_write() {
            buf.clear();
            s.write_tls(&mut buf).expect("write");
            c.read_tls(&mut &buf[..]).expect("read");
            c.process_new_packets().ok()?;
        }
        if !c.is_handshaking() {
            break;
        }
    }
    let der = c.peer_certificates()?.first()?.clone();
    let info = weir_core::tls::CertInfo::parse(&der).ok()?;
    info.dns_names.first().cloned()
}
