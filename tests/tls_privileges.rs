//! Private keys readable by root only (mode 0600, owned by root, as
//! operators keep them) work with the packaged set-up, where the workers
//! run as an unprivileged user in an empty chroot: the master, still
//! root, loads every certificate and key before it forks a worker, and
//! again on reload; a worker opens no file for TLS. Nothing is written
//! into the chroot.
//!
//! Needs root (chroot, setuid): elsewhere it says so and passes, under CI
//! it fails ([`common::ci`]).

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::origin::echo_origin;
use common::tls_certs::Ca;
use common::tls_client;
use common::weir::TempDir;
use common::{ci, free_port, procfs, Weir, DEADLINE};
use nix::sys::signal::Signal;
use nix::unistd::{Group, User};

/// Writes `text` to `path` with mode 0600 (root's, as the test runs as
/// root).
fn write_private(path: &Path, text: &str) {
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 600");
    let meta = fs::metadata(path).expect("stat");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
}

#[test]
fn root_only_keys_work_for_workers_in_a_chroot_as_nobody() {
    if !nix::unistd::geteuid().is_root() {
        return ci::skip("chroot and setuid need root");
    }
    let (Some(user), Some(_)) = (
        User::from_name("nobody").ok().flatten(),
        Group::from_name("nogroup").ok().flatten(),
    ) else {
        return ci::skip("no user nobody or group nogroup on this system");
    };
    let dir = TempDir::new("tls-priv");
    let jail = TempDir::new("tls-priv-jail");
    let ca = Ca::new("Weir Test CA");
    // One bind with certificate and key in one 0600 file; another with the
    // certificate (0644) and its key beside it (`NAME.key`, 0600).
    let combined: PathBuf = dir.path.join("a.pem");
    write_private(&combined, &ca.leaf(&["a.test"]).combined());
    let b = ca.leaf(&["b.test"]);
    let b_crt = dir.path.join("b.pem");
    fs::write(&b_crt, &b.cert_pem).unwrap();
    write_private(&dir.path.join("b.pem.key"), &b.key_pem);
    let origin = echo_origin();
    let (pa, pb) = (free_port(), free_port());
    let frontend = |name: &str, port: u16, crt: &Path| {
        format!(
            "[frontend.{name}]\n\
             bind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{}\" }} }}]\n\
             default_backend = \"be\"\n\n",
            crt.display()
        )
    };
    let config = format!(
        "[global]\nlog = \"stderr\"\nnbproc = 2\nuser = \"nobody\"\ngroup = \"nogroup\"\n\
         chroot = \"{}\"\n\n\
         [defaults]\nmode = \"tcp\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\n{}{}\
         [backend.be]\nserver = [{{ name = \"s1\", address = \"{}\" }}]\n",
        jail.path.display(),
        frontend("fa", pa, &combined),
        frontend("fb", pb, &b_crt),
        origin.addr
    );
    let weir = Weir::start(&config);
    let workers = weir.wait_workers(2, DEADLINE);
    let jail_path = fs::canonicalize(&jail.path).unwrap();
    for &w in &workers {
        assert_eq!(procfs::root_dir(w), Some(jail_path.clone()), "worker {w}");
        assert_eq!(procfs::ids(w, "Uid"), vec![user.uid.as_raw(); 4]);
    }

    let client = tls_client::config(&ca.pem);
    // Enough connections to reach both workers.
    for i in 0..6 {
        for (port, sni) in [(pa, "a.test"), (pb, "b.test")] {
            let mut c = tls_client::connect(port, sni, &client)
                .unwrap_or_else(|e| panic!("handshake {i} with {sni}: {e}\n{}", weir.context()));
            assert_eq!(c.served_cn(), sni);
            let msg = format!("{sni} {i}");
            assert_eq!(c.echo(msg.as_bytes()).unwrap(), msg.as_bytes());
        }
    }

    // A renewed certificate, still 0600, picked up by a reload: the
    // master re-reads it as root, the new workers serve it.
    let renewed = ca.leaf(&["a.test"]);
    write_private(&combined, &renewed.combined());
    weir.signal(Signal::SIGUSR2);
    weir.wait_log("reload done (generation 1)", DEADLINE);
    let new_workers = weir.wait_workers(2, DEADLINE);
    for &w in &new_workers {
        assert_eq!(procfs::root_dir(w), Some(jail_path.clone()), "worker {w}");
        assert_eq!(procfs::ids(w, "Uid"), vec![user.uid.as_raw(); 4]);
    }
    // A new client (no session to resume: a resumed handshake carries no
    // certificate).
    let client = tls_client::config(&ca.pem);
    for i in 0..6 {
        let c = tls_client::connect(pa, "a.test", &client)
            .unwrap_or_else(|e| panic!("handshake {i} after the reload: {e}"));
        assert_eq!(c.served(), renewed.der(), "the renewed certificate");
    }

    // Nothing was written into the chroot, key material least of all.
    let inside: Vec<_> = fs::read_dir(&jail.path).unwrap().collect();
    assert!(inside.is_empty(), "the chroot holds {inside:?}");
    assert!(
        !weir.stderr().contains("PRIVATE KEY"),
        "key material in the log"
    );
}
