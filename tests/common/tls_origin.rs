//! A TLS origin that is not weir's own TLS stack: a Python `ssl` server
//! (OpenSSL underneath), started as a child process on a port of the
//! kernel's choosing and killed by pid when dropped. Two kinds: an HTTP
//! server that answers every request `200` with the body `tls origin`
//! and closes, and an echo server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const SCRIPT: &str = r#"
import socket, ssl, sys, threading
kind, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(128)
print(ls.getsockname()[1], flush=True)

def http(s):
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            return
        data += d
    body = b"tls origin\n"
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)

def echo(s):
    while True:
        d = s.recv(65536)
        if not d:
            return
        s.sendall(d)

def serve(c):
    try:
        s = ctx.wrap_socket(c, server_side=True)
        (http if kind == "http" else echo)(s)
        s.close()
    except Exception:
        c.close()

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// What the origin does with a connection.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Http,
    Echo,
}

/// A running TLS origin.
pub struct TlsOrigin {
    pub addr: SocketAddr,
    child: Child,
}

impl TlsOrigin {
    /// Serves `cert` (PEM chain) with `key`; `None` when `python3` is
    /// missing.
    pub fn start(kind: Kind, cert: &Path, key: &Path) -> Option<TlsOrigin> {
        let kind = match kind {
            Kind::Http => "http",
            Kind::Echo => "echo",
        };
        let mut child = Command::new("python3")
            .args(["-c", SCRIPT, kind])
            .arg(cert)
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut line));
        let port: Option<u16> = line.trim().parse().ok();
        match (read, port) {
            (Some(Ok(_)), Some(port)) => Some(TlsOrigin {
                addr: ([127, 0, 0, 1], port).into(),
                child,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the Python TLS origin did not start (its port: {line:?})");
            }
        }
    }
}

impl Drop for TlsOrigin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
