//! HTTP/2 error codes (RFC 9113 §7) and the two kinds of error every other
//! file of this layer returns: a connection error (the mux sends GOAWAY
//! with the code and closes) and a stream error (RST_STREAM on that stream,
//! the connection goes on).
//!
//! Each error carries a static reason for the log line and, when a limit
//! of [`super::limits`] was crossed, which one (for the counters).

use std::fmt;

use super::limits::Limit;

/// An error code as carried by RST_STREAM and GOAWAY (RFC 9113 §7).
/// Unknown codes received from a peer are kept as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Graceful shutdown, or no error.
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    /// A protocol error not covered by a more specific code.
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    /// An unexpected internal error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    /// The peer broke flow control.
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    /// SETTINGS not acknowledged in time.
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    /// A frame on a half-closed or closed stream.
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    /// A frame of an invalid size.
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    /// The stream was refused before any processing.
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    /// The stream is no longer needed.
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    /// The HPACK state cannot be maintained.
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    /// The CONNECT tunnel was reset.
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    /// The peer is generating excessive load.
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    /// The transport does not meet minimum security requirements.
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    /// Use HTTP/1.1 instead.
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The RFC's name of the code, or `UNKNOWN`.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        usize::try_from(self.0)
            .ok()
            .and_then(|i| NAMES.get(i))
            .copied()
            .unwrap_or("UNKNOWN")
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection error (RFC 9113 §5.4.1): send GOAWAY with `code` and the
/// last stream processed, then close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnError {
    /// The code for GOAWAY.
    pub code: ErrorCode,
    /// Why, for the log line (also sent as GOAWAY debug data).
    pub reason: &'static str,
    /// The limit crossed, when this is an answer to an attack or a flood.
    pub limit: Option<Limit>,
}

impl ConnError {
    /// A connection error that is not a limit.
    pub const fn new(code: ErrorCode, reason: &'static str) -> ConnError {
        ConnError {
            code,
            reason,
            limit: None,
        }
    }

    /// A PROTOCOL_ERROR.
    pub const fn protocol(reason: &'static str) -> ConnError {
        ConnError::new(ErrorCode::PROTOCOL_ERROR, reason)
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.code)
    }
}

impl std::error::Error for ConnError {}

/// A stream error (RFC 9113 §5.4.2): send RST_STREAM on `stream` with
/// `code`; the connection goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamError {
    /// The stream to reset.
    pub stream: u32,
    /// The code for RST_STREAM.
    pub code: ErrorCode,
    /// Why, for the log line.
    pub reason: &'static str,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream {}: {} ({})", self.stream, self.reason, self.code)
    }
}

impl std::error::Error for StreamError {}

/// Either kind, as returned by the frame parser and the connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H2Error {
    /// Close the connection with GOAWAY.
    Connection(ConnError),
    /// Reset one stream.
    Stream(StreamError),
}

impl H2Error {
    /// A connection error that is not a limit.
    pub const fn conn(code: ErrorCode, reason: &'static str) -> H2Error {
        H2Error::Connection(ConnError::new(code, reason))
    }

    /// A stream error.
    pub const fn stream(stream: u32, code: ErrorCode, reason: &'static str) -> H2Error {
        H2Error::Stream(StreamError {
            stream,
            code,
            reason,
        })
    }

    /// The error code, whichever the kind.
    pub fn code(&self) -> ErrorCode {
        match self {
            H2Error::Connection(e) => e.code,
            H2Error::Stream(e) => e.code,
        }
    }
}

impl From<ConnError> for H2Error {
    fn from(e: ConnError) -> H2Error {
        H2Error::Connection(e)
    }
}

impl From<StreamError> for H2Error {
    fn from(e: StreamError) -> H2Error {
        H2Error::Stream(e)
    }
}

impl fmt::Display for H2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            H2Error::Connection(e) => write!(f, "connection error: {e}"),
            H2Error::Stream(e) => write!(f, "stream error: {e}"),
        }
    }
}

impl std::error::Error for H2Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ErrorCode::NO_ERROR.name(), "NO_ERROR");
        assert_eq!(ErrorCode::ENHANCE_YOUR_CALM.name(), "ENHANCE_YOUR_CALM");
        assert_eq!(ErrorCode::HTTP_1_1_REQUIRED.name(), "HTTP_1_1_REQUIRED");
        assert_eq!(ErrorCode(0xe).name(), "UNKNOWN");
        assert_eq!(ErrorCode(u32::MAX).name(), "UNKNOWN");
        let e = H2Error::stream(3, ErrorCode::CANCEL, "x");
        assert_eq!(e.code(), ErrorCode::CANCEL);
        assert_eq!(e.to_string(), "stream error: stream 3: x (CANCEL)");
    }
}
