//! The TLS transport: rustls driven from the worker's loop, with no
//! thread and no async runtime (rustls's own `tlsserver-mio` shape).
//!
//! Reads deliver plaintext rustls has decrypted; when it has none, one
//! read of records from the socket, then `process_new_packets`, then again.
//! Writes hand plaintext to rustls and write the records it makes at once,
//! as long as the socket takes them: a write that takes less than it was
//! offered means the socket is full, as for a plain socket. The handshake
//! happens inside those calls (its records go out with the next flush), so
//! the layers above see a connection that has nothing to read until it is
//! done.
//!
//! What differs from a plain socket, and how the layers above learn it:
//!
//! - bytes can wait inside rustls: decrypted ones (a short read drained
//!   the socket only if the last socket read was itself short,
//!   [`Tls::short_read_drains`]) and encrypted ones not yet written
//!   ([`Tls::flushed`]): a response is sent only once they have left, and
//!   the poller's "writable" flushes them ([`super::Conn::on_event`]);
//! - no splice: bytes must pass through user space to be encrypted.
//!
//! A TLS connection to a server counts itself in the service's
//! `CurrSslConns` from its completed handshake until it is dropped
//! ([`count_server_handshake`]), wherever it is by then (a stream, kept by
//! a client connection, parked in the idle pool); client connections are
//! counted by the session that accepted them.
//!
//! Memory: rustls keeps a 4 KiB read buffer per connection while idle;
//! its write buffer is bounded by [`WRITE_LIMIT`] (the most a slow reader
//! makes weir hold, as a plain connection's channel buffer).

use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::sync::Arc;
use weir_core::shm::{GaugeWord, GlGauge, SharedState, Side};

/// Encrypted bytes rustls may hold for a peer that does not read.
pub const WRITE_LIMIT: usize = 64 * 1024;

/// A TLS connection over a TCP socket.
pub struct Tls {
    pub(super) sock: TcpStream,
    conn: rustls::Connection,
    /// The last read from the socket returned less than it asked for (or
    /// nothing): its receive queue was empty.
    drained: bool,
    /// The handshake failed or a record was bad: the error, reported by
    /// every read and write from then on.
    failed: Option<rustls::Error>,
    /// Our write side is to be shut once every record has left (the FIN
    /// must follow the close_notify, never overtake pending records).
    shut_pending: bool,
    /// Our close_notify is made (it may still wait to be written).
    notified: bool,
    /// The gauge this connection counts itself in while it lives.
    counted: Option<GaugeWord>,
    /// The last records processed left something to read: plaintext, or
    /// the peer's close_notify.
    readable_inside: bool,
}

/// What the handshake agreed on, for logs and statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1.2`, `TLSv1.3`.
    pub version: Option<&'static str>,
    /// The IANA name of the cipher suite.
    pub cipher: Option<&'static str>,
    /// The session was resumed (ticket or session ID).
    pub resumed: bool,
}

/// Counts whether a socket read came back short.
struct Watch<'a> {
    sock: &'a mut TcpStream,
    drained: &'a mut bool,
}

impl Read for Watch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = self.sock.read(buf);
        *self.drained = match &res {
            Ok(n) => *n < buf.len(),
            Err(e) => e.kind() == ErrorKind::WouldBlock,
        };
        res
    }
}

impl Tls {
    /// The server side of an accepted connection.
    pub fn server(sock: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<Tls> {
        let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Tls::new(sock, conn.into()))
    }

    /// The client side of a connection to a server.
    pub fn client(
        sock: TcpStream,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<Tls> {
        let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Tls::new(sock, conn.into()))
    }

    fn new(sock: TcpStream, mut conn: rustls::Connection) -> Tls {
        conn.set_buffer_limit(Some(WRITE_LIMIT));
        Tls {
            sock,
            conn,
            drained: false,
            failed: None,
            shut_pending: false,
            notified: false,
            counted: None,
            readable_inside: false,
        }
    }

    fn failure(e: &rustls::Error) -> io::Error {
        io::Error::new(ErrorKind::InvalidData, e.clone())
    }

