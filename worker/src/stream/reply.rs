//! Responses weir makes itself: HAProxy's error pages (or the proxies'
//! `errorfile` responses), `deny`, `return` and `redirect`.

use crate::context::Cx;
use crate::http::{errors, Version};
use std::io::Write;

/// The reason phrase weir uses for a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// Appends the answer for error `status` to `out` (the connection closes
/// after it): the `errorfile` response of the backend once one was chosen
/// (`backend`), else the frontend's, as they are, from memory; else weir's
/// own page ([`error_page`]).
pub fn error(cx: &Cx, frontend: usize, backend: Option<usize>, status: u16, out: &mut Vec<u8>) {
    let config = cx.config;
    let file = backend
        .and_then(|b| config.backends.get(b))
        .and_then(|b| b.errorfiles.get(status))
        .or_else(|| config.frontends.get(frontend)?.errorfiles.get(status));
    match file {
        Some(bytes) => out.extend_from_slice(bytes),
        None => error_page(status, out),
    }
}

/// Appends an error page (it closes the connection) to `out`. HAProxy's
/// own page where it has one (copied, not built), else a page of the same
/// shape.
pub fn error_page(status: u16, out: &mut Vec<u8>) {
    if let Some(p) = errors::page(status) {
        out.extend_from_slice(p);
        return;
    }
    let body = format!(
        "<html><body><h1>{status} {}</h1>\nRequest denied.\n</body></html>\n",
        reason(status)
    );
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\n\
         content-type: text/html\r\nconnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
}

/// The `Connection` field of a local reply.
fn connection(close: bool, version: Version) -> &'static str {
    match (close, version) {
        (true, _) => "connection: close\r\n",
        (false, Version::Http10) => "connection: keep-alive\r\n",
        (false, _) => "",
    }
}

/// Appends the answer of `http_request return` to `out`.
pub fn ret(
    status: u16,
    content_type: Option<&str>,
    body: &str,
    close: bool,
    version: Version,
    out: &mut Vec<u8>,
) {
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
        reason(status),
        body.len()
    );
    if let Some(ct) = content_type {
        let _ = write!(out, "content-type: {ct}\r\n");
    }
    out.extend_from_slice(connection(close, version).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
}

/// Appends an `http_request redirect` to `out`; `location` appends the
/// `Location` value.
pub fn redirect(
    code: u16,
    close: bool,
    version: Version,
    out: &mut Vec<u8>,
    location: impl FnOnce(&mut Vec<u8>),
) {
    let _ = write!(
        out,
        "HTTP/1.1 {code} {}\r\ncontent-length: 0\r\nlocation: ",
        reason(code)
    );
    location(out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(connection(close, version).as_bytes());
    out.extend_from_slice(b"\r\n");
}
