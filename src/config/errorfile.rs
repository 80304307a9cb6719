//! `errorfile = { 503 = "/etc/weir/errors/503.http", … }`: each file holds
//! a complete HTTP response, read and checked here (at start-up, at each
//! reload and by `weir -c`), then kept in memory: no file is read per
//! request. Each problem is reported at the entry's status key.

use std::path::PathBuf;
use std::sync::Arc;

use super::diag::Report;
use super::file::Parsed;
use super::model::{ErrorFile, ErrorFiles};
use super::raw::StrTable;
use toml::Spanned;

/// The statuses an errorfile may replace: those weir answers itself (400,
/// 403, 408, 500, 502, 503, 504) and the ones a `deny` rule may use, as
/// HAProxy's list.
pub const STATUSES: &[u16] = &[
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
];

/// A proxy's `errorfile` (read here) over `[defaults]`' (`inherited`).
pub(crate) fn of_proxy<T>(
    p: &Parsed<T>,
    own: &Option<Spanned<StrTable>>,
    bufsize: usize,
    inherited: &ErrorFiles,
    report: &mut Report,
) -> ErrorFiles {
    match own {
        Some(t) => build(p, t.get_ref(), bufsize, report).over(inherited),
        None => inherited.clone(),
    }
}

/// Reads and checks every entry of an `errorfile` table. `bufsize`: a
/// response must fit in one buffer.
pub(crate) fn build<T>(
    p: &Parsed<T>,
    t: &StrTable,
    bufsize: usize,
    report: &mut Report,
) -> ErrorFiles {
    let mut pages: Vec<ErrorFile> = Vec::new();
    for (key, path) in &t.0 {
        let at = p.at(key.span());
        let status = match key.get_ref().parse::<u16>() {
            Ok(s) if STATUSES.contains(&s) => s,
            _ => {
                let list: Vec<String> = STATUSES.iter().map(u16::to_string).collect();
                let msg = format!(
                    "errorfile for \"{}\": expected one of the statuses {}",
                    key.get_ref(),
                    list.join(", ")
                );
                report.error(&at, msg);
                continue;
            }
        };
        let file = path.get_ref();
        match load(file, status, bufsize) {
            Ok(bytes) => pages.push(ErrorFile {
                status,
                path: PathBuf::from(file),
                bytes: Arc::from(bytes),
            }),
            Err(why) => report.error(&at, format!("errorfile {status} \"{file}\": {why}")),
        }
    }
    pages.sort_by_key(|p| p.status);
    ErrorFiles { pages }
}

/// Reads `path` and checks it holds a response with `status`.
fn load(path: &str, status: u16, bufsize: usize) -> Result<Vec<u8>, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > bufsize as u64 {
        return Err(format!(
            "too large: {} bytes, and a response weir sends itself must fit in one buffer \
             (bufsize, {bufsize} bytes)",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    check(&bytes, status)?;
    Ok(bytes)
}

/// Whether `bytes` is a complete HTTP/1.x response with `status`: status
/// line, header fields, an empty line, then a body of exactly its
/// `Content-Length` (or, without one, up to the end: the connection
/// closes after it).
pub(crate) fn check(bytes: &[u8], status: u16) -> Result<(), String> {
    let not_http = "not an HTTP response: it must start with a status line such as \
                    \"HTTP/1.1 503 Service Unavailable\", then header fields, an empty line \
                    and the body";
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if bytes.starts_with(b"HTTP/") => {
            return Err(
                "the head is incomplete: end the header fields with an empty line (CRLF CRLF)"
                    .into(),
            )
        }
        Ok(httparse::Status::Partial) => return Err(not_http.into()),
        Err(e) if bytes.starts_with(b"HTTP/") => return Err(format!("invalid response head: {e}")),
        Err(_) => return Err(not_http.into()),
    };
    let got = res.code.unwrap_or(0);
    if got != status {
        return Err(format!("the response's status is {got}, not {status}"));
    }
    let body = bytes.len() - head_len;
    for h in res.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(
                "Transfer-Encoding is not allowed: give the body's length in Content-Length".into(),
            );
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| "invalid Content-Length".to_string())?;
            if n != body {
                return Err(format!(
                    "Content-Length says {n} bytes but the body has {body}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn complete_responses_only() {
        let ok = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
        assert_eq!(check(ok, 503), Ok(()));
        let no_length = b"HTTP/1.0 503 Busy\r\nContent-Type: text/plain\r\n\r\nbusy\n";
        assert_eq!(check(no_length, 503), Ok(()));
        let err = |b: &[u8], s| check(b, s).unwrap_err();
        assert!(err(ok, 502).contains("status is 503, not 502"));
        assert!(err(b"<html>busy</html>", 503).starts_with("not an HTTP response"));
        assert!(err(b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n", 503).contains("incomplete"));
        let short = b"HTTP/1.1 503 Busy\r\nContent-Length: 9\r\n\r\nbusy";
        assert!(err(short, 503).contains("says 9 bytes but the body has 4"));
        let chunked = b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(err(chunked, 503).contains("Transfer-Encoding"));
    }
}
