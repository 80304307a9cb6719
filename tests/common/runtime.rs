//! The runtime API (`global.stats_socket`) from the test process, for tests
//! that wait on weir's own counters (`show stat`) rather than on time.
//! `tests/runtime_api.rs` drives the same socket with socat, as an operator.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::client::IO_TIMEOUT;

/// Sends one command and returns the whole answer (weir closes the
/// connection after it); `None` if the socket cannot be used (yet).
pub fn command(sock: &Path, command: &str) -> Option<String> {
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    s.write_all(format!("{command}\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// One figure of `show stat`: the `field` column (e.g. `stot`) of the row
/// `pxname,svname` (e.g. `be,BACKEND`); `None` if the socket does not
/// answer, or the row, column or figure is not there.
pub fn stat(sock: &Path, pxname: &str, svname: &str, field: &str) -> Option<u64> {
    stat_text(sock, pxname, svname, field)?.parse().ok()
}

/// One field of `show stat` as text (e.g. `check_status`).
pub fn stat_text(sock: &Path, pxname: &str, svname: &str, field: &str) -> Option<String> {
    let text = command(sock, "show stat")?;
    let mut lines = text.lines();
    let header = lines.next()?.strip_prefix("# ")?;
    let column = header.split(',').position(|c| c == field)?;
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.first() == Some(&pxname) && r.get(1) == Some(&svname))?
        .get(column)
        .map(|v| v.to_string())
}

/// One line of `show info` (`CumSslConns`…), as a number.
pub fn info(sock: &Path, key: &str) -> Option<u64> {
    let text = command(sock, "show info")?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))?
        .trim()
        .parse()
        .ok()
}
