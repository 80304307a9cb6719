//! Service discovery through DNS (SPEC §12): the control process asks the
//! `[resolvers.NAME]` nameservers for the servers whose address is a host
//! name and for the `server_template`s, and writes what it learns into the
//! shared state ([`publish`]); workers never resolve and never wait.
//!
//! Each distinct (resolvers, name) is one [`Job`], whoever uses it, so a
//! name is asked once per interval for the whole service. A job's
//! resolution is a short list of queries asked one after the other: A then
//! AAAA for a host name; SRV for a name starting with `_`, then A and AAAA
//! for the targets the answer's additional section did not give. A query
//! goes over UDP from the control process's own loop (one socket per
//! section and address family), waits `timeout.retry`, is sent again to
//! the next nameserver up to `retries` times, and is asked again over TCP
//! when the answer is truncated.

pub mod codec;
mod publish;
pub mod stats;
mod types;
mod wire;

use super::{part_token, ControlCtx, Part};
use codec::{Answer, QType, Status};
use mio::net::UdpSocket;
use mio::Interest;
use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use types::{Failure, Found, Job, Query, Run, User};
use weir_core::config::model::Resolvers;
use weir_core::config::Config;

/// Tokens of the TCP queries start here (job number added); below are the
/// UDP sockets, two per section (IPv4, IPv6).
const TCP_BASE: usize = 1 << 20;
/// The largest answer read over UDP.
const UDP_MAX: usize = 65_535;
/// The shortest time between two resolutions of a name, whatever its TTL.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The discovery part of the control process.
pub struct Dns {
    part: usize,
    jobs: Vec<Job>,
    /// Per section: the IPv4 and IPv6 sockets.
    sockets: Vec<[Option<UdpSocket>; 2]>,
    rng: u64,
    buf: Vec<u8>,
    state: publish::State,
}

/// Builds the discovery part when some server or template is resolved.
pub fn factory(part: usize, cx: &mut ControlCtx) -> io::Result<Option<Box<dyn Part>>> {
    let jobs = jobs(cx.config, cx.now);
    if jobs.is_empty() {
        return Ok(None);
    }
    let mut sockets = Vec::new();
    for (r, res) in cx.config.resolvers.iter().enumerate() {
        sockets.push(open_sockets(cx, part, r, res)?);
    }
    let seed = RandomState::new().build_hasher().finish() | 1;
    Ok(Some(Box::new(Dns {
        part,
        jobs,
        sockets,
        rng: seed,
        buf: vec![0; UDP_MAX],
        state: publish::State::new(),
    })))
}

/// The jobs `config` asks for, each (resolvers, name, kind) once.
fn jobs(config: &Config, now: Instant) -> Vec<Job> {
    let mut out: Vec<Job> = Vec::new();
    let mut add = |resolvers: usize, name: &str, srv: bool, user: User| match out
        .iter_mut()
        .find(|j| j.resolvers == resolvers && j.name == name && j.srv == srv)
    {
        Some(j) => j.users.push(user),
        None => out.push(Job {
            resolvers,
            name: name.to_string(),
            srv,
            users: vec![user],
            next: now,
            run: None,
            failing: None,
            held_out: false,
            last: None,
        }),
    };
    for (b, be) in config.backends.iter().enumerate() {
        for (s, srv) in be.servers.iter().enumerate() {
            if let Some(d) = &srv.dns {
                let user = User::Server {
                    b,
                    s,
                    port: srv.addr.port(),
                };
                add(d.resolvers, &d.host, false, user);
            }
        }
        for (t, tpl) in be.templates.iter().enumerate() {
            add(
                tpl.resolvers,
                &tpl.name,
                tpl.name.starts_with('_'),
                User::Template { b, t },
            );
        }
    }
    out
}

fn open_sockets(
    cx: &mut ControlCtx,
    part: usize,
    r: usize,
    res: &Resolvers,
) -> io::Result<[Option<UdpSocket>; 2]> {
    let mut out = [None, None];
    for (fam, any) in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ]
    .into_iter()
    .enumerate()
    {
        if !res.nameservers.iter().any(|n| n.is_ipv4() == any.is_ipv4()) {
            continue;
        }
        let mut sock = UdpSocket::bind(SocketAddr::new(any, 0))?;
        cx.registry
            .register(&mut sock, part_token(part, r * 2 + fam), Interest::READABLE)?;
        out[fam] = Some(sock);
    }
    Ok(out)
}

impl Dns {
    fn next_id(&mut self) -> u16 {
        // xorshift64: query ids only need to be hard to guess for a
        // spoofer who cannot read the traffic; the source port is random too.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 24) as u16
    }

