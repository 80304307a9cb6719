//! An HTTP/1.1 origin in the test process: it parses each request (head and
//! body, Content-Length or chunked), remembers it ([`Seen`]), and answers
//! according to the target, by default with a plain-text report of what it
//! saw ([`Report`]). Keep-alive, `Expect: 100-continue`, HEAD/204/304,
//! close-delimited and chunked responses with trailers, a WebSocket echo
//! after a 101, and CONNECT tunnels are supported.
//!
//! Targets (path, then `?k=v&…`):
//!
//! | path | answer |
//! |---|---|
//! | anything else | 200, the report as a Content-Length body |
//! | `/status/NNN` | status NNN, the report as body unless 1xx/204/304 |
//! | `/download?bytes=N&seed=S` | 200, N bytes of [`Payload`] S, Content-Length |
//! | `/chunked?bytes=N&seed=S&chunk=K` | 200, the same bytes chunked by K, with trailers `X-Trailer-Hash` and `X-Trailer-Chunks` |
//! | `/close?bytes=N&seed=S` | 200 without length: the body ends with the connection |
//! | `/delay?ms=M` | the report after M ms (and counts a next request already sent: [`HttpOrigin::overlaps`]) |
//! | `/ws` with `Upgrade: websocket` | 101, then echoes WebSocket frames |
//! | `CONNECT` | 200, then echoes bytes |
//! | `/resp-hop` | the report with hop-by-hop fields in the response |
//! | `/garbage` | bytes that are no HTTP, then closes |
//! | `/hangup` | closes without answering |
//! | `/silent` | never answers; reads until the peer closes |
//!
//! A query parameter `close=1` makes any answer close the connection;
//! `quit=1` answers as keep-alive, then closes the connection anyway (a
//! server closing an idle connection just after its answer).
//! Every answer carries `Server: weir-test-origin`, `X-Origin: NAME`,
//! `X-Conn: C` (the origin's connection number, from 1) and `X-Req: K`
//! (the request's number on that connection, from 1).

use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::client::Payload;
use super::http_wire::{has_token, parse_head, values, BufConn, Hash64, MAX_HEAD};
use super::origin::Origin;

/// A request as the origin received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The origin's connection number (from 1) and the request's number on
    /// that connection (from 1).
    pub conn: usize,
    pub req: usize,
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub chunked: bool,
    pub body_len: u64,
    /// [`Hash64`] of the body's data, and of its bytes as received (the
    /// same unless chunked).
    pub body_hash: String,
    pub raw_body_hash: String,
    /// The body itself, when it is at most 64 KiB.
    pub body: Option<Vec<u8>>,
    pub trailers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        values(&self.headers, name).first().copied()
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        values(&self.headers, name)
    }
}

struct Shared {
    name: String,
    seen: Mutex<Vec<Seen>>,
    next_conn: AtomicUsize,
    overlaps: AtomicUsize,
    bad_requests: AtomicUsize,
}

