//! HTTP/2 from the tests: the scripted peer `tests/h2_peer.py` (Debian's
//! python3-h2 pieces, run by `/usr/bin/python3`, not a pyenv one) and what
//! it saw ([`PeerOut`]), curl in HTTP/2, a self-signed certificate for TLS
//! binds, and `show info` figures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::ci;

/// Debian's python, which has python3-h2 (the one on `PATH` may not).
pub const PYTHON: &str = "/usr/bin/python3";

/// The scripted peer.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/h2_peer.py")
}

/// Whether python3-h2 and the `tools` are here; if not, the test skips
/// (fails under CI) and the caller returns.
pub fn have(tools: &[&str]) -> bool {
    let py = Command::new(PYTHON)
        .args(["-c", "import h2, hpack, hyperframe"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !py {
        ci::skip("python3-h2 is not installed (make deps)");
        return false;
    }
    let missing = ci::missing_commands(tools);
    if !missing.is_empty() {
        ci::skip(&format!("missing {missing:?} (make deps)"));
        return false;
    }
    true
}

/// What the peer saw of weir.
#[derive(Debug, Default, Clone)]
pub struct PeerOut {
    pub settings: BTreeMap<u16, u32>,
    pub heads: BTreeMap<u32, Vec<(String, String)>>,
    pub trailers: BTreeMap<u32, Vec<(String, String)>>,
    pub data: BTreeMap<u32, u64>,
    pub rst: BTreeMap<u32, u32>,
    /// (last stream id, code, debug data), in order.
    pub goaways: Vec<(u32, u32, String)>,
    pub ended: Vec<u32>,
    /// Connection-level WINDOW_UPDATE increments, summed.
    pub window: u64,
    pub closed: bool,
    /// Every line, for failure messages.
    pub text: String,
}

/// Error codes (RFC 9113 §7).
pub const NO_ERROR: u32 = 0;
pub const PROTOCOL_ERROR: u32 = 1;
pub const INTERNAL_ERROR: u32 = 2;
pub const FLOW_CONTROL_ERROR: u32 = 3;
pub const STREAM_CLOSED: u32 = 5;
pub const FRAME_SIZE_ERROR: u32 = 6;
pub const REFUSED_STREAM: u32 = 7;
pub const COMPRESSION_ERROR: u32 = 9;
pub const ENHANCE_YOUR_CALM: u32 = 11;

impl PeerOut {
    pub fn parse(text: &str) -> PeerOut {
        let mut o = PeerOut {
            text: text.to_string(),
            ..PeerOut::default()
        };
        for line in text.lines() {
            let mut w = line.splitn(2, ' ');
            let (kind, rest) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
            let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
            let mut f = rest.splitn(3, ' ');
            let (a, b, c) = (
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
            );
            match kind {
                "settings" => {
                    o.settings.insert(num(a) as u16, num(b) as u32);
                }
                "head" | "trailer" => {
                    let map = if kind == "head" {
                        &mut o.heads
                    } else {
                        &mut o.trailers
                    };
                    map.entry(num(a) as u32)
                        .or_default()
                        .push((b.to_string(), c.to_string()));
                }
                "data" => {
                    o.data.insert(num(a) as u32, num(b));
                }
                "rst" => {
                    o.rst.insert(num(a) as u32, num(b) as u32);
                }
                "goaway" => o
                    .goaways
                    .push((num(a) as u32, num(b) as u32, c.to_string())),
                "ended" => o.ended.push(num(a) as u32),
                "window" => o.window = num(a),
                "closed" => o.closed = a == "1",
                _ => {}
            }
        }
        o
    }

    /// The response status of a stream.
    pub fn status(&self, stream: u32) -> Option<u16> {
        self.field(stream, ":status").and_then(|s| s.parse().ok())
    }

    /// A field of a stream's response head.
    pub fn field(&self, stream: u32, name: &str) -> Option<&str> {
        self.heads
            .get(&stream)?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last GOAWAY's code.
    pub fn goaway_code(&self) -> Option<u32> {
        self.goaways.last().map(|g| g.1)
    }
}

/// Runs scenario `name` of the peer against `port` and returns what it saw.
pub fn peer(name: &str, port: u16, args: &[&str]) -> PeerOut {
    let out = Command::new(PYTHON)
        .arg(script())
        .arg(name)
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        out.status.success(),
        "h2_peer.py {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PeerOut::parse(&String::from_utf8_lossy(&out.stdout))
}

/// A peer running in the background: its first line (`sent`) is read
/// before this returns; [`Running::finish`] collects the rest.
pub struct Running {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Running {
    pub fn start(name: &str, port: u16, args: &[&str]) -> Running {
        let mut child = Command::new(PYTHON)
            .arg(script())
            .arg(name)
            .arg(port.to_string())
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run /usr/bin/python3");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        let _ = out.read_line(&mut first);
        assert_eq!(first.trim(), "sent", "h2_peer.py {name} started");
        Running { child, out }
    }

    pub fn finish(mut self) -> PeerOut {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut self.out, &mut text);
        let _ = self.child.wait();
        PeerOut::parse(&text)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for 127.0.0.1 and `localhost`, with its key,
/// in one PEM file at `path`.
pub fn write_cert(path: &Path) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let p = rcgen::CertificateParams::new(names).expect("params");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("cert");
    std::fs::write(path, format!("{}{}", cert.pem(), key.serialize_pem())).expect("write pem");
}

/// One figure of `show info`.
pub fn info(sock: &Path, key: &str) -> Option<u64> {
    let text = super::runtime::command(sock, "show info")?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .and_then(|v| v.trim().parse().ok())
}