    /// Starts the resolutions due.
    fn start_due(&mut self, cx: &mut ControlCtx) {
        for j in 0..self.jobs.len() {
            let job = &mut self.jobs[j];
            if job.run.is_some() || job.next > cx.now {
                continue;
            }
            let mut steps = VecDeque::new();
            if job.srv {
                steps.push_back((job.name.clone(), QType::Srv));
            } else {
                steps.push_back((job.name.clone(), QType::A));
                steps.push_back((job.name.clone(), QType::Aaaa));
            }
            job.run = Some(Run {
                steps,
                current: None,
                records: Vec::new(),
                first: None,
                targets_asked: false,
                ns: 0,
            });
            self.next_step(cx, j);
        }
    }

    /// Sends the next query of job `j`'s resolution, or ends it.
    fn next_step(&mut self, cx: &mut ControlCtx, j: usize) {
        let step = self.jobs[j].run.as_mut().and_then(|r| r.steps.pop_front());
        let Some((name, qtype)) = step else {
            self.finish(cx, j);
            return;
        };
        let id = self.next_id();
        let r = self.jobs[j].resolvers;
        let ns = (id as usize) % cx.config.resolvers[r].nameservers.len().max(1);
        let q = Query {
            id,
            name,
            qtype,
            ns,
            sent: 0,
            deadline: cx.now,
            tcp: None,
        };
        if let Some(run) = self.jobs[j].run.as_mut() {
            run.current = Some(q);
        }
        self.send(cx, j);
    }

    /// An answer from nameserver `ns` of section `r`.
    fn on_answer(&mut self, cx: &mut ControlCtx, r: usize, ns: usize, bytes: &[u8], tcp: bool) {
        let answer = match codec::parse(bytes) {
            Ok(a) => a,
            Err(_) => {
                if let Some(c) = cx.dns.ns(r, ns) {
                    c.invalid += 1;
                }
                return;
            }
        };
        let waiting = self.jobs.iter().position(|job| {
            job.resolvers == r
                && job
                    .run
                    .as_ref()
                    .and_then(|run| run.current.as_ref())
                    .is_some_and(|q| {
                        q.id == answer.id
                            && q.ns == ns
                            && q.tcp.is_some() == tcp
                            && answer.question.as_deref()
                                == Some(codec::canonical(&q.name).as_str())
                    })
        });
        let Some(j) = waiting else {
            if let Some(c) = cx.dns.ns(r, ns) {
                c.outdated += 1;
            }
            return;
        };
        self.take_answer(cx, j, ns, answer);
    }

    /// Job `j`'s current query got `answer`.
    fn take_answer(&mut self, cx: &mut ControlCtx, j: usize, ns: usize, answer: Answer) {
        let r = self.jobs[j].resolvers;
        let over_tcp = self.jobs[j]
            .run
            .as_ref()
            .and_then(|r| r.current.as_ref())
            .is_some_and(|q| q.tcp.is_some());
        // Truncated over UDP: ask again over TCP (a truncated TCP answer
        // is taken as it is).
        if answer.truncated && !over_tcp {
            if let Some(c) = cx.dns.ns(r, ns) {
                c.truncated += 1;
            }
            if self.ask_tcp(cx, j).is_err() {
                if let Some(c) = cx.dns.ns(r, ns) {
                    c.other += 1;
                }
                self.fail(cx, j, Failure::Other);
            }
            return;
        }
        let Some(run) = self.jobs[j].run.as_mut() else {
            return;
        };
        let Some(q) = run.current.take() else { return };
        if let Some(t) = q.tcp {
            let _ = cx.registry.deregister(&mut { t.stream });
        }
        let first = run.first.is_none();
        if first {
            run.first = Some(answer.status);
            run.ns = ns;
        }
        if let Some(c) = cx.dns.ns(r, ns) {
            match answer.status {
                Status::NoError => c.valid += 1,
                Status::NxDomain => c.nx += 1,
                Status::Refused => c.refused += 1,
                Status::Other => c.other += 1,
            }
        }
        match answer.status {
            Status::NoError => run.records.extend(answer.records),
            // The name itself does not exist: AAAA will not either.
            Status::NxDomain if first => run.steps.clear(),
            Status::NxDomain => {}
            Status::Refused | Status::Other if first => {
                self.fail(cx, j, Failure::Other);
                return;
            }
            Status::Refused | Status::Other => {}
        }
        // An SRV answer: ask for the targets it gave no address for.
        let job = &mut self.jobs[j];
        if let Some(run) = job.run.as_mut() {
            if job.srv && !run.targets_asked && run.steps.is_empty() {
                run.targets_asked = true;
                for s in codec::srv_records(&run.records, &job.name) {
                    if codec::addresses(&run.records, &s.target).is_empty() {
                        run.steps.push_back((s.target.clone(), QType::A));
                        run.steps.push_back((s.target, QType::Aaaa));
                    }
                }
            }
        }
        self.next_step(cx, j);
    }

