//! DNS messages in and out, through the `simple-dns` codec (no I/O, no
//! runtime): queries for A, AAAA and SRV, answers reduced to the records
//! discovery uses, and the two-byte length that frames a message over TCP.
//! An answer is outside input: nothing here panics on it (fuzzed by
//! `fuzz/fuzz_targets/dns_answer.rs`).

use simple_dns::rdata::{RData, OPT};
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, RCODE, TYPE};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QType {
    A,
    Aaaa,
    Srv,
}

impl QType {
    fn wire(self) -> TYPE {
        match self {
            QType::A => TYPE::A,
            QType::Aaaa => TYPE::AAAA,
            QType::Srv => TYPE::SRV,
        }
    }
}

/// The answer's response code, as discovery counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NoError,
    /// NXDOMAIN.
    NxDomain,
    Refused,
    /// SERVFAIL, and any other code.
    Other,
}

/// One record discovery uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Addr {
        name: String,
        ip: IpAddr,
        ttl: u32,
    },
    Srv {
        name: String,
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
        ttl: u32,
    },
    Cname {
        name: String,
        target: String,
        ttl: u32,
    },
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub id: u16,
    /// TC: ask again over TCP.
    pub truncated: bool,
    pub status: Status,
    /// The question's name (lower case, no final dot), to match the query.
    pub question: Option<String>,
    /// Answer and additional records, in order.
    pub records: Vec<Record>,
}

