//! SETTINGS parameters (RFC 9113 §6.5): their identifiers, the value rules
//! of §6.5.2 (checked by the frame parser, so a SETTINGS frame that comes
//! out of [`super::frame::parse`] is valid), and [`Settings`], one side's
//! values with the RFC's initial ones.
//!
//! Negotiation lives in [`super::conn`]: weir's settings take effect for
//! what it receives once the peer acknowledges them; the peer's take effect
//! on receipt, and weir acknowledges them at once.

use super::error::{ConnError, ErrorCode};

/// Parameter identifiers (RFC 9113 §6.5.2, RFC 9218 §2.1).
pub mod id {
    /// SETTINGS_HEADER_TABLE_SIZE
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    /// SETTINGS_ENABLE_PUSH
    pub const ENABLE_PUSH: u16 = 0x2;
    /// SETTINGS_MAX_CONCURRENT_STREAMS
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    /// SETTINGS_INITIAL_WINDOW_SIZE
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    /// SETTINGS_MAX_FRAME_SIZE
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    /// SETTINGS_MAX_HEADER_LIST_SIZE
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441)
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
    /// SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218)
    pub const NO_RFC7540_PRIORITIES: u16 = 0x9;
}

/// The smallest SETTINGS_MAX_FRAME_SIZE, and its initial value.
pub const MIN_MAX_FRAME_SIZE: u32 = 1 << 14;
/// The largest SETTINGS_MAX_FRAME_SIZE.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;
/// The largest flow-control window.
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
/// The initial flow-control window of a stream and of the connection.
pub const DEFAULT_WINDOW: u32 = 65_535;
/// The initial HPACK dynamic table size.
pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;

/// The parameters of a SETTINGS frame payload, as `(identifier, value)`
/// pairs in order. Built over a payload whose length is a multiple of 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingsParams<'a> {
    payload: &'a [u8],
}

