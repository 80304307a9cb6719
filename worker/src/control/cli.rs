//! The runtime API on `global.stats_socket`: HAProxy's line protocol over
//! the unix socket the master bound before forking (a [`Part`] of the
//! control process).
//!
//! A connection sends one line: its commands (separated by `;`) run, the
//! answer is written and the connection closes. `prompt` makes it
//! interactive: each line's answer is followed by HAProxy's `\n> ` prompt,
//! until `quit` or EOF. Everything is non-blocking; a line is at most
//! [`MAX_LINE`] bytes, a connection idle for [`IDLE_TIMEOUT`] (or what
//! `set timeout cli` asked) is closed, and at most [`MAX_CONNS`]
//! connections are served at once.
//!
//! A line that ends with ` <<` starts a payload (HAProxy's syntax): the
//! lines that follow, up to an empty line, at most [`MAX_PAYLOAD`] bytes,
//! go with the command (`set ssl cert FILE <<`); in prompt mode each is
//! acknowledged with `+ `. The answer to `commit ssl cert` is held until
//! every worker has taken the certificate, at most [`COMMIT_WAIT`] (a
//! worker being restarted takes it when it starts).

use super::commands::{self, Session};
use super::{part_token, ControlCtx, Part};
use mio::net::{UnixListener, UnixStream};
use mio::Interest;
use slab::Slab;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

/// The longest command line accepted.
pub const MAX_LINE: usize = 16 * 1024;
/// How long a connection may stay silent (HAProxy's CLI default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once.
pub const MAX_CONNS: usize = 64;
/// The largest payload (`<<`) accepted.
pub const MAX_PAYLOAD: usize = 64 * 1024;
/// The longest a `commit ssl cert` answer waits for the workers.
pub const COMMIT_WAIT: Duration = Duration::from_secs(3);
/// How often a held answer checks the workers again.
const HOLD_CHECK: Duration = Duration::from_millis(5);

/// Token 0 is the listener; connection `k` is token `1 + k`.
const LISTENER: usize = 0;

struct Conn {
    sock: UnixStream,
    input: Vec<u8>,
    output: Vec<u8>,
    session: Session,
    /// The line in progress went over [`MAX_LINE`]: the rest of it is
    /// read and dropped, then the connection answers and closes.
    overflow: bool,
    /// Close once the output is written.
    closing: bool,
    deadline: Instant,
    /// A command whose payload is being read: the command, and the
    /// payload's lines so far.
    payload: Option<(String, String)>,
    /// An answer held until the workers have applied a commit.
    held: Option<Held>,
    /// The peer's EOF arrived (acted on once no answer is held).
    eof: bool,
}

/// An answer waiting for the workers.
struct Held {
    answer: String,
    /// Commits every worker must have applied.
    commits: u64,
    /// Written anyway from then on.
    until: Instant,
    /// When to look at the workers again.
    next_check: Instant,
}

/// The runtime API part.
pub struct Cli {
    part: usize,
    listener: UnixListener,
    conns: Slab<Conn>,
}

/// Builds the part if the master handed a socket over.
pub fn factory(part: usize, cx: &mut ControlCtx) -> std::io::Result<Option<Box<dyn Part>>> {
    let Some(std_listener) = cx.stats_socket else {
        return Ok(None);
    };
    let std_listener = std_listener.try_clone()?;
    std_listener.set_nonblocking(true)?;
    let mut listener = UnixListener::from_std(std_listener);
    cx.registry.register(
        &mut listener,
        part_token(part, LISTENER),
        Interest::READABLE,
    )?;
    Ok(Some(Box::new(Cli {
        part,
        listener,
        conns: Slab::new(),
    })))
}

impl Cli {
    fn accept(&mut self, cx: &mut ControlCtx) {
        loop {
            let (mut sock, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    cx.logger.warning(&format!("runtime API: accept: {e}"));
                    return;
                }
            };
            if self.conns.len() >= MAX_CONNS {
                continue; // dropped: closed at once
            }
            let entry = self.conns.vacant_entry();
            let token = part_token(self.part, 1 + entry.key());
            let interest = Interest::READABLE | Interest::WRITABLE;
            if cx.registry.register(&mut sock, token, interest).is_err() {
                continue;
            }
            entry.insert(Conn {
                sock,
                input: Vec::new(),
                output: Vec::new(),
                session: Session::default(),
                overflow: false,
                closing: false,
                deadline: cx.now + IDLE_TIMEOUT,
                payload: None,
                held: None,
                eof: false,
            });
        }
    }

    /// Reads what arrived, runs the complete lines, writes the answers;
    /// closes the connection when it is done.
    fn serve(&mut self, cx: &mut ControlCtx, k: usize) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        // Lines that waited behind a held answer.
        if !c.overflow {
            run_lines(c, cx);
        }
        let mut buf = [0u8; 4096];
        while !c.closing && !c.eof {
            // Behind a held answer, read no more than a line ahead (the
            // release reads on).
            if c.held.is_some() && c.input.len() > MAX_LINE {
                break;
            }
            match c.sock.read(&mut buf) {
                Ok(0) => {
                    c.eof = true;
                    break;
                }
                Ok(n) => {
                    c.input.extend_from_slice(&buf[..n]);
                    // A line longer than MAX_LINE, whether or not its end
                    // arrived in the same read.
                    let first_line = c.input.iter().position(|&b| b == b'\n');
                    if first_line.unwrap_or(c.input.len()) > MAX_LINE {
                        c.overflow = true;
                    }
                    if !c.overflow {
                        run_lines(c, cx);
                    }
                    if c.overflow {
                        overflowed(c);
                    }
                    // After the lines ran: `set timeout cli` counts at once.
                    c.deadline = cx.now + c.session.timeout.unwrap_or(IDLE_TIMEOUT);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(cx, k);
                    return;
                }
            }
        }
        if c.eof && c.held.is_none() {
            at_eof(c, cx);
        }
        self.finish(cx, k);
    }

    /// Writes what is ready; closes the connection when it is done.
    fn finish(&mut self, cx: &mut ControlCtx, k: usize) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        if flush(c).is_err() || (c.closing && c.held.is_none() && c.output.is_empty()) {
            self.close(cx, k);
        }
    }

    /// Releases a held answer once the workers have the commit (or it
    /// waited long enough), then goes on with the connection's input.
    fn release(&mut self, cx: &mut ControlCtx, k: usize) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        let Some(h) = c.held.as_mut() else {
            return;
        };
        if !cx.shared.certs.all_acked(h.commits) && cx.now < h.until {
            h.next_check = cx.now + HOLD_CHECK;
            return;
        }
        if let Some(h) = c.held.take() {
            c.output.extend_from_slice(h.answer.as_bytes());
        }
        c.deadline = cx.now + c.session.timeout.unwrap_or(IDLE_TIMEOUT);
        self.serve(cx, k);
    }

    fn close(&mut self, cx: &mut ControlCtx, k: usize) {
        if let Some(mut c) = self.conns.try_remove(k) {
            let _ = cx.registry.deregister(&mut c.sock);
        }
    }
}

