//! The error replies weir sends itself, byte for byte as HAProxy 2.6 sends
//! them (captured from a running haproxy): small HTML pages with
//! `cache-control: no-cache`, after which the connection is closed.
//!
//! HAProxy has two sources for them, and weir copies both: the 400 and 408
//! a connection gets before any request could be parsed come raw from its
//! H1 mux (capitalized names, `Connection: close` included); the others go
//! through its HTX layer, which lowercases the names and, when the
//! connection is to be closed, appends `connection: close`. HAProxy's 500
//! from `http-request return` has no body; this one is its built-in page.

/// 400, as HAProxy's mux sends it.
pub const BAD_REQUEST_400: &[u8] = b"HTTP/1.1 400 Bad request\r\n\
    Content-length: 90\r\n\
    Cache-Control: no-cache\r\n\
    Connection: close\r\n\
    Content-Type: text/html\r\n\
    \r\n\
    <html><body><h1>400 Bad request</h1>\n\
    Your browser sent an invalid request.\n\
    </body></html>\n\
    ";

/// 403, as HAProxy 2.x sends it when closing.
pub const FORBIDDEN_403: &[u8] = b"HTTP/1.1 403 Forbidden\r\n\
    content-length: 93\r\n\
    cache-control: no-cache\r\n\
    content-type: text/html\r\n\
    connection: close\r\n\
    \r\n\
    <html><body><h1>403 Forbidden</h1>\n\
    Request forbidden by administrative rules.\n\
    </body></html>\n\
    ";

/// 408, as HAProxy's mux sends it.
pub const REQUEST_TIMEOUT_408: &[u8] = b"HTTP/1.1 408 Request Time-out\r\n\
    Content-length: 110\r\n\
    Cache-Control: no-cache\r\n\
    Connection: close\r\n\
    Content-Type: text/html\r\n\
    \r\n\
    <html><body><h1>408 Request Time-out</h1>\n\
    Your browser didn't send a complete request in time.\n\
    </body></html>\n\
    ";

/// 500, as HAProxy 2.x sends it when closing.
pub const INTERNAL_ERROR_500: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\n\
    content-length: 97\r\n\
    cache-control: no-cache\r\n\
    content-type: text/html\r\n\
    connection: close\r\n\
    \r\n\
    <html><body><h1>500 Internal Server Error</h1>\n\
    An internal server error occurred.\n\
    </body></html>\n\
    ";

/// 502, as HAProxy 2.x sends it when closing.
pub const BAD_GATEWAY_502: &[u8] = b"HTTP/1.1 502 Bad Gateway\r\n\
    content-length: 107\r\n\
    cache-control: no-cache\r\n\
    content-type: text/html\r\n\
    connection: close\r\n\
    \r\n\
    <html><body><h1>502 Bad Gateway</h1>\n\
    The server returned an invalid or incomplete response.\n\
    </body></html>\n\
    ";

/// 503, as HAProxy 2.x sends it when closing.
pub const SERVICE_UNAVAILABLE_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-length: 107\r\n\
    cache-control: no-cache\r\n\
    content-type: text/html\r\n\
    connection: close\r\n\
    \r\n\
    <html><body><h1>503 Service Unavailable</h1>\n\
    No server is available to handle this request.\n\
    </body></html>\n\
    ";

/// 504, as HAProxy 2.x sends it when closing.
pub const GATEWAY_TIMEOUT_504: &[u8] = b"HTTP/1.1 504 Gateway Time-out\r\n\
    content-length: 92\r\n\
    cache-control: no-cache\r\n\
    content-type: text/html\r\n\
    connection: close\r\n\
    \r\n\
    <html><body><h1>504 Gateway Time-out</h1>\n\
    The server didn't respond in time.\n\
    </body></html>\n\
    ";

/// The page for `status`, if weir has one.
pub fn page(status: u16) -> Option<&'static [u8]> {
    Some(match status {
        400 => BAD_REQUEST_400,
        403 => FORBIDDEN_403,
        408 => REQUEST_TIMEOUT_408,
        500 => INTERNAL_ERROR_500,
        502 => BAD_GATEWAY_502,
        503 => SERVICE_UNAVAILABLE_503,
        504 => GATEWAY_TIMEOUT_504,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Framing, ResponseContext, ResponseParser};

    #[test]
    fn pages_are_valid_closing_responses_with_exact_lengths() {
        for status in [400, 403, 408, 500, 502, 503, 504] {
            let page = page(status).unwrap();
            let head = ResponseParser::new(1024)
                .parse(page, ResponseContext::default())
                .unwrap()
                .unwrap();
            assert_eq!(head.status, status);
            let body = &page[head.head_len..];
            assert_eq!(head.framing, Framing::ContentLength(body.len() as u64));
            assert!(!head.keep_alive, "{status} must close");
            let title = format!("<html><body><h1>{status} ");
            assert!(body.starts_with(title.as_bytes()));
        }
        assert_eq!(page(404), None);
    }

    #[test]
    fn matches_haproxy_on_the_wire() {
        // What haproxy 2.6 sent for a backend without servers, connection
        // closing (and, below, for an unparsable request).
        assert_eq!(
            SERVICE_UNAVAILABLE_503,
            &b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\n\
               cache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n\
               <html><body><h1>503 Service Unavailable</h1>\n\
               No server is available to handle this request.\n</body></html>\n"[..]
        );
        assert!(BAD_REQUEST_400.starts_with(
            b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\n\
              Connection: close\r\nContent-Type: text/html\r\n\r\n"
        ));
    }
}