    /// Job `j`'s resolution ended without an address.
    fn fail(&mut self, cx: &mut ControlCtx, j: usize, why: Failure) {
        if let Some(mut run) = self.jobs[j].run.take() {
            if let Some(t) = run.current.take().and_then(|q| q.tcp) {
                let _ = cx.registry.deregister(&mut { t.stream });
            }
        }
        let res = &cx.config.resolvers[self.jobs[j].resolvers];
        let job = &mut self.jobs[j];
        job.next = cx.now + res.resolve;
        let since = match job.failing {
            Some((t, w)) if w == why => t,
            _ => {
                job.failing = Some((cx.now, why));
                job.held_out = false;
                cx.now
            }
        };
        let hold = match why {
            Failure::Nx => res.hold_nx,
            Failure::Timeout => res.hold_timeout,
            Failure::Other => res.hold_other,
        };
        let first = since == cx.now;
        let out = !job.held_out && cx.now.saturating_duration_since(since) >= hold;
        if first && why != Failure::Nx {
            cx.logger.warning(&format!(
                "resolvers {}: no usable answer for {} ({}): servers keep their addresses",
                res.name,
                job.name,
                why.word()
            ));
        } else if first && job.last.is_some() {
            cx.logger.warning(&format!(
                "resolvers {}: {} has no record (NX): its servers keep their addresses for \
                 hold.nx ({:?})",
                res.name, job.name, hold
            ));
        }
        if !out {
            return;
        }
        job.held_out = true;
        let (name, users) = (job.name.clone(), job.users.clone());
        if why == Failure::Nx {
            job.last = None;
            for u in users {
                self.state.gone(cx, u, &name, &res.name);
            }
        } else {
            cx.logger.warning(&format!(
                "resolvers {}: still no answer for {} after hold.{} ({:?}): servers keep \
                 their last addresses",
                res.name,
                name,
                if why == Failure::Timeout {
                    "timeout"
                } else {
                    "other"
                },
                hold
            ));
        }
    }

    /// Job `j`'s resolution ended: publish what it found.
    fn finish(&mut self, cx: &mut ControlCtx, j: usize) {
        let Some(run) = self.jobs[j].run.take() else {
            return;
        };
        let job = &self.jobs[j];
        let mut found: Vec<Found> = Vec::new();
        let mut ttl = u32::MAX;
        if job.srv {
            for s in codec::srv_records(&run.records, &job.name) {
                ttl = ttl.min(s.ttl);
                // The target's first address (records of both families).
                if let Some((ip, t)) = codec::addresses(&run.records, &s.target).first() {
                    ttl = ttl.min(*t);
                    found.push(Found {
                        addr: SocketAddr::new(*ip, s.port),
                        weight: s.weight,
                        priority: s.priority,
                    });
                }
            }
        } else {
            for (ip, t) in codec::addresses(&run.records, &job.name) {
                ttl = ttl.min(t);
                found.push(Found {
                    addr: SocketAddr::new(ip, 0),
                    weight: 1,
                    priority: 0,
                });
            }
        }
        if found.is_empty() {
            self.fail(cx, j, Failure::Nx);
            return;
        }
        let res = &cx.config.resolvers[job.resolvers];
        let ttl = Duration::from_secs(u64::from(ttl)).max(MIN_INTERVAL);
        let job = &mut self.jobs[j];
        job.next = cx.now + res.hold_valid.min(ttl);
        if let Some((_, why)) = job.failing.take() {
            cx.logger.notice(&format!(
                "resolvers {}: {} answered again (after {})",
                res.name,
                job.name,
                why.word()
            ));
        }
        job.held_out = false;
        found.sort_by_key(|f| (f.priority, f.addr));
        let changed = job.last.as_ref() != Some(&found);
        job.last = Some(found.clone());
        let users = job.users.clone();
        let ns = run.ns;
        let mut updated = false;
        for u in users {
            updated |= self.state.apply(cx, u, &found, &res.name);
        }
        if updated && changed {
            if let Some(c) = cx.dns.ns(self.jobs[j].resolvers, ns) {
                c.update += 1;
            }
        }
    }
}

impl Part for Dns {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn on_event(&mut self, cx: &mut ControlCtx, n: usize, _ev: &mio::event::Event) {
        if n >= TCP_BASE {
            self.on_tcp(cx, n - TCP_BASE);
        } else {
            self.read_udp(cx, n / 2, n % 2);
        }
    }

    fn on_timers(&mut self, cx: &mut ControlCtx) {
        self.expire(cx);
        self.start_due(cx);
    }

    fn next_timer(&self) -> Option<Instant> {
        self.jobs
            .iter()
            .map(|j| match j.run.as_ref().and_then(|r| r.current.as_ref()) {
                Some(q) => q.deadline,
                None => j.next,
            })
            .min()
    }
}
