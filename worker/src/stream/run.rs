//! A stream's run: read what the client sent (its request body), run the
//! analyser of the stream's phase, act on the [`Transition`] it returns,
//! and repeat while anything moves (bounded); then the timers. The only
//! place that acts on transitions: analysers decide, this file does.

use super::client::ClientSide;
use super::forward::{fill, splice_body_in, Fill};
use super::{connect, end, exchange, reply, timers, tunnel, Phase, Stream, StreamStep, Transition};
use crate::context::Cx;
use crate::idle::kept;
use crate::server_side::Release;
use crate::term::{At, Termination};
use crate::tokens;

/// Rounds of "read, analyse, forward" per run before yielding.
pub const MAX_ROUNDS: usize = 8;

/// Buffers' worth of bytes read per direction per round.
pub const BUDGET_BUFFERS: usize = 4;

/// Runs stream `key` once, with the client side its mux lends.
pub fn run(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, key: usize) -> StreamStep {
    let budget = BUDGET_BUFFERS * cx.bufsize();
    kept::drop_if_dirty(&mut cs.kept);
    let mut rounds = 0;
    loop {
        let mut progress = false;
        if st.reads_client() {
            let read = match splice_request(st, cs, cx, budget) {
                Some(r) => r,
                None => fill(&mut cs.conn, &mut cs.req, cx.pool, budget),
            };
            match read {
                Ok(Fill::Ok(0)) => {}
                Ok(Fill::Ok(_)) => {
                    progress = true;
                    cs.active = cx.now;
                }
                Ok(Fill::Eof) => progress = true,
                Err(_) => {
                    act(
                        st,
                        cs,
                        cx,
                        key,
                        Transition::Abort(Termination::client(At::Data)),
                    );
                    return StreamStep::Ended;
                }
            }
        }
        let t = match st.phase {
            Phase::Connect => connect::step(st, cs, cx, key),
            Phase::Exchange => exchange::step(st, cs, cx, budget),
            Phase::Tunnel => tunnel::step(st, cs, cx, budget),
            Phase::LocalReply => local_step(st, cs, cx),
        };
        match act(st, cs, cx, key, t) {
            Some(p) => progress |= p,
            None => return StreamStep::Ended,
        }
        rounds += 1;
        if !progress {
            break;
        }
        if rounds == MAX_ROUNDS {
            return StreamStep::Yield;
        }
    }
    if let Some(t) = timers::expired(st, cs, cx, key) {
        return match act(st, cs, cx, key, t) {
            Some(_) => StreamStep::Yield,
            None => StreamStep::Ended,
        };
    }
    StreamStep::Wait(timers::next(st, cs, cx, key))
}

/// Acts on a transition: `Some(progress)` while the stream goes on,
/// `None` once it has ended.
pub fn act(
    st: &mut Stream,
    cs: &mut ClientSide,
    cx: &mut Cx,
    key: usize,
    t: Transition,
) -> Option<bool> {
    match t {
        Transition::Continue(p) => Some(p),
        Transition::Error(status, term) => {
            error_reply(st, cs, cx, key, status, term);
            Some(true)
        }
        Transition::ServerFailed => {
            let next = connect::replay(st, cs, cx, key);
            act(st, cs, cx, key, next)
        }
        Transition::Finish => {
            end::finish(st, cs, cx, key);
            None
        }
        Transition::Close(term) => {
            st.term = term;
            close(st, cs, cx, key);
            None
        }
        Transition::Abort(term) => {
            if st.term.is_normal() {
                st.term = term;
            }
            close(st, cs, cx, key);
            None
        }
    }
}

/// Ends the stream and its client connection (an abort, an error, a
/// tunnel's end).
fn close(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx, key: usize) {
    cs.close_after = true;
    st.srv_keep_alive = false;
    end::finish(st, cs, cx, key);
}

/// The server side failed before a response reached the client: an error
/// page instead (400, 502, 503, 504), and the connection closes after it.
fn error_reply(
    st: &mut Stream,
    cs: &mut ClientSide,
    cx: &mut Cx,
    key: usize,
    status: u16,
    term: Termination,
) {
    st.side
        .release(cx, Release::Discard, tokens::stream_task(key));
    st.phase = Phase::LocalReply;
    st.to_cli.reset();
    let backend = st.counted.then_some(st.side.backend);
    reply::error(cx, cs.frontend, backend, status, st.to_cli.vec());
    st.status = i32::from(status);
    st.term = term;
    cs.close_after = true;
}

/// Sends a response weir made, then ends the stream.
fn local_step(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx) -> Transition {
    match st.to_cli.flush(&mut cs.conn) {
        Ok(n) => {
            st.bytes_out += n as u64;
            if n > 0 {
                cs.active = cx.now;
            }
            if st.to_cli.is_empty() && cs.conn.flushed() {
                return Transition::Finish;
            }
            Transition::Continue(n > 0)
        }
        Err(_) => Transition::Close(Termination::client(At::Data)),
    }
}

/// Reads the request body's next bytes through a pipe when it streams
/// (see `forward.rs`): the stream is exchanging, its head has gone, both
/// ends may splice, and the body has more than a buffer to come. `None`:
/// the caller reads into the buffer.
fn splice_request(
    st: &Stream,
    cs: &mut ClientSide,
    cx: &mut Cx,
    budget: usize,
) -> Option<std::io::Result<Fill>> {
    if st.phase != Phase::Exchange || !st.to_srv.is_empty() {
        return None;
    }
    if !st.req_body.wants_splice(&cs.req, cx.bufsize()) {
        return None;
    }
    if !st.side.conn.as_ref().is_some_and(|c| c.can_splice()) {
        return None;
    }
    splice_body_in(
        &mut cs.conn,
        &mut cs.req,
        &st.req_body,
        cx.pipes,
        cx.actconn,
        budget,
    )
}
