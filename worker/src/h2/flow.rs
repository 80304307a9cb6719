//! Flow control (RFC 9113 §5.2, §6.9): [`SendWindow`], what weir may still
//! send on a stream or the connection, and [`RecvWindow`], what the peer
//! may still send and when weir gives credit back.
//!
//! The arithmetic, and its errors:
//! - a WINDOW_UPDATE that takes a window over 2^31-1 is a
//!   FLOW_CONTROL_ERROR (a stream error on a stream, a connection error on
//!   the connection);
//! - a change of SETTINGS_INITIAL_WINDOW_SIZE moves every stream's send
//!   window by the difference (§6.9.2): a window may go negative (nothing
//!   may be sent until WINDOW_UPDATEs bring it back above 0), and one
//!   pushed over 2^31-1 is a connection FLOW_CONTROL_ERROR;
//! - DATA over the receive window is a FLOW_CONTROL_ERROR (stream or
//!   connection, whichever window it overflowed);
//! - weir gives credit back (WINDOW_UPDATE) when what the mux has
//!   consumed reaches half the window it advertised, so a steady upload
//!   gets one WINDOW_UPDATE per half window, not one per DATA frame.

use super::settings::MAX_WINDOW;

/// A window pushed over 2^31-1, or DATA over the receive window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowError;

/// What may still be sent (may be negative after a SETTINGS change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    /// A window of `size` bytes.
    pub fn new(size: u32) -> SendWindow {
        SendWindow(i64::from(size))
    }

    /// The window, possibly negative.
    pub fn value(&self) -> i64 {
        self.0
    }

    /// Bytes that may be sent now (0 when the window is 0 or negative).
    pub fn available(&self) -> usize {
        usize::try_from(self.0.max(0)).unwrap_or(usize::MAX)
    }

    /// Counts `n` bytes sent (at most [`SendWindow::available`]).
    pub fn consume(&mut self, n: usize) {
        self.0 -= i64::try_from(n).unwrap_or(i64::MAX);
    }

    /// A WINDOW_UPDATE, or the difference of a SETTINGS change.
    pub fn adjust(&mut self, delta: i64) -> Result<(), FlowError> {
        let v = self.0 + delta;
        if v > i64::from(MAX_WINDOW) {
            return Err(FlowError);
        }
        self.0 = v;
        Ok(())
    }
}

/// What the peer may still send, and the credit weir owes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvWindow {
    /// What the peer may still send (negative after weir lowered its
    /// initial window, until credit comes back).
    window: i64,
    /// The window weir wants the peer to have.
    target: u32,
    /// Received and consumed, not yet given back.
    consumed: u32,
}

impl RecvWindow {
    /// The peer may send `window` bytes now; weir aims at `target`.
    pub fn new(window: u32, target: u32) -> RecvWindow {
        RecvWindow {
            window: i64::from(window),
            target,
            consumed: 0,
        }
    }

    /// What the peer may still send.
    pub fn value(&self) -> i64 {
        self.window
    }

    /// DATA of `n` bytes (padding included) arrived.
    pub fn receive(&mut self, n: u32) -> Result<(), FlowError> {
        if i64::from(n) > self.window {
            return Err(FlowError);
        }
        self.window -= i64::from(n);
        Ok(())
    }

    /// Weir's initial window changed (its SETTINGS were acknowledged):
    /// the peer moved this stream's window by the difference.
    pub fn retarget(&mut self, target: u32) {
        self.window += i64::from(target) - i64::from(self.target);
        self.target = target;
    }

    /// The mux consumed `n` bytes: the increment of a WINDOW_UPDATE to
    /// send now, if the credit owed reached half the target (or the
    /// window is empty).
    pub fn release(&mut self, n: usize) -> Option<u32> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.consumed = self.consumed.saturating_add(n);
        let owed = i64::from(self.target) - self.window;
        let credit = i64::from(self.consumed).min(owed.max(0));
        if credit <= 0 {
            return None;
        }
        if credit * 2 < i64::from(self.target) && self.window > 0 {
            return None;
        }
        let credit = u32::try_from(credit).unwrap_or(MAX_WINDOW);
        self.window += i64::from(credit);
        self.consumed -= credit.min(self.consumed);
        Some(credit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_window_arithmetic() {
        let mut w = SendWindow::new(65_535);
        w.consume(65_535);
        assert_eq!(w.available(), 0);
        assert_eq!(w.adjust(10), Ok(()));
        assert_eq!(w.available(), 10);
        // A SETTINGS decrease below what was consumed: negative.
        assert_eq!(w.adjust(-100), Ok(()));
        assert_eq!((w.value(), w.available()), (-90, 0));
        // Exactly 2^31-1 is fine, one more is an overflow (unchanged).
        let mut w = SendWindow::new(1);
        assert_eq!(w.adjust(i64::from(MAX_WINDOW) - 1), Ok(()));
        assert_eq!(w.value(), i64::from(MAX_WINDOW));
        assert_eq!(w.adjust(1), Err(FlowError));
        assert_eq!(w.value(), i64::from(MAX_WINDOW));
    }

    #[test]
    fn receive_over_the_window_is_an_error() {
        let mut r = RecvWindow::new(100, 100);
        assert_eq!(r.receive(60), Ok(()));
        assert_eq!(r.receive(40), Ok(()));
        assert_eq!(r.receive(1), Err(FlowError));
        assert_eq!(r.receive(0), Ok(()));
    }

    #[test]
    fn credit_comes_back_by_half_windows() {
        let mut r = RecvWindow::new(1000, 1000);
        r.receive(400).unwrap();
        assert_eq!(r.release(400), None, "under half: wait");
        r.receive(200).unwrap();
        assert_eq!(r.release(200), Some(600));
        assert_eq!(r.value(), 1000);
        // An emptied window is credited at once, even by little.
        let mut r = RecvWindow::new(10, 1000);
        r.receive(10).unwrap();
        assert_eq!(r.release(10), Some(10));
    }

    #[test]
    fn retarget_moves_the_window() {
        // Weir advertised 16k while the peer still used 65535.
        let mut r = RecvWindow::new(65_535, 65_535);
        r.receive(60_000).unwrap();
        r.retarget(16_384);
        assert_eq!(r.value(), 5_535 - 49_151);
        assert_eq!(r.receive(1), Err(FlowError));
        // Consumed data brings it back, at most to the new target.
        assert_eq!(r.release(60_000), Some(60_000));
        assert_eq!(r.value(), 16_384);
    }
}
