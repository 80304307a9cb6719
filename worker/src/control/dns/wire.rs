//! The wire side of discovery: queries sent over UDP (again to the next
//! nameserver after `timeout.retry`, up to `retries` times), datagrams
//! read and matched to the query waiting for them, and the TCP query that
//! replaces a truncated answer.

use super::types::{Failure, Tcp};
use super::{codec, Dns, TCP_BASE, UDP_MAX};
use crate::control::{part_token, ControlCtx};
use mio::net::TcpStream;
use mio::Interest;
use std::io::{self, Read, Write};

impl Dns {
    /// Sends job `j`'s current query (again) over UDP.
    pub(super) fn send(&mut self, cx: &mut ControlCtx, j: usize) {
        let r = self.jobs[j].resolvers;
        let res = &cx.config.resolvers[r];
        let id = self.next_id();
        let Some(q) = self.jobs[j].run.as_mut().and_then(|r| r.current.as_mut()) else {
            return;
        };
        if q.sent > 0 {
            // Sent again: to the next nameserver, with a new id.
            q.ns = (q.ns + 1) % res.nameservers.len().max(1);
            q.id = id;
        }
        q.sent += 1;
        q.deadline = cx.now + res.retry;
        let Some(&ns) = res.nameservers.get(q.ns) else {
            return;
        };
        let fam = usize::from(ns.is_ipv6());
        let sent = match (
            codec::query(q.id, &q.name, q.qtype, res.accepted_payload_size),
            self.sockets[r][fam].as_ref(),
        ) {
            (Some(bytes), Some(sock)) => sock.send_to(&bytes, ns).is_ok(),
            _ => false,
        };
        if let Some(c) = cx.dns.ns(r, q.ns) {
            match sent {
                true => c.sent += 1,
                false => c.snd_error += 1,
            }
        }
    }

    /// Reads every datagram waiting on socket `fam` of section `r`.
    pub(super) fn read_udp(&mut self, cx: &mut ControlCtx, r: usize, fam: usize) {
        loop {
            let got = match self.sockets.get(r).and_then(|s| s[fam].as_ref()) {
                Some(sock) => sock.recv_from(&mut self.buf),
                None => return,
            };
            let (n, from) = match got {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // An ICMP error for an earlier datagram: the timeout retries.
                Err(_) => continue,
            };
            let nameservers = &cx.config.resolvers[r].nameservers;
            let Some(ns) = nameservers.iter().position(|a| *a == from) else {
                continue;
            };
            let bytes = self.buf[..n].to_vec();
            self.on_answer(cx, r, ns, &bytes, false);
        }
    }

    /// Asks job `j`'s current query again over TCP, to the same nameserver.
    pub(super) fn ask_tcp(&mut self, cx: &mut ControlCtx, j: usize) -> io::Result<()> {
        let r = self.jobs[j].resolvers;
        let res = &cx.config.resolvers[r];
        let token = part_token(self.part, TCP_BASE + j);
        let Some(q) = self.jobs[j].run.as_mut().and_then(|r| r.current.as_mut()) else {
            return Ok(());
        };
        let ns = *res.nameservers.get(q.ns).ok_or(io::ErrorKind::NotFound)?;
        let msg = codec::query(q.id, &q.name, q.qtype, res.accepted_payload_size)
            .and_then(|m| codec::tcp_frame(&m))
            .ok_or(io::ErrorKind::InvalidInput)?;
        let mut stream = TcpStream::connect(ns)?;
        cx.registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        q.deadline = cx.now + res.retry;
        q.tcp = Some(Tcp {
            stream,
            out: msg,
            written: 0,
            input: Vec::new(),
        });
        if let Some(c) = cx.dns.ns(r, q.ns) {
            c.sent += 1;
        }
        Ok(())
    }

    /// An event on job `j`'s TCP query.
    pub(super) fn on_tcp(&mut self, cx: &mut ControlCtx, j: usize) {
        let Some(q) = self
            .jobs
            .get_mut(j)
            .and_then(|job| job.run.as_mut())
            .and_then(|r| r.current.as_mut())
        else {
            return;
        };
        let (ns, r) = (q.ns, self.jobs[j].resolvers);
        let Some(q) = self.jobs[j].run.as_mut().and_then(|r| r.current.as_mut()) else {
            return;
        };
        let Some(t) = q.tcp.as_mut() else { return };
        let mut failed = false;
        while t.written < t.out.len() {
            match t.stream.write(&t.out[t.written..]) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => t.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let mut chunk = [0u8; 4096];
        while !failed && t.written == t.out.len() {
            match t.stream.read(&mut chunk) {
                Ok(0) => {
                    failed = codec::tcp_message(&t.input).is_none();
                    break;
                }
                Ok(n) => {
                    t.input.extend_from_slice(&chunk[..n]);
                    if t.input.len() > UDP_MAX + 2 {
                        failed = true;
                    }
                    if codec::tcp_message(&t.input).is_some() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => failed = true,
            }
        }
        if let Some(msg) = codec::tcp_message(&t.input).map(<[u8]>::to_vec) {
            self.on_answer(cx, r, ns, &msg, true);
            return;
        }
        if failed {
            if let Some(c) = cx.dns.ns(r, ns) {
                c.other += 1;
            }
            self.fail(cx, j, Failure::Other);
        }
    }

    /// Queries past their deadline: sent again, or the resolution fails.
    pub(super) fn expire(&mut self, cx: &mut ControlCtx) {
        for j in 0..self.jobs.len() {
            let r = self.jobs[j].resolvers;
            let retries = cx.config.resolvers[r].retries;
            let Some(q) = self.jobs[j].run.as_ref().and_then(|r| r.current.as_ref()) else {
                continue;
            };
            if q.deadline > cx.now {
                continue;
            }
            if let Some(c) = cx.dns.ns(r, q.ns) {
                c.timeout += 1;
            }
            let answered = self.jobs[j].run.as_ref().is_some_and(|r| r.first.is_some());
            if q.tcp.is_none() && q.sent < retries {
                self.send(cx, j);
            } else if answered {
                // The name answered; only a later query (AAAA, an SRV
                // target) went unanswered: go on without it.
                if let Some(t) = self.jobs[j]
                    .run
                    .as_mut()
                    .and_then(|r| r.current.take())
                    .and_then(|q| q.tcp)
                {
                    let _ = cx.registry.deregister(&mut { t.stream });
                }
                self.next_step(cx, j);
            } else {
                self.fail(cx, j, Failure::Timeout);
            }
        }
    }
}