    /// Reads plaintext. `Ok(0)` is the end of the stream (the peer's
    /// close_notify, or its EOF); `WouldBlock` while the handshake runs or
    /// no record is complete.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(Tls::failure(e));
        }
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // The peer closed without close_notify: an end all the same
                // (HTTP framing tells a truncated message).
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            let mut watch = Watch {
                sock: &mut self.sock,
                drained: &mut self.drained,
            };
            match self.conn.read_tls(&mut watch) {
                Ok(0) => {
                    // The socket's EOF: whatever was decrypted has been
                    // read; the reader now says how the stream ended.
                    return match self.conn.reader().read(buf) {
                        Ok(n) => Ok(n),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(0),
                        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(0),
                        Err(e) => Err(e),
                    };
                }
                Ok(_) => {
                    if let Err(e) = self.conn.process_new_packets() {
                        // Send the alert rustls queued, if the socket takes it.
                        let _ = self.flush();
                        let err = Tls::failure(&e);
                        self.failed = Some(e);
                        return Err(err);
                    }
                    self.flush()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes plaintext: as much as rustls takes and the socket takes its
    /// records. `WouldBlock` when nothing could be taken.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Writes the slices in order, the records of all of them leaving in
    /// as few socket writes as the socket allows.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(Tls::failure(e));
        }
        let mut total = 0;
        for b in bufs {
            let mut off = 0;
            while off < b.len() {
                let n = self.conn.writer().write(&b[off..])?;
                off += n;
                total += n;
                if n == 0 && !self.flush()? {
                    // rustls is full and the socket takes no more.
                    return if total == 0 {
                        Err(ErrorKind::WouldBlock.into())
                    } else {
                        Ok(total)
                    };
                }
            }
        }
        self.flush()?;
        Ok(total)
    }

    /// Writes the records rustls holds while the socket takes them;
    /// `true` once none is left.
    pub fn flush(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if std::mem::take(&mut self.shut_pending) {
            self.sock.shutdown(std::net::Shutdown::Write)?;
        }
        Ok(true)
    }

    /// Whether every record made so far has been written.
    pub fn flushed(&self) -> bool {
        !self.conn.wants_write()
    }

    /// Whether a read that filled less than its buffer left nothing to
    /// read: no plaintext waiting in rustls and the socket's queue empty.
    pub fn short_read_drains(&self) -> bool {
        self.drained
    }

    /// The end of what we send: a close_notify, written with what is
    /// pending, then the socket's write side.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        if self.notified {
            return Ok(());
        }
        self.notified = true;
        self.conn.send_close_notify();
        self.shut_pending = true;
        self.flush().map(|_| ())
    }

    /// Before a clean close: the close_notify, unless it was sent already
    /// or the connection never got past its handshake or failed (no alert
    /// then: a truncation is what the peer must see). Written if the
    /// socket takes it now; never waited for.
    pub fn close_notify(&mut self) {
        if self.notified || self.failed.is_some() || self.conn.is_handshaking() {
            return;
        }
        let _ = self.shutdown_write();
    }

    /// Drives the handshake without reading application data: writes
    /// what it has to say, reads and processes what came. `true` once it
    /// is done; an error if it failed.
    pub fn handshake(&mut self) -> io::Result<bool> {
        if let Some(e) = &self.failed {
            return Err(Tls::failure(e));
        }
        self.flush()?;
        while self.conn.is_handshaking() && self.conn.wants_read() {
            let mut watch = Watch {
                sock: &mut self.sock,
                drained: &mut self.drained,
            };
            match self.conn.read_tls(&mut watch) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(_) => {
                    match self.conn.process_new_packets() {
                        Ok(state) => {
                            self.readable_inside =
                                state.plaintext_bytes_to_read() > 0 || state.peer_has_closed();
                        }
                        Err(e) => {
                            let _ = self.flush();
                            let err = Tls::failure(&e);
                            self.failed = Some(e);
                            return Err(err);
                        }
                    }
                    self.flush()?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(!self.conn.is_handshaking())
    }

    /// Whether the records the handshake read held more than the
    /// handshake: application data the peer sent right after its last
    /// handshake message (or its close_notify). The socket may then be
    /// drained already, so no poller event will say there is something to
    /// read: the connection must be read all the same.
    pub fn readable_inside(&self) -> bool {
        self.readable_inside
    }

    /// Whether the handshake is still going on.
    pub fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The protocol the handshake chose with ALPN.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// What the handshake agreed on.
    pub fn negotiated(&self) -> Negotiated {
        let version = self.conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            _ => "TLS",
        });
        let cipher = self
            .conn
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str());
        let resumed = self.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        Negotiated {
            version,
            cipher,
            resumed,
        }
    }

    /// The server name a client asked for (SNI), on an accepted
    /// connection.
    pub fn sni(&self) -> Option<&str> {
        match &self.conn {
            rustls::Connection::Server(c) => c.server_name(),
            rustls::Connection::Client(_) => None,
        }
    }

    /// Why the connection failed, if it did.
    pub fn error(&self) -> Option<&rustls::Error> {
        self.failed.as_ref()
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        if let Some(g) = self.counted.take() {
            g.down();
        }
    }
}

/// Counts the completed handshake of `conn`, a connection to a server:
/// one more TLS connection made with a server (resumed or full), and one
/// more open until the connection is dropped. Nothing for a plain
/// connection, or one already counted.
pub fn count_server_handshake(conn: &mut super::Conn, shared: &SharedState, worker: usize) {
    let super::Transport::Tls(t) = &mut conn.transport else {
        return;
    };
    if t.counted.is_some() || t.handshaking() {
        return;
    }
    let resumed = t.negotiated().resumed;
    shared.count_handshake(Side::Server, resumed, weir_core::shm::unix_now_ms());
    let g = shared.gauge_word(GlGauge::SslConns, worker);
    g.up();
    t.counted = Some(g);
}
