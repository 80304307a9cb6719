//! The statistics on a listener's `stats` URIs, answered by the worker
//! itself between the `http_request` rules and `use_backend` (so a rule
//! may deny the page): the HTML page at `uri`, the CSV at `uri;csv` or
//! `uri?stats;csv` (HAProxy's forms), the Prometheus exposition at
//! `prometheus`. Every figure comes from the shared state, so the answer
//! is the same whichever worker gives it.

use crate::context::Cx;
use crate::http::{Method, RequestHead, Version};
use crate::stats::{self, info::Info};
use std::fmt::Write;
use weir_core::config::model::StatsPage;

/// What a request asks of the stats page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Html { refresh: bool },
    Csv,
    Prometheus,
}

/// Whether `path` (and `query`) name one of `page`'s documents.
pub fn wanted(page: &StatsPage, path: &[u8], query: Option<&[u8]>) -> Option<Wanted> {
    if page.prometheus.as_deref().map(str::as_bytes) == Some(path) {
        return Some(Wanted::Prometheus);
    }
    let rest = path.strip_prefix(page.uri.as_bytes())?;
    // `uri;csv;norefresh`: options after semicolons, in the path or in
    // the query (`uri?stats;csv`).
    if !(rest.is_empty() || rest.starts_with(b";") || rest == b"/") {
        return None;
    }
    let opts = |b: &[u8]| -> Vec<Vec<u8>> { b.split(|c| *c == b';').map(<[u8]>::to_vec).collect() };
    let mut all = opts(rest);
    if let Some(q) = query {
        all.extend(opts(q));
    }
    if all.iter().any(|o| o == b"csv") {
        return Some(Wanted::Csv);
    }
    let refresh = !all.iter().any(|o| o == b"norefresh");
    Some(Wanted::Html { refresh })
}

/// The response for `head` if it asks for the statistics of `page`: the
/// bytes, to send as a local reply (status 200).
pub fn answer(
    page: &StatsPage,
    head: &RequestHead,
    buf: &[u8],
    cx: &Cx,
    close: bool,
) -> Option<Vec<u8>> {
    let path = head.path.get(buf);
    let query = head.query.map(|q| q.get(buf));
    let what = wanted(page, path, query)?;
    let rows = stats::rows(cx.config, cx.shared);
    let info = Info::gather(cx.config, cx.shared, nix::unistd::getppid().as_raw() as u32);
    let (ctype, body) = match what {
        Wanted::Csv => ("text/plain", stats::csv::render(&rows)),
        Wanted::Prometheus => (
            stats::prometheus::CONTENT_TYPE,
            stats::prometheus::render(&rows, &info),
        ),
        Wanted::Html { refresh } => (
            "text/html",
            stats::html::render(&rows, &info, page.refresh.filter(|_| refresh)),
        ),
    };
    let mut out = String::with_capacity(body.len() + 160);
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\
         cache-control: no-cache\r\n",
        body.len()
    );
    match (close, head.version) {
        (true, _) => out.push_str("connection: close\r\n"),
        (false, Version::Http10) => out.push_str("connection: keep-alive\r\n"),
        (false, _) => {}
    }
    out.push_str("\r\n");
    if head.method != Method::Head {
        out.push_str(&body);
    }
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_forms() {
        let page = StatsPage {
            uri: "/stats".into(),
            refresh: None,
            prometheus: Some("/metrics".into()),
        };
        let w = |p: &str, q: Option<&str>| wanted(&page, p.as_bytes(), q.map(str::as_bytes));
        assert_eq!(w("/stats", None), Some(Wanted::Html { refresh: true }));
        assert_eq!(w("/stats;csv", None), Some(Wanted::Csv));
        assert_eq!(w("/stats;csv;norefresh", None), Some(Wanted::Csv));
        assert_eq!(w("/stats", Some("stats;csv")), Some(Wanted::Csv));
        assert_eq!(
            w("/stats;norefresh", None),
            Some(Wanted::Html { refresh: false })
        );
        assert_eq!(w("/metrics", None), Some(Wanted::Prometheus));
        assert_eq!(w("/statsx", None), None);
        assert_eq!(w("/other", None), None);
    }
}