/// The peer has sent everything: the lines left run (a last one without
/// its newline too, as `echo -n` sends it), then the connection closes
/// once answered (later, if one of them holds its answer).
fn at_eof(c: &mut Conn, cx: &mut ControlCtx) {
    if c.overflow {
        c.input = b"\n".to_vec();
        overflowed(c);
    }
    if c.closing {
        return;
    }
    if !c.input.is_empty() && !c.input.ends_with(b"\n") {
        c.input.push(b'\n');
    }
    run_lines(c, cx);
    if c.held.is_some() {
        return;
    }
    if c.payload.take().is_some() {
        c.output.extend_from_slice(
            b"The payload did not end with an empty line: nothing was done.\n\n",
        );
    }
    c.closing = true;
}

/// Runs every complete line of the connection's input (none while an
/// answer is held).
fn run_lines(c: &mut Conn, cx: &mut ControlCtx) {
    while !c.closing && c.held.is_none() {
        let Some(nl) = c.input.iter().position(|&b| b == b'\n') else {
            return;
        };
        let line: Vec<u8> = c.input.drain(..=nl).collect();
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some((_, text)) = c.payload.as_mut() {
            if !line.is_empty() {
                if text.len() + line.len() >= MAX_PAYLOAD {
                    c.payload = None;
                    c.output.extend_from_slice(b"Payload too long.\n\n");
                    c.closing = true;
                    return;
                }
                text.push_str(line);
                text.push('\n');
                if c.session.prompt {
                    c.output.extend_from_slice(b"+ ");
                }
                continue;
            }
            if let Some((command, text)) = c.payload.take() {
                run_command(c, cx, &command, Some(&text));
            }
            continue;
        }
        if let Some(command) = line.strip_suffix("<<").filter(|l| l.ends_with(' ')) {
            c.payload = Some((command.to_string(), String::new()));
            if c.session.prompt {
                c.output.extend_from_slice(b"+ ");
            }
            continue;
        }
        run_command(c, cx, line, None);
    }
}

/// Runs one line's commands; holds the answer if a commit asks for it.
fn run_command(c: &mut Conn, cx: &mut ControlCtx, line: &str, payload: Option<&str>) {
    let answer = commands::run_line(line, payload, &mut c.session, cx);
    match c.session.wait_commits.take() {
        Some(commits) if !cx.shared.certs.all_acked(commits) => {
            c.held = Some(Held {
                answer,
                commits,
                until: cx.now + COMMIT_WAIT,
                next_check: cx.now + HOLD_CHECK,
            });
        }
        _ => c.output.extend_from_slice(answer.as_bytes()),
    }
    // Not interactive (or just left prompt mode): one line only.
    c.closing = c.session.quit || !c.session.prompt;
}

/// Drops the over-long line; once its end arrived, answers and closes.
fn overflowed(c: &mut Conn) {
    match c.input.iter().position(|&b| b == b'\n') {
        Some(_) => {
            c.input.clear();
            c.output.extend_from_slice(b"Command line too long.\n\n");
            c.closing = true;
        }
        None => c.input.clear(),
    }
}

/// Writes what it can. `Err` when the peer is gone.
fn flush(c: &mut Conn) -> std::io::Result<()> {
    while !c.output.is_empty() {
        match c.sock.write(&c.output) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => {
                c.output.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Part for Cli {
    fn name(&self) -> &'static str {
        "runtime API"
    }

    fn on_event(&mut self, cx: &mut ControlCtx, n: usize, _ev: &mio::event::Event) {
        if n == LISTENER {
            self.accept(cx);
        } else {
            self.serve(cx, n - 1);
        }
    }

    fn on_timers(&mut self, cx: &mut ControlCtx) {
        let held: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.held.as_ref().is_some_and(|h| h.next_check <= cx.now))
            .map(|(k, _)| k)
            .collect();
        for k in held {
            self.release(cx, k);
        }
        let expired: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.held.is_none() && c.deadline <= cx.now)
            .map(|(k, _)| k)
            .collect();
        for k in expired {
            self.close(cx, k);
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.conns
            .iter()
            .map(|(_, c)| c.held.as_ref().map_or(c.deadline, |h| h.next_check))
            .min()
    }
}
