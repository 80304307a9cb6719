//! The runtime API's certificate commands end to end (HAProxy 2.6's
//! `show ssl cert`, `set ssl cert FILE <<`, `commit ssl cert`, `abort ssl
//! cert`), with real TLS clients: after a commit every new handshake gets
//! the new certificate (`openssl s_client`, and rustls on both workers)
//! while a connection opened before keeps working; invalid payloads are
//! refused and change nothing; `abort` drops the transaction; commits of
//! two files, two commits of one file, and a worker started after them.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::origin::{echo_origin, Origin};
use common::runtime::command;
use common::tls_certs::{Ca, Leaf};
use common::tls_client::{self, s_client_subject, TlsConn};
use common::weir::TempDir;
use common::{ci, free_port, Weir, DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rustls::ClientConfig;

/// A TLS frontend in TCP mode (to an echo origin) serving the files of
/// `crt`, `nbproc` workers, the runtime API in the directory.
struct Setup {
    weir: Weir,
    port: u16,
    sock: PathBuf,
    client: Arc<ClientConfig>,
    _origin: Origin,
    dir: TempDir,
}

impl Setup {
    /// `files`: (file name, leaf) written to the directory, in `crt` order.
    fn start(nbproc: usize, files: &[(&str, &Leaf)], ca: &Ca) -> Setup {
        let dir = TempDir::new("ssl-cert");
        let crt: Vec<String> = files
            .iter()
            .map(|(name, leaf)| format!("\"{}\"", leaf.write(&dir.path, name).display()))
            .collect();
        let sock = dir.path.join("admin.sock");
        let origin = echo_origin();
        let port = free_port();
        let config = format!(
            "[global]\nlog = \"stderr\"\nnbproc = {nbproc}\nstats_socket = \"{}\"\n\n\
             [defaults]\nmode = \"tcp\"\n\
             timeout = {{ connect = \"1s\", client = \"10s\", server = \"10s\" }}\n\n\
             [frontend.fe]\n\
             bind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = [{}] }} }}]\n\
             default_backend = \"be\"\n\n\
             [backend.be]\nserver = [{{ name = \"s1\", address = \"{}\" }}]\n",
            sock.display(),
            crt.join(", "),
            origin.addr
        );
        let weir = Weir::start(&config);
        let client = tls_client::config(&ca.pem);
        Setup {
            weir,
            port,
            sock,
            client,
            _origin: origin,
            dir,
        }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path.join(name).display().to_string()
    }

    /// One command's answer.
    fn api(&self, cmd: &str) -> String {
        command(&self.sock, cmd).expect("the runtime API answers")
    }

    /// `set ssl cert FILE <<` with `payload`.
    fn set(&self, file: &str, payload: &str) -> String {
        self.api(&format!("set ssl cert {file} <<\n{payload}\n"))
    }

    /// A new TLS connection with SNI `sni`; its handshake done.
    fn connect(&self, sni: &str) -> TlsConn {
        tls_client::connect(self.port, sni, &self.client).expect("TLS handshake with weir")
    }
}

fn openssl_here() -> bool {
    let missing = ci::missing_commands(&["openssl"]);
    if !missing.is_empty() {
        ci::skip(&format!("missing {missing:?}"));
        return false;
    }
    true
}

#[test]
fn commit_serves_new_handshakes_and_keeps_established_ones() {
    if !openssl_here() {
        return;
    }
    let ca = Ca::new("Weir Test CA");
    let (a, b) = (ca.leaf(&["a.test"]), ca.leaf(&["b.test"]));
    let s = Setup::start(2, &[("site.pem", &a)], &ca);
    let file = s.file("site.pem");
    assert_eq!(s.api("show ssl cert"), format!("# filename\n{file}\n\n"));
    let mut before = s.connect("a.test");
    assert_eq!(before.served(), a.der());
    assert_eq!(before.echo(b"hello").expect("echo"), b"hello");
    let subject = s_client_subject(s.port, "a.test").expect("s_client handshake");
    assert!(subject.contains("CN = a.test"), "{subject}");

    assert_eq!(
        s.set(&file, &b.combined()),
        format!("Transaction created for certificate {file}!\n\n")
    );
    // Not committed yet: still the old one.
    assert_eq!(s.connect("a.test").served(), a.der());
    assert_eq!(
        s.api(&format!("commit ssl cert {file}")),
        format!("Committing {file}.\nSuccess!\n\n")
    );
    // The answer came once every worker had it: every new handshake, on
    // either worker, gets the new certificate at once.
    let subject = s_client_subject(s.port, "b.test").expect("s_client handshake");
    assert!(subject.contains("CN = b.test"), "{subject}");
    for i in 0..10 {
        assert_eq!(s.connect("b.test").served(), b.der(), "handshake {i}");
    }
    // The connection opened before keeps its certificate and works.
    assert_eq!(before.echo(b"still here").expect("echo"), b"still here");
    assert_eq!(before.served(), a.der());

    let details = s.api(&format!("show ssl cert {file}"));
    assert!(
        details.starts_with(&format!("Filename: {file}\nStatus: Used\nSerial: ")),
        "{details}"
    );
    for line in [
        "Subject Alternative Name: DNS:b.test\n",
        "Algorithm: EC256\n",
        "Subject: /CN=b.test\n",
        "Issuer: /CN=Weir Test CA\n",
    ] {
        assert!(details.contains(line), "{line:?} in\n{details}");
    }
    let logged = s.weir.wait_log(
        &format!("runtime API: certificate {file} committed"),
        DEADLINE,
    );
    assert!(
        logged.message.contains("(CN=b.test, valid until "),
        "{}",
        logged.message
    );
}

#[test]
fn invalid_payloads_are_refused_and_change_nothing() {
    if !openssl_here() {
        return;
    }
    let ca = Ca::new("Weir Test CA");
    let (a, b, c) = (
        ca.leaf(&["a.test"]),
        ca.leaf(&["b.test"]),
        ca.leaf(&["c.test"]),
    );
    let s = Setup::start(2, &[("site.pem", &a)], &ca);
    let file = s.file("site.pem");
    let cant = format!("Can't load the payload\nCan't update {file}!\n\n");
    let cases = [
        (
            "garbage",
            "this is not PEM".to_string(),
            "not a PEM file (no -----BEGIN ...----- section)",
        ),
        (
            "a key that is not the certificate's",
            format!("{}{}", b.cert_pem, c.key_pem),
            "the private key does not match the certificate (CN=b.test)",
        ),
        (
            "no key",
            b.cert_pem.clone(),
            "no private key in it (the payload holds the certificate chain and its private key)",
        ),
        ("a key only", b.key_pem.clone(), "no certificate in it"),
    ];
    for (what, payload, why) in cases {
        let answer = s.set(&file, &payload);
        assert_eq!(
            answer,
            format!("unable to load the payload for '{file}': {why}.\n{cant}"),
            "{what}"
        );
    }
    let unknown = s.file("other.pem");
    assert_eq!(
        s.set(&unknown, &b.combined()),
        format!(
            "Can't replace a certificate which is not referenced by the configuration!\n\
             Can't update {unknown}!\n\n"
        )
    );
    assert_eq!(
        s.api(&format!("set ssl cert {file}")),
        "'set ssl cert expects a filename and a certificate as a payload\n\n"
    );
    assert_eq!(s.api("show ssl cert"), format!("# filename\n{file}\n\n"));
    assert_eq!(
        s.api(&format!("commit ssl cert {file}")),
        format!("No ongoing transaction! !\nCan't commit {file}!\n\n")
    );
    assert_eq!(s.connect("a.test").served(), a.der());
    let subject = s_client_subject(s.port, "a.test").expect("s_client handshake");
    assert!(subject.contains("CN = a.test"), "{subject}");
}

#[test]
fn abort_drops_the_transaction() {
    let ca = Ca::new("Weir Test CA");
    let (a, b, c) = (
        ca.leaf(&["a.test"]),
        ca.leaf(&["b.test"]),
        ca.leaf(&["c.test"]),
    );
    let s = Setup::start(1, &[("site.pem", &a)], &ca);
    let file = s.file("site.pem");
    assert_eq!(
        s.set(&file, &b.combined()),
        format!("Transaction created for certificate {file}!\n\n")
    );
    // In prompt mode, as an operator types it: `+ ` for each payload line.
    let typed = format!(
        "prompt\nset ssl cert {file} <<\n{}\nshow ssl cert\nquit\n",
        c.combined()
    );
    let answer = command(&s.sock, typed.trim_end()).expect("prompt session");
    let lines = c.combined().lines().count();
    assert!(
        answer.contains(&format!(
            "\n> {}Transaction updated for certificate {file}!\n\n> ",
            "+ ".repeat(lines + 1)
        )),
        "{answer}"
    );
    assert!(
        answer.contains(&format!("# transaction\n*{file}\n# filename\n{file}\n")),
        "{answer}"
    );
    let pending = s.api(&format!("show ssl cert *{file}"));
    assert!(
        pending.starts_with(&format!("Filename: *{file}\nStatus: Unused\n"))
            && pending.contains("Subject: /CN=c.test\n"),
        "{pending}"
    );
    let other = s.file("other.pem");
    assert_eq!(
        s.api(&format!("abort ssl cert {other}")),
        format!(
            "The ongoing transaction is about '{file}' but you are trying to abort a \
             transaction for '{other}'\n\n"
        )
    );
    assert_eq!(
        s.api(&format!("abort ssl cert {file}")),
        format!("Transaction aborted for certificate '{file}'!\n\n")
    );
    assert_eq!(
        s.api(&format!("abort ssl cert {file}")),
        "No ongoing transaction!\n\n"
    );
    assert_eq!(s.api("show ssl cert"), format!("# filename\n{file}\n\n"));
    assert_eq!(
        s.api(&format!("show ssl cert *{file}")),
        "Can't display the certificate: Not found or the certificate is a bundle!\n\n"
    );
    assert_eq!(s.connect("a.test").served(), a.der());
}

#[test]
fn commits_in_a_row_and_a_worker_started_after_them() {
    let ca = Ca::new("Weir Test CA");
    let (a, x) = (ca.leaf(&["a.test"]), ca.leaf(&["x.test"]));
    let (a2, a3, x2) = (
        ca.leaf(&["a.test"]),
        ca.leaf(&["a.test"]),
        ca.leaf(&["x.test"]),
    );
    let s = Setup::start(1, &[("a.pem", &a), ("x.pem", &x)], &ca);
    let (fa, fx) = (s.file("a.pem"), s.file("x.pem"));
    assert_eq!(
        s.api("show ssl cert"),
        format!("# filename\n{fa}\n{fx}\n\n")
    );
    // Two commits of one file, then one of the other, back to back.
    for (file, leaf) in [(&fa, &a2), (&fa, &a3), (&fx, &x2)] {
        assert!(s
            .set(file, &leaf.combined())
            .starts_with("Transaction created"));
        assert!(s
            .api(&format!("commit ssl cert {file}"))
            .ends_with("Success!\n\n"));
    }
    let served = |s: &Setup| (s.connect("a.test").served(), s.connect("x.test").served());
    assert_eq!(served(&s), (a3.der(), x2.der()));

    // A worker that starts now (here: the replacement of one that died)
    // serves what was committed, not what the master loaded.
    let old = s.weir.worker_pids();
    assert_eq!(old.len(), 1);
    kill(Pid::from_raw(old[0]), Signal::SIGKILL).expect("kill the worker");
    common::wait_for(DEADLINE, "a new worker", || {
        let now = s.weir.worker_pids();
        (now.len() == 1 && now[0] != old[0]).then_some(())
    });
    common::wait_until(DEADLINE, "the new worker to accept", || {
        tls_client::connect(s.port, "a.test", &s.client).is_ok()
    });
    assert_eq!(served(&s), (a3.der(), x2.der()));
    let details = s.api(&format!("show ssl cert {fa}"));
    assert!(details.contains("Subject: /CN=a.test\n"), "{details}");
}

#[test]
fn a_prompt_session_goes_on_after_a_commit() {
    let ca = Ca::new("Weir Test CA");
    let (a, b) = (ca.leaf(&["a.test"]), ca.leaf(&["b.test"]));
    let s = Setup::start(2, &[("site.pem", &a)], &ca);
    let file = s.file("site.pem");
    // Everything typed at once: the lines behind the commit wait for its
    // answer, then run, in order.
    let typed = format!(
        "prompt\nset ssl cert {file} <<\n{}\ncommit ssl cert {file}\nshow ssl cert {file}\nquit",
        b.combined()
    );
    let answer = command(&s.sock, &typed).expect("prompt session");
    let commit = format!("> Committing {file}.\nSuccess!\n\n> Filename: {file}\nStatus: Used\n");
    assert!(answer.contains(&commit), "{answer}");
    assert!(answer.contains("Subject: /CN=b.test\n"), "{answer}");
    assert!(answer.ends_with("\n> "), "{answer:?}");
    assert_eq!(s.connect("b.test").served(), b.der());
}
