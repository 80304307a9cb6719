//! What ACL criteria read: the request (method, target, path, headers) or,
//! for `http_response` rules, the request line kept for the log and the
//! response's headers; plus the client's address and the port it reached.

use crate::http::{EditOp, HeadEdits, Header, RequestHead};
use crate::track::View;
use std::net::IpAddr;
use weir_core::config::model::Counter;

/// The fetches' view of one request or response.
pub struct Sample<'a> {
    pub method: &'a [u8],
    pub url: &'a [u8],
    pub path: &'a [u8],
    /// Header fields, as spans of `buf`.
    pub headers: &'a [Header],
    pub buf: &'a [u8],
    pub src: IpAddr,
    pub dst_port: u16,
    /// Changes made by the rules evaluated so far: later rules see the
    /// request as the earlier ones left it.
    pub edits: Option<&'a HeadEdits<'a>>,
    /// The response's status (`http_response` rules; 0 before).
    pub status: u16,
    /// What the table counter criteria read.
    pub view: Option<View<'a>>,
}

impl<'a> Sample<'a> {
    /// The view of a parsed request head in `buf`.
    pub fn request(head: &'a RequestHead, buf: &'a [u8], src: IpAddr, dst_port: u16) -> Sample<'a> {
        let line = head.start_line.get(buf);
        let method = line.split(|&b| b == b' ').next().unwrap_or(b"");
        Sample {
            method,
            url: head.target.get(buf),
            path: head.path.get(buf),
            headers: &head.headers,
            buf,
            src,
            dst_port,
            edits: None,
            status: 0,
            view: None,
        }
    }

    /// The view for response rules: the request's line, the response's
    /// headers.
    pub fn response(
        request_line: &'a str,
        headers: &'a [Header],
        buf: &'a [u8],
        src: IpAddr,
        dst_port: u16,
    ) -> Sample<'a> {
        let mut words = request_line.as_bytes().split(|&b| b == b' ');
        let method = words.next().unwrap_or(b"");
        let url = words.next().unwrap_or(b"");
        let path = crate::rules::path_and_query(url)
            .split(|&b| b == b'?')
            .next()
            .unwrap_or(b"");
        Sample {
            method,
            url,
            path,
            headers,
            buf,
            src,
            dst_port,
            edits: None,
            status: 0,
            view: None,
        }
    }
}

impl crate::rules::Sample for Sample<'_> {
    fn method(&self) -> &[u8] {
        self.method
    }
    fn url(&self) -> &[u8] {
        self.url
    }
    fn path(&self) -> &[u8] {
        match self.edits.and_then(|e| e.path) {
            Some(p) => p.as_bytes(),
            None => self.path,
        }
    }
    fn any_header_value(&self, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut each = |value: &[u8]| value.split(|&b| b == b',').any(|v| f(v.trim_ascii()));
        let deleted = self.edits.is_some_and(|e| e.deletes(name.as_bytes(), 0));
        if !deleted {
            for h in self.headers.iter().filter(|h| h.is(self.buf, name)) {
                if each(h.value.get(self.buf)) {
                    return true;
                }
            }
        }
        let Some(edits) = self.edits else {
            return false;
        };
        edits.ops.iter().enumerate().any(|(i, op)| match op {
            EditOp::Add(n, v) => {
                n.eq_ignore_ascii_case(name)
                    && !edits.deletes(name.as_bytes(), i + 1)
                    && each(v.as_bytes())
            }
            EditOp::Del(_) => false,
        })
    }
    fn src(&self) -> IpAddr {
        self.src
    }
    fn dst_port(&self) -> u16 {
        self.dst_port
    }
    fn status(&self) -> u16 {
        self.status
    }
    fn sc_counter(&self, slot: usize, counter: Counter) -> u64 {
        self.view.map_or(0, |v| v.sc(slot, counter))
    }
    fn src_counter(&self, table: usize, counter: Counter) -> u64 {
        self.view.map_or(0, |v| v.src(table, counter, self.src))
    }
}