impl<'a> SettingsParams<'a> {
    /// Over a payload (a trailing partial parameter is ignored).
    pub fn new(payload: &'a [u8]) -> SettingsParams<'a> {
        SettingsParams { payload }
    }

    /// How many parameters.
    pub fn len(&self) -> usize {
        self.payload.len() / 6
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Iterator for SettingsParams<'_> {
    type Item = (u16, u32);

    fn next(&mut self) -> Option<(u16, u32)> {
        let p = self.payload.get(..6)?;
        self.payload = self.payload.get(6..).unwrap_or_default();
        Some((
            u16::from_be_bytes([p[0], p[1]]),
            u32::from_be_bytes([p[2], p[3], p[4], p[5]]),
        ))
    }
}

/// Checks every value of §6.5.2 (unknown identifiers are ignored).
pub fn check(params: SettingsParams<'_>) -> Result<(), ConnError> {
    for (key, value) in params {
        match key {
            id::ENABLE_PUSH if value > 1 => {
                return Err(ConnError::protocol("SETTINGS_ENABLE_PUSH not 0 or 1"))
            }
            id::INITIAL_WINDOW_SIZE if value > MAX_WINDOW => {
                return Err(ConnError::new(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1",
                ))
            }
            id::MAX_FRAME_SIZE if !(MIN_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) => {
                return Err(ConnError::protocol("SETTINGS_MAX_FRAME_SIZE out of range"))
            }
            id::ENABLE_CONNECT_PROTOCOL | id::NO_RFC7540_PRIORITIES if value > 1 => {
                return Err(ConnError::protocol("boolean SETTINGS value not 0 or 1"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// One side's settings. `None` for the limits the RFC leaves unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK table its decoder keeps.
    pub header_table_size: u32,
    /// SETTINGS_ENABLE_PUSH.
    pub enable_push: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    pub max_concurrent_streams: Option<u32>,
    /// SETTINGS_INITIAL_WINDOW_SIZE: the window of each new stream.
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE: the largest payload it receives.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub max_header_list_size: Option<u32>,
}

impl Default for Settings {
    /// The initial values of RFC 9113 §6.5.2, in force until SETTINGS.
    fn default() -> Settings {
        Settings {
            header_table_size: DEFAULT_HEADER_TABLE_SIZE,
            enable_push: true,
            max_concurrent_streams: None,
            initial_window_size: DEFAULT_WINDOW,
            max_frame_size: MIN_MAX_FRAME_SIZE,
            max_header_list_size: None,
        }
    }
}

impl Settings {
    /// Applies checked parameters, in order (the last value of a repeated
    /// identifier wins); unknown identifiers are ignored.
    pub fn apply(&mut self, params: SettingsParams<'_>) {
        for (key, value) in params {
            match key {
                id::HEADER_TABLE_SIZE => self.header_table_size = value,
                id::ENABLE_PUSH => self.enable_push = value == 1,
                id::MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(value),
                id::INITIAL_WINDOW_SIZE => self.initial_window_size = value,
                id::MAX_FRAME_SIZE => self.max_frame_size = value,
                id::MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(value),
                _ => {}
            }
        }
    }

    /// The parameters to send so that a peer starting from the RFC's
    /// defaults ends with these values (each differing one, push always
    /// disabled since weir never pushes nor accepts pushes).
    pub fn diff_from_default(&self) -> Vec<(u16, u32)> {
        let d = Settings::default();
        let mut out = Vec::with_capacity(6);
        if self.header_table_size != d.header_table_size {
            out.push((id::HEADER_TABLE_SIZE, self.header_table_size));
        }
        out.push((id::ENABLE_PUSH, 0));
        if let Some(n) = self.max_concurrent_streams {
            out.push((id::MAX_CONCURRENT_STREAMS, n));
        }
        if self.initial_window_size != d.initial_window_size {
            out.push((id::INITIAL_WINDOW_SIZE, self.initial_window_size));
        }
        if self.max_frame_size != d.max_frame_size {
            out.push((id::MAX_FRAME_SIZE, self.max_frame_size));
        }
        if let Some(n) = self.max_header_list_size {
            out.push((id::MAX_HEADER_LIST_SIZE, n));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(params: &[(u16, u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        for (k, val) in params {
            v.extend_from_slice(&k.to_be_bytes());
            v.extend_from_slice(&val.to_be_bytes());
        }
        v
    }

    #[test]
    fn value_rules() {
        let ok = payload(&[
            (1, 0),
            (2, 1),
            (3, 0),
            (4, MAX_WINDOW),
            (5, 16384),
            (0xff, 7),
        ]);
        assert_eq!(check(SettingsParams::new(&ok)), Ok(()));
        let cases: &[((u16, u32), ErrorCode)] = &[
            ((id::ENABLE_PUSH, 2), ErrorCode::PROTOCOL_ERROR),
            (
                (id::INITIAL_WINDOW_SIZE, MAX_WINDOW + 1),
                ErrorCode::FLOW_CONTROL_ERROR,
            ),
            ((id::MAX_FRAME_SIZE, 16383), ErrorCode::PROTOCOL_ERROR),
            ((id::MAX_FRAME_SIZE, 1 << 24), ErrorCode::PROTOCOL_ERROR),
            ((id::ENABLE_CONNECT_PROTOCOL, 2), ErrorCode::PROTOCOL_ERROR),
            ((id::NO_RFC7540_PRIORITIES, 9), ErrorCode::PROTOCOL_ERROR),
        ];
        for (param, code) in cases {
            let p = payload(&[*param]);
            assert_eq!(check(SettingsParams::new(&p)).unwrap_err().code, *code);
        }
        let edge = payload(&[(id::MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE)]);
        assert_eq!(check(SettingsParams::new(&edge)), Ok(()));
    }

    #[test]
    fn apply_in_order_and_ignore_unknown() {
        let mut s = Settings::default();
        let p = payload(&[(3, 10), (3, 20), (0x42, 1), (6, 1000), (2, 0), (4, 1)]);
        s.apply(SettingsParams::new(&p));
        assert_eq!(s.max_concurrent_streams, Some(20));
        assert_eq!(s.max_header_list_size, Some(1000));
        assert!(!s.enable_push);
        assert_eq!(s.initial_window_size, 1);
        assert_eq!(s.max_frame_size, MIN_MAX_FRAME_SIZE);
        assert_eq!(SettingsParams::new(&p).len(), 6);
    }

    #[test]
    fn diff_round_trips() {
        let s = Settings {
            header_table_size: 8192,
            enable_push: false,
            max_concurrent_streams: Some(100),
            initial_window_size: 1 << 20,
            max_frame_size: 1 << 15,
            max_header_list_size: Some(65536),
        };
        let p = payload(&s.diff_from_default());
        let mut back = Settings::default();
        back.apply(SettingsParams::new(&p));
        assert_eq!(back, s);
    }
}
