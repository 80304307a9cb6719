//! The headers a frontend captures for its log (`capture_request_header`,
//! `capture_response_header`): the value of the last field of each name,
//! cut to its `len`, copied into the stream's reused buffers before the
//! head is consumed. Nothing is allocated once they have grown.

use super::Stream;
use crate::http::Header;
use weir_core::config::model::{Frontend, HeaderCapture};
use weir_core::log::record::Captured;

/// The request's captures; the response's slots are made ready (empty
/// until [`response`]: a request answered locally logs `{}` for them).
pub fn request(st: &mut Stream, fe: &Frontend, headers: &[Header], buf: &[u8]) {
    fill(&mut st.req_captures, &fe.capture_request, headers, buf);
    st.res_captures.reset(fe.capture_response.len());
}

/// The response's captures (`into`: the stream's `res_captures`, whose
/// response channel `buf` is).
pub fn response(into: &mut Captured, fe: &Frontend, headers: &[Header], buf: &[u8]) {
    fill(into, &fe.capture_response, headers, buf);
}

fn fill(into: &mut Captured, caps: &[HeaderCapture], headers: &[Header], buf: &[u8]) {
    into.reset(caps.len());
    for (i, c) in caps.iter().enumerate() {
        if let Some(h) = headers.iter().rev().find(|h| h.is(buf, &c.name)) {
            into.put(i, h.value.get(buf), c.len);
        }
    }
}