/// A name as compared here: lower case, no final dot.
pub fn canonical(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The query for `name`, with EDNS0 advertising `payload` bytes when it
/// is above 512. `None` when `name` cannot be encoded.
pub fn query(id: u16, name: &str, qtype: QType, payload: u16) -> Option<Vec<u8>> {
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).ok()?;
    p.questions.push(Question::new(
        qname,
        qtype.wire().into(),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    if payload > 512 {
        *p.opt_mut() = Some(OPT {
            opt_codes: Vec::new(),
            udp_packet_size: payload,
            version: 0,
        });
    }
    p.build_bytes_vec().ok()
}

/// Parses an answer.
pub fn parse(bytes: &[u8]) -> Result<Answer, String> {
    let p = Packet::parse(bytes).map_err(|e| format!("invalid DNS message: {e}"))?;
    let status = match p.rcode() {
        RCODE::NoError => Status::NoError,
        RCODE::NameError => Status::NxDomain,
        RCODE::Refused => Status::Refused,
        _ => Status::Other,
    };
    let question = p.questions.first().map(|q| canonical(&q.qname.to_string()));
    let mut records = Vec::new();
    for rr in p.answers.iter().chain(&p.additional_records) {
        let name = canonical(&rr.name.to_string());
        let ttl = rr.ttl;
        match &rr.rdata {
            RData::A(a) => records.push(Record::Addr {
                name,
                ip: IpAddr::V4(Ipv4Addr::from(a.address)),
                ttl,
            }),
            RData::AAAA(a) => records.push(Record::Addr {
                name,
                ip: IpAddr::V6(Ipv6Addr::from(a.address)),
                ttl,
            }),
            RData::SRV(s) => records.push(Record::Srv {
                name,
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: canonical(&s.target.to_string()),
                ttl,
            }),
            RData::CNAME(c) => records.push(Record::Cname {
                name,
                target: canonical(&c.0.to_string()),
                ttl,
            }),
            _ => {}
        }
    }
    Ok(Answer {
        id: p.id(),
        truncated: p.has_flags(PacketFlag::TRUNCATION),
        status,
        question,
        records,
    })
}

/// The names `name` stands for: itself, then the CNAME chain (8 links at
/// most, so a loop ends).
fn aliases(records: &[Record], name: &str) -> Vec<String> {
    let mut out = vec![canonical(name)];
    for _ in 0..8 {
        let Some(last) = out.last() else { break };
        let next = records.iter().find_map(|r| match r {
            Record::Cname { name, target, .. } if name == last => Some(target.clone()),
            _ => None,
        });
        match next {
            Some(t) if !out.contains(&t) => out.push(t),
            _ => break,
        }
    }
    out
}

/// The addresses of `name` (through CNAMEs) with their TTL, in the
/// answer's order, each once.
pub fn addresses(records: &[Record], name: &str) -> Vec<(IpAddr, u32)> {
    let names = aliases(records, name);
    let mut out: Vec<(IpAddr, u32)> = Vec::new();
    for r in records {
        if let Record::Addr { name, ip, ttl } = r {
            if names.contains(name) && !out.iter().any(|(i, _)| i == ip) {
                out.push((*ip, *ttl));
            }
        }
    }
    out
}

/// An SRV record of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
    pub ttl: u32,
}

/// The SRV records of `name`, each (target, port) once, in the answer's
/// order.
pub fn srv_records(records: &[Record], name: &str) -> Vec<Srv> {
    let name = canonical(name);
    let mut out: Vec<Srv> = Vec::new();
    for r in records {
        if let Record::Srv {
            name: n,
            priority,
            weight,
            port,
            target,
            ttl,
        } = r
        {
            let dup = out.iter().any(|s| s.target == *target && s.port == *port);
            if *n == name && !dup && !target.is_empty() && *port != 0 {
                out.push(Srv {
                    priority: *priority,
                    weight: *weight,
                    port: *port,
                    target: target.clone(),
                    ttl: *ttl,
                });
            }
        }
    }
    out
}

/// Over TCP a message follows its length on two bytes: the first whole
/// message in `buf`, if it holds one.
pub fn tcp_message(buf: &[u8]) -> Option<&[u8]> {
    let len = u16::from_be_bytes([*buf.first()?, *buf.get(1)?]) as usize;
    buf.get(2..2 + len)
}

/// `msg` framed for TCP (`None` above 65535 bytes).
pub fn tcp_frame(msg: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(msg.len()).ok()?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::{A, CNAME, SRV};
    use simple_dns::ResourceRecord;

    fn reply(id: u16, tc: bool, rcode: RCODE, rrs: Vec<ResourceRecord<'_>>) -> Vec<u8> {
        let mut p = Packet::new_reply(id);
        if tc {
            p.set_flags(PacketFlag::TRUNCATION);
        }
        *p.rcode_mut() = rcode;
        p.questions.push(Question::new(
            Name::new_unchecked("_http._tcp.web.local"),
            TYPE::SRV.into(),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        for rr in rrs {
            p.answers.push(rr);
        }
        p.build_bytes_vec().unwrap()
    }

    fn a(name: &'static str, ip: [u8; 4]) -> ResourceRecord<'static> {
        let rd = RData::A(A {
            address: u32::from(Ipv4Addr::from(ip)),
        });
        ResourceRecord::new(Name::new_unchecked(name), CLASS::IN, 5, rd)
    }

    #[test]
    fn query_round_trips_with_edns() {
        let q = query(7, "api.internal", QType::Aaaa, 4096).unwrap();
        let p = Packet::parse(&q).unwrap();
        assert_eq!(p.id(), 7);
        assert_eq!(p.opt().map(|o| o.udp_packet_size), Some(4096));
        let q = query(7, "api.internal", QType::A, 512).unwrap();
        assert!(Packet::parse(&q).unwrap().opt().is_none());
    }

    #[test]
    fn srv_answer_with_targets() {
        let srv = |target: &'static str, prio, weight, port| {
            let rd = RData::SRV(SRV {
                priority: prio,
                weight,
                port,
                target: Name::new_unchecked(target),
            });
            ResourceRecord::new(
                Name::new_unchecked("_http._tcp.web.local"),
                CLASS::IN,
                30,
                rd,
            )
        };
        let bytes = reply(
            9,
            false,
            RCODE::NoError,
            vec![
                srv("a.web.local", 10, 5, 8001),
                srv("b.web.local", 20, 1, 8002),
                srv("a.web.local", 10, 5, 8001),
                a("A.web.local", [10, 0, 0, 1]),
            ],
        );
        let ans = parse(&bytes).unwrap();
        assert_eq!(ans.id, 9);
        assert_eq!(ans.status, Status::NoError);
        assert_eq!(ans.question.as_deref(), Some("_http._tcp.web.local"));
        let s = srv_records(&ans.records, "_http._tcp.web.local.");
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].priority, s[0].weight, s[0].port), (10, 5, 8001));
        let ips = addresses(&ans.records, "a.web.local");
        assert_eq!(ips, vec![(IpAddr::from([10, 0, 0, 1]), 5)]);
        assert!(addresses(&ans.records, "b.web.local").is_empty());
    }

    #[test]
    fn cname_chain_and_loop() {
        let cname = |from: &'static str, to: &'static str| {
            let rd = RData::CNAME(CNAME(Name::new_unchecked(to)));
            ResourceRecord::new(Name::new_unchecked(from), CLASS::IN, 5, rd)
        };
        let bytes = reply(
            1,
            true,
            RCODE::NameError,
            vec![
                cname("x.local", "y.local"),
                cname("y.local", "x.local"),
                a("y.local", [1, 2, 3, 4]),
            ],
        );
        let ans = parse(&bytes).unwrap();
        assert!(ans.truncated);
        assert_eq!(ans.status, Status::NxDomain);
        assert_eq!(addresses(&ans.records, "x.local").len(), 1);
    }

    /// What the fuzz target does, on a few thousand mutations of a real
    /// answer (flipped bytes, cut short, grown), so a plain `cargo test`
    /// already tries the parser on broken input.
    #[test]
    fn mutated_answers_never_panic() {
        let srv = RData::SRV(SRV {
            priority: 1,
            weight: 2,
            port: 80,
            target: Name::new_unchecked("a.web.local"),
        });
        let rr = ResourceRecord::new(
            Name::new_unchecked("_http._tcp.web.local"),
            CLASS::IN,
            5,
            srv,
        );
        let good = reply(
            3,
            false,
            RCODE::NoError,
            vec![rr, a("a.web.local", [10, 0, 0, 1])],
        );
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..5000 {
            let mut m = good.clone();
            match next() % 3 {
                0 => {
                    for _ in 0..1 + next() % 4 {
                        let i = (next() as usize) % m.len();
                        m[i] = next() as u8;
                    }
                }
                1 => m.truncate((next() as usize) % m.len()),
                _ => m.extend((0..next() % 16).map(|_| next() as u8)),
            }
            if let Ok(ans) = parse(&m) {
                for r in &ans.records {
                    let name = match r {
                        Record::Addr { name, .. }
                        | Record::Srv { name, .. }
                        | Record::Cname { name, .. } => name,
                    };
                    let _ = addresses(&ans.records, name);
                    let _ = srv_records(&ans.records, name);
                }
            }
            let _ = tcp_message(&m);
        }
    }

    #[test]
    fn garbage_and_framing() {
        assert!(parse(&[0, 1, 2]).is_err());
        assert_eq!(tcp_message(&[0, 2, 9, 9, 7]), Some(&[9, 9][..]));
        assert_eq!(tcp_message(&[0, 3, 9, 9]), None);
        assert_eq!(tcp_message(&[0]), None);
        assert_eq!(tcp_frame(&[1, 2]).unwrap(), vec![0, 2, 1, 2]);
    }
}
