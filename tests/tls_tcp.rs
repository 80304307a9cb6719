//! TLS termination in TCP mode, at the edge where bytes arrive with the
//! handshake: a client that sends as soon as its handshake is done
//! (rustls, resuming its session, so that its Finished and its first
//! bytes often arrive in one segment and are read by the handshake
//! itself) is served every time, on one worker and on two.

mod common;

use common::origin::echo_origin;
use common::tls_certs::Ca;
use common::tls_client;
use common::weir::TempDir;
use common::{free_port, Weir};

fn echo_through(nbproc: usize, rounds: usize) {
    let dir = TempDir::new("tls-tcp");
    let ca = Ca::new("Weir Test CA");
    let crt = ca.leaf(&["a.test"]).write(&dir.path, "site.pem");
    let origin = echo_origin();
    let port = free_port();
    let config = format!(
        "[global]\nlog = \"stderr\"\nnbproc = {nbproc}\n\n\
         [defaults]\nmode = \"tcp\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\n\
         [frontend.fe]\n\
         bind = [{{ address = \"127.0.0.1:{port}\", tls = {{ crt = \"{}\" }} }}]\n\
         default_backend = \"be\"\n\n\
         [backend.be]\nserver = [{{ name = \"s1\", address = \"{}\" }}]\n",
        crt.display(),
        origin.addr
    );
    let _weir = Weir::start(&config);
    let client = tls_client::config(&ca.pem);
    let mut resumed = 0;
    for i in 0..rounds {
        let mut c = tls_client::connect(port, "a.test", &client).expect("handshake");
        resumed += usize::from(c.resumed());
        let msg = format!("round {i}");
        let back = c.echo(msg.as_bytes());
        assert_eq!(
            back.as_deref().ok(),
            Some(msg.as_bytes()),
            "round {i} (resumed: {}): {back:?}",
            c.resumed()
        );
    }
    assert!(resumed + 1 >= rounds, "sessions resumed: {resumed}");
}

#[test]
fn bytes_right_behind_the_handshake_are_forwarded() {
    echo_through(1, 200);
}

#[test]
fn bytes_right_behind_the_handshake_are_forwarded_by_two_workers() {
    echo_through(2, 200);
}