/// A running HTTP origin; see the module doc.
pub struct HttpOrigin {
    origin: Origin,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl HttpOrigin {
    /// Starts an origin that names itself `name` in its answers.
    pub fn start(name: &str) -> HttpOrigin {
        let shared = Arc::new(Shared {
            name: name.to_string(),
            seen: Mutex::new(Vec::new()),
            next_conn: AtomicUsize::new(0),
            overlaps: AtomicUsize::new(0),
            bad_requests: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let origin = Origin::spawn(move |stream| {
            let conn = s.next_conn.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = serve(stream, conn, &s);
        });
        HttpOrigin {
            addr: origin.addr,
            origin,
            shared,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.origin.accepted()
    }

    /// Every complete request received so far, in order of completion.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The targets of [`HttpOrigin::seen`].
    pub fn seen_targets(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.target).collect()
    }

    /// How many times a request arrived on a connection before the answer
    /// to the previous one was sent (weir must not pipeline to a server).
    pub fn overlaps(&self) -> usize {
        self.shared.overlaps.load(Ordering::SeqCst)
    }

    /// Heads the origin could not make sense of (weir sent garbage).
    pub fn bad_requests(&self) -> usize {
        self.shared.bad_requests.load(Ordering::SeqCst)
    }
}

/// The query parameters of a target.
fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn num(q: &BTreeMap<String, String>, key: &str, default: u64) -> u64 {
    q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}

fn serve(stream: TcpStream, conn: usize, sh: &Shared) -> io::Result<()> {
    let mut c = BufConn::new(stream);
    let mut req_no = 0;
    loop {
        let Some(head) = c.read_head(MAX_HEAD)? else {
            return Ok(());
        };
        req_no += 1;
        let (line, headers) = parse_head(&head);
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() != 3 || !parts[2].starts_with("HTTP/1.") {
            sh.bad_requests.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        let (method, target, version) = (parts[0], parts[1], parts[2]);
        let q = query(target);
        let path = target.split('?').next().unwrap_or("");

        if version == "HTTP/1.1" && has_token(&headers, "Expect", "100-continue") {
            c.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }

        // The body.
        let chunked = has_token(&headers, "Transfer-Encoding", "chunked");
        let mut data = Hash64::new();
        let mut raw = Hash64::new();
        let mut kept = Vec::new();
        let mut keep = |b: &[u8]| {
            if kept.len() + b.len() <= 64 * 1024 {
                kept.extend_from_slice(b);
            }
        };
        let mut trailers = Vec::new();
        if chunked {
            trailers = c.read_chunked(
                |b| {
                    data.update(b);
                    keep(b);
                },
                |b| raw.update(b),
            )?;
        } else if let Some(cl) = values(&headers, "Content-Length").first() {
            let Ok(n) = cl.split(',').next().unwrap_or("").trim().parse::<u64>() else {
                sh.bad_requests.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            };
            c.take(n, |b| {
                data.update(b);
                raw.update(b);
                keep(b);
            })?;
        }
        let seen = Seen {
            conn,
            req: req_no,
            method: method.to_string(),
            target: target.to_string(),
            version: version.to_string(),
            headers: headers.clone(),
            chunked,
            body_len: data.len(),
            body_hash: data.hex(),
            raw_body_hash: raw.hex(),
            body: (data.len() <= 64 * 1024).then_some(kept),
            trailers,
        };
        sh.seen.lock().unwrap().push(seen.clone());

        let close = q.get("close").is_some_and(|v| v == "1")
            || has_token(&headers, "Connection", "close")
            || (version == "HTTP/1.0" && !has_token(&headers, "Connection", "keep-alive"));
        let mut common = vec![
            ("Server".to_string(), "weir-test-origin".to_string()),
            ("X-Origin".to_string(), sh.name.clone()),
            ("X-Conn".to_string(), conn.to_string()),
            ("X-Req".to_string(), req_no.to_string()),
        ];
        if close {
            common.push(("Connection".into(), "close".into()));
        } else if version == "HTTP/1.0" {
            common.push(("Connection".into(), "keep-alive".into()));
        }
        let head_req = method == "HEAD";

        if method == "CONNECT" {
            c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            return echo_bytes(c);
        }
        match path {
            "/ws" if has_token(&headers, "Upgrade", "websocket") => {
                let key = values(&headers, "Sec-WebSocket-Key")
                    .first()
                    .copied()
                    .unwrap_or("");
                let mut h = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: {}\r\n",
                    ws_accept(key)
                );
                for (n, v) in &common {
                    h.push_str(&format!("{n}: {v}\r\n"));
                }
                h.push_str("\r\n");
                c.write_all(h.as_bytes())?;
                return ws_echo(c);
            }
            "/garbage" => {
                c.write_all(b"this is not HTTP at all\r\n\r\n")?;
                let _ = c.stream.shutdown(Shutdown::Both);
                return Ok(());
            }
            "/hangup" => {
                let _ = c.stream.shutdown(Shutdown::Both);
                return Ok(());
            }
            "/silent" => {
                return c.take_to_eof(|_| {});
            }
            "/download" => {
                let n = num(&q, "bytes", 0);
                let seed = num(&q, "seed", 1);
                let mut h = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n");
                push_fields(&mut h, &common);
                c.write_all(h.as_bytes())?;
                if !head_req {
                    write_payload(&mut c.stream, seed, n)?;
                }
            }
            "/chunked" => {
                let n = num(&q, "bytes", 0);
                let seed = num(&q, "seed", 1);
                let chunk = num(&q, "chunk", 1000).max(1);
                let mut h = String::from(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer-Hash, X-Trailer-Chunks\r\n",
                );
                push_fields(&mut h, &common);
                c.write_all(h.as_bytes())?;
                if !head_req {
                    write_chunked(&mut c.stream, seed, n, chunk)?;
                }
            }
            "/close" => {
                let n = num(&q, "bytes", 0);
                let seed = num(&q, "seed", 1);
                let mut h = String::from("HTTP/1.1 200 OK\r\n");
                push_fields(
                    &mut h,
                    &common
                        .iter()
                        .filter(|(n, _)| n != "Connection")
                        .cloned()
                        .chain([("Connection".to_string(), "close".to_string())])
                        .collect::<Vec<_>>(),
                );
                c.write_all(h.as_bytes())?;
                write_payload(&mut c.stream, seed, n)?;
                let _ = c.stream.shutdown(Shutdown::Write);
                return c.take_to_eof(|_| {});
            }
            _ => {
                if path == "/delay" {
                    thread::sleep(Duration::from_millis(num(&q, "ms", 100)));
                    if pending_input(&mut c) {
                        sh.overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let status = path
                    .strip_prefix("/status/")
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(200);
                let body = report(&sh.name, &seen);
                let mut fields = common.clone();
                if path == "/resp-hop" {
                    fields.retain(|(n, _)| n != "Connection");
                    let conn = if close {
                        "close, X-Resp-Hop"
                    } else {
                        "keep-alive, X-Resp-Hop"
                    };
                    fields.push(("Connection".into(), conn.into()));
                    fields.push(("X-Resp-Hop".into(), "1".into()));
                    fields.push(("Keep-Alive".into(), "timeout=5".into()));
                    fields.push(("X-Resp-Normal".into(), "1".into()));
                }
                let bodiless = status < 200 || status == 204 || status == 304;
                let mut h = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                if !bodiless || status == 304 {
                    h.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                h.push_str("Content-Type: text/plain\r\n");
                push_fields(&mut h, &fields);
                let mut out = h.into_bytes();
                if !bodiless && !head_req {
                    out.extend_from_slice(body.as_bytes());
                }
                c.write_all(&out)?;
            }
        }
        if close {
            let _ = c.stream.shutdown(Shutdown::Write);
            return c.take_to_eof(|_| {});
        }
        if q.get("quit").is_some_and(|v| v == "1") {
            let _ = c.stream.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

fn push_fields(h: &mut String, fields: &[(String, String)]) {
    for (n, v) in fields {
        h.push_str(&format!("{n}: {v}\r\n"));
    }
    h.push_str("\r\n");
}

/// Whether bytes of another request already wait on the connection.
fn pending_input(c: &mut BufConn) -> bool {
    if !c.buffered().is_empty() {
        return true;
    }
    let mut b = [0u8; 1];
    let _ = c.stream.set_nonblocking(true);
    let got = matches!(c.stream.peek(&mut b), Ok(n) if n > 0);
    let _ = c.stream.set_nonblocking(false);
    got
}

/// The body of a default answer: `key=value` lines, then one `header=` line
/// per request field and one `trailer=` line per trailer.
pub fn report(name: &str, s: &Seen) -> String {
    let mut r = format!(
        "origin={name}\nconn={}\nreq={}\nmethod={}\ntarget={}\nversion={}\nchunked={}\n\
         body_len={}\nbody_hash={}\nraw_body_hash={}\n",
        s.conn,
        s.req,
        s.method,
        s.target,
        s.version,
        u8::from(s.chunked),
        s.body_len,
        s.body_hash,
        s.raw_body_hash
    );
    for (n, v) in &s.headers {
        r.push_str(&format!("header={n}: {v}\n"));
    }
    for (n, v) in &s.trailers {
        r.push_str(&format!("trailer={n}: {v}\n"));
    }
    r
}

/// A parsed report, as the client reads it from a default answer.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub fields: BTreeMap<String, String>,
    pub headers: Vec<(String, String)>,
    pub trailers: Vec<(String, String)>,
}

impl Report {
    pub fn parse(body: &[u8]) -> Report {
        let mut r = Report::default();
        for line in String::from_utf8_lossy(body).lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let field = || {
                let (n, v) = v.split_once(':').unwrap_or((v, ""));
                (n.to_string(), v.trim().to_string())
            };
            match k {
                "header" => r.headers.push(field()),
                "trailer" => r.trailers.push(field()),
                _ => {
                    r.fields.insert(k.to_string(), v.to_string());
                }
            }
        }
        r
    }

    /// A `key=value` field (`""` if absent).
    pub fn get(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        values(&self.headers, name).first().copied()
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        values(&self.headers, name)
    }
}

/// Writes `n` bytes of the payload stream `seed`.
fn write_payload(w: &mut impl Write, seed: u64, mut n: u64) -> io::Result<()> {
    let mut gen = Payload::new(seed);
    let mut buf = vec![0u8; 256 * 1024];
    while n > 0 {
        let k = (buf.len() as u64).min(n) as usize;
        gen.fill(&mut buf[..k]);
        w.write_all(&buf[..k])?;
        n -= k as u64;
    }
    Ok(())
}

/// The chunked body `/chunked` sends: `n` payload bytes in chunks of
/// `chunk`, then the trailers. Also what a client expects, byte for byte.
pub fn chunked_body(seed: u64, n: u64, chunk: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_chunked(&mut out, seed, n, chunk).unwrap();
    out
}

fn write_chunked(w: &mut impl Write, seed: u64, mut n: u64, chunk: u64) -> io::Result<()> {
    let mut gen = Payload::new(seed);
    let mut hash = Hash64::new();
    let mut chunks = 0;
    let mut buf = vec![0u8; chunk.min(1 << 20) as usize];
    while n > 0 {
        let k = (buf.len() as u64).min(n) as usize;
        gen.fill(&mut buf[..k]);
        hash.update(&buf[..k]);
        let mut piece = format!("{k:x}\r\n").into_bytes();
        piece.extend_from_slice(&buf[..k]);
        piece.extend_from_slice(b"\r\n");
        w.write_all(&piece)?;
        n -= k as u64;
        chunks += 1;
    }
    let end = format!(
        "0\r\nX-Trailer-Hash: {}\r\nX-Trailer-Chunks: {chunks}\r\n\r\n",
        hash.hex()
    );
    w.write_all(end.as_bytes())
}

/// After a CONNECT: echoes every byte until EOF.
fn echo_bytes(mut c: BufConn) -> io::Result<()> {
    let mut out = c.stream.try_clone()?;
    c.take_to_eof(|b| {
        let _ = out.write_all(b);
    })?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(())
}

/// After a 101: reads WebSocket frames and sends each payload back in an
/// unmasked frame with the same opcode; a close frame is answered and ends
/// the connection.
fn ws_echo(mut c: BufConn) -> io::Result<()> {
    loop {
        let mut hdr = Vec::new();
        if c.buffered().is_empty() && !c.fill()? {
            return Ok(());
        }
        c.take(2, |b| hdr.extend_from_slice(b))?;
        let opcode = hdr[0] & 0x0f;
        let masked = hdr[1] & 0x80 != 0;
        let mut len = u64::from(hdr[1] & 0x7f);
        if len >= 126 {
            let n = if len == 126 { 2 } else { 8 };
            let mut ext = Vec::new();
            c.take(n, |b| ext.extend_from_slice(b))?;
            len = ext.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        }
        let mut mask = Vec::new();
        if masked {
            c.take(4, |b| mask.extend_from_slice(b))?;
        }
        let mut payload = Vec::new();
        c.take(len, |b| payload.extend_from_slice(b))?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        c.write_all(&ws_frame(opcode, &payload, None))?;
        if opcode == 8 {
            let _ = c.stream.shutdown(Shutdown::Write);
            return Ok(());
        }
    }
}

/// A final WebSocket frame, masked with `mask` if given (clients mask).
pub fn ws_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xffff => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            f.extend_from_slice(&k);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

/// Reads one WebSocket frame from the server side: (opcode, payload).
pub fn read_ws_frame(c: &mut BufConn) -> io::Result<(u8, Vec<u8>)> {
    let mut hdr = Vec::new();
    c.take(2, |b| hdr.extend_from_slice(b))?;
    if hdr[1] & 0x80 != 0 {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            "server frame is masked",
        ));
    }
    let mut len = u64::from(hdr[1] & 0x7f);
    if len >= 126 {
        let n = if len == 126 { 2 } else { 8 };
        let mut ext = Vec::new();
        c.take(n, |b| ext.extend_from_slice(b))?;
        len = ext.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
    }
    let mut payload = Vec::new();
    c.take(len, |b| payload.extend_from_slice(b))?;
    Ok((hdr[0] & 0x0f, payload))
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2):
/// base64(SHA-1(key + GUID)).
pub fn ws_accept(key: &str) -> String {
    let digest = sha1(format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes());
    base64(&digest)
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
