//! Origins: real TCP servers on 127.0.0.1:0, one thread per connection, in
//! the test process. Dropping an [`Origin`] stops accepting and shuts down
//! its open connections, so its threads end.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// How long an origin's connection thread waits on a silent peer before it
/// gives up (bounds the life of every thread).
const IDLE: Duration = Duration::from_secs(30);

/// A running origin.
pub struct Origin {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Origin {
    /// Starts an origin that runs `handler` on every accepted connection.
    pub fn spawn(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> Origin {
        Origin::spawn_at("127.0.0.1:0", handler)
    }

    /// [`Origin::spawn`] on `addr` (another loopback address, such as
    /// `127.0.0.2:PORT`, for a server that DNS moves).
    pub fn spawn_at(addr: &str, handler: impl Fn(TcpStream) + Send + Sync + 'static) -> Origin {
        let listener = TcpListener::bind(addr).expect("origin: bind");
        let addr = listener.local_addr().expect("origin: local_addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        {
            let (accepted, stop, conns) = (accepted.clone(), stop.clone(), conns.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_read_timeout(Some(IDLE));
                    let _ = stream.set_write_timeout(Some(IDLE));
                    if let Ok(clone) = stream.try_clone() {
                        conns.lock().unwrap().push(clone);
                    }
                    let handler = handler.clone();
                    thread::spawn(move || handler(stream));
                }
            });
        }
        Origin {
            addr,
            accepted,
            stop,
            conns,
        }
    }

    /// How many connections this origin has accepted.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Echoes every byte back; when the peer half-closes, half-closes too.
pub fn echo_origin() -> Origin {
    Origin::spawn(|mut s| {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = s.shutdown(Shutdown::Write);
    })
}

/// Replies with `name` at once and closes its side (then waits for the peer
/// to close, so that the close is a clean FIN).
pub fn named_origin(name: &str) -> Origin {
    named_origin_at("127.0.0.1:0", name)
}

/// [`named_origin`] on `addr`.
pub fn named_origin_at(addr: &str, name: &str) -> Origin {
    let name = name.as_bytes().to_vec();
    Origin::spawn_at(addr, move |mut s| {
        let _ = s.write_all(&name);
        let _ = s.shutdown(Shutdown::Write);
        let _ = io::copy(&mut s, &mut io::sink());
    })
}

/// Reads until the peer half-closes, reports how many bytes it read on the
/// returned channel, then sends `reply` and closes.
pub fn sink_then_reply(reply: Vec<u8>) -> (Origin, Receiver<u64>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let reply = Arc::new(reply);
    let origin = Origin::spawn(move |mut s| {
        let n = io::copy(&mut s, &mut io::sink()).unwrap_or(0);
        let _ = tx.lock().unwrap().send(n);
        let _ = s.write_all(&reply);
        let _ = s.shutdown(Shutdown::Write);
    });
    (origin, rx)
}

/// Accepts, reads and discards everything, never replies: a server that
/// hangs after the connection is established.
pub fn silent_origin() -> Origin {
    Origin::spawn(|mut s| {
        let _ = io::copy(&mut s, &mut io::sink());
    })
}

/// An address where nothing listens: a socket bound to 127.0.0.1:0 but never
/// listening, held for the life of the value so that no one else can take
/// the port. Connecting to it is refused at once (RST).
pub struct DeadPort {
    pub addr: SocketAddr,
    _socket: Socket,
}

pub fn dead_port() -> DeadPort {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).expect("bind 127.0.0.1:0");
    let addr = socket
        .local_addr()
        .expect("local_addr")
        .as_socket()
        .expect("inet address");
    DeadPort {
        addr,
        _socket: socket,
    }
}

/// An address that never answers a SYN, so that connecting to it times out.
///
/// How: a listener with a backlog of 0 whose accept queue is filled with
/// connections nobody accepts. On Linux, `tcp_conn_request` drops an
/// incoming SYN while the listener's accept queue is full (whatever
/// `tcp_syncookies` says), so later connections stay in SYN-SENT and only
/// retransmit their SYN (after 1 s, 3 s, …): exactly a server that does not
/// answer. Unlike an unroutable address, this needs no route and works on
/// loopback in any container. The constructor checks that the trick took: a
/// probe connection must time out.
pub struct Blackhole {
    pub addr: SocketAddr,
    _listener: Socket,
    _fillers: Vec<Socket>,
}

pub fn blackhole() -> Blackhole {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).expect("bind");
    listener.listen(0).expect("listen(0)");
    let addr = listener
        .local_addr()
        .expect("local_addr")
        .as_socket()
        .expect("inet address");
    let mut fillers = Vec::new();
    // backlog 0 admits one queued connection (the queue is full when its
    // length is *greater* than the backlog); fill it, allowing a few in case
    // the kernel admits more.
    for _ in 0..8 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        match s.connect_timeout(&addr.into(), Duration::from_millis(300)) {
            Ok(()) => fillers.push(s),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                return Blackhole {
                    addr,
                    _listener: listener,
                    _fillers: fillers,
                };
            }
            Err(e) => panic!("blackhole: unexpected error filling the accept queue: {e}"),
        }
    }
    panic!("blackhole: the accept queue of a backlog-0 listener never filled; this kernel does not drop SYNs on a full queue")
}
