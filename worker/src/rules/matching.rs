//! One criterion against one exchange: the sample fetches and the match
//! operators, without allocating (a regex over bytes that are not UTF-8
//! is the one exception: it sees them lossily converted).

use std::net::IpAddr;

use weir_core::config::model::{Criterion, Fetch, MatchOp, Patterns};

use super::Sample;

/// Whether any pattern of `c` matches any value of its sample in `s`.
pub fn criterion_matches(c: &Criterion, s: &dyn Sample) -> bool {
    match &c.fetch {
        Fetch::Path => str_matches(c, s.path()),
        Fetch::Url => str_matches(c, s.url()),
        Fetch::Method => str_matches(c, s.method()),
        Fetch::Hdr(name) => s.any_header_value(name, &mut |v| str_matches(c, v)),
        Fetch::Src => match &c.patterns {
            Patterns::Net(nets) => src_matches(nets, s.src()),
            _ => false,
        },
        Fetch::DstPort => match &c.patterns {
            Patterns::Port(ranges) => {
                let p = s.dst_port();
                ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&p))
            }
            _ => false,
        },
        Fetch::Status => int_matches(c, i64::from(s.status())),
        Fetch::Sc { slot, counter } => int_matches(c, clamp(s.sc_counter(*slot, *counter))),
        Fetch::SrcTable { table, counter } => {
            int_matches(c, clamp(s.src_counter(*table, *counter)))
        }
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// An integer sample against `gt 10`-style patterns.
fn int_matches(c: &Criterion, v: i64) -> bool {
    match &c.patterns {
        Patterns::Int(pats) => pats.iter().any(|&(op, p)| op.holds(v, p)),
        _ => false,
    }
}

/// A string sample against string or regex patterns.
fn str_matches(c: &Criterion, v: &[u8]) -> bool {
    match &c.patterns {
        Patterns::Str(pats) => pats
            .iter()
            .any(|p| op_matches(c.op, c.ignore_case, v, p.as_bytes())),
        Patterns::Regex(res) => match std::str::from_utf8(v) {
            Ok(text) => res.iter().any(|r| r.is_match(text)),
            Err(_) => {
                let text = String::from_utf8_lossy(v);
                res.iter().any(|r| r.is_match(&text))
            }
        },
        Patterns::Net(_) | Patterns::Port(_) | Patterns::Int(_) => false,
    }
}

/// `v` against one string pattern `p` (stored lower-case when `ic`).
fn op_matches(op: MatchOp, ic: bool, v: &[u8], p: &[u8]) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if ic {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match op {
        // `Reg` comes with regex patterns; as a string it is an exact match.
        MatchOp::Exact | MatchOp::Reg => eq(v, p),
        MatchOp::Beg => v.len() >= p.len() && eq(&v[..p.len()], p),
        MatchOp::End => v.len() >= p.len() && eq(&v[v.len() - p.len()..], p),
        MatchOp::Sub => p.is_empty() || v.windows(p.len()).any(|w| eq(w, p)),
    }
}

/// The client address against network blocks; an IPv4-mapped IPv6 client
/// (`::ffff:10.1.2.3`, as a dual-stack listener reports IPv4 clients)
/// matches as the IPv4 address it carries.
fn src_matches(nets: &[(IpAddr, u8)], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|&(net, bits)| in_net(ip, net, bits))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let shift = 32u32.saturating_sub(u32::from(bits));
            let mask = u32::MAX.checked_shl(shift).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let shift = 128u32.saturating_sub(u32::from(bits));
            let mask = u128::MAX.checked_shl(shift).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}
