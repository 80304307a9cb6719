//! The worker's `SIGQUIT: pool pipe` line (splice's pipe pool), for the
//! splice tests: send SIGQUIT, read the figures of the line it logs.

use nix::sys::signal::Signal;

use super::{wait_for, Weir, DEADLINE};

/// The figures of a worker's `SIGQUIT: pool pipe` line.
#[derive(Debug)]
pub struct PipeLine {
    pub allocated: u64,
    pub used: u64,
    pub peak: u64,
    pub max: u64,
    pub refused: u64,
    pub spliced: u64,
}

/// Sends SIGQUIT and returns the next pipe-pool line.
pub fn pipe_pool(weir: &Weir) -> PipeLine {
    let before = pipe_lines(weir).len();
    weir.signal(Signal::SIGQUIT);
    wait_for(DEADLINE, "a new SIGQUIT pipe-pool line", || {
        pipe_lines(weir).into_iter().nth(before)
    })
}

fn pipe_lines(weir: &Weir) -> Vec<PipeLine> {
    weir.logs()
        .into_iter()
        .filter_map(|l| parse_pipe_line(&l.message))
        .collect()
}

/// `SIGQUIT: pool pipe (S bytes): A allocated, U used, P peak, M max,
/// R refused, B bytes spliced; released N pipes`
fn parse_pipe_line(msg: &str) -> Option<PipeLine> {
    let rest = msg.strip_prefix("SIGQUIT: pool pipe (")?;
    let (_, rest) = rest.split_once("): ")?;
    let num = |word: &str| -> Option<u64> {
        let at = rest.find(&format!(" {word}"))?;
        rest[..at].rsplit([' ', ',']).next()?.parse().ok()
    };
    Some(PipeLine {
        allocated: num("allocated")?,
        used: num("used")?,
        peak: num("peak")?,
        max: num("max")?,
        refused: num("refused")?,
        spliced: num("bytes spliced")?,
    })
}
