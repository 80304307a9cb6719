//! The typed logging settings: where lines go ([`LogTarget`], per proxy
//! [`ProxyLog`]), their layout ([`LogFormat`], compiled at load), the
//! headers captured for them ([`HeaderCapture`]), and the error pages
//! loaded from `errorfile` ([`ErrorFiles`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::log::format::Format;

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogTarget {
    Stderr,
    Stdout,
    /// RFC 3164 syslog datagrams.
    Udp(SocketAddr),
    /// RFC 3164 syslog datagrams to a unix datagram socket (e.g. /dev/log).
    Unix(PathBuf),
}

/// Syslog severities, most severe first (the numeric value is the severity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// The per-session (TCP) or per-request (HTTP) log line layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    /// HAProxy's `tcplog`.
    TcpLog,
    /// HAProxy's `httplog`.
    HttpLog,
    /// HAProxy 2.6's `httpslog`: `httplog` and the TLS fields.
    HttpsLog,
    /// One JSON object per line (docs/logs.md).
    Json,
    /// A string of HAProxy `%` aliases, compiled.
    Custom(Arc<Format>),
}

/// A proxy's own `log`: its traffic lines go to these targets instead of
/// the global ones (and to the global ones too with `"global"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyLog {
    /// `"global"` is among the targets.
    pub global: bool,
    pub targets: Vec<LogTarget>,
    /// For `targets` (the global ones keep the global settings).
    pub facility: u8,
    pub level: LogLevel,
}

/// One `capture_request_header` / `capture_response_header` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderCapture {
    /// As written (JSON keys use it); matched case-insensitively.
    pub name: String,
    /// The longest value logged, in bytes (longer ones are cut).
    pub len: usize,
}

/// `errorfile`: responses weir sends, as they are, instead of its own
/// pages for these statuses. Read and checked at load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorFiles {
    /// By status, each at most once.
    pub pages: Vec<ErrorFile>,
}

/// One `errorfile` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFile {
    pub status: u16,
    pub path: PathBuf,
    /// The whole response: status line, header fields, body.
    pub bytes: Arc<[u8]>,
}

impl ErrorFiles {
    /// The response for `status`, if a file gives one.
    pub fn get(&self, status: u16) -> Option<&[u8]> {
        self.pages
            .iter()
            .find(|p| p.status == status)
            .map(|p| &p.bytes[..])
    }

    /// These pages over `base`: an entry here replaces base's for its
    /// status (a proxy's over `[defaults]`).
    pub fn over(&self, base: &ErrorFiles) -> ErrorFiles {
        let mut pages = self.pages.clone();
        for p in &base.pages {
            if !pages.iter().any(|q| q.status == p.status) {
                pages.push(p.clone());
            }
        }
        pages.sort_by_key(|p| p.status);
        ErrorFiles { pages }
    }
}
