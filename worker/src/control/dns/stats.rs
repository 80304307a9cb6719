//! The resolvers' counters, per nameserver, with HAProxy's names (`show
//! resolvers`). Kept in the control process, which alone asks.

use std::fmt::Write;
use std::net::SocketAddr;
use weir_core::config::model::Resolvers;

/// One nameserver's counters.
#[derive(Debug, Default, Clone)]
pub struct NsCounters {
    /// Queries sent (UDP and TCP).
    pub sent: u64,
    /// Queries that could not be sent.
    pub snd_error: u64,
    /// Answers used.
    pub valid: u64,
    /// Answers that changed a server.
    pub update: u64,
    /// NXDOMAIN answers.
    pub nx: u64,
    /// Queries without an answer in time.
    pub timeout: u64,
    /// REFUSED answers.
    pub refused: u64,
    /// Other error codes (SERVFAIL…), and TCP connections that failed.
    pub other: u64,
    /// Answers that did not parse or did not match the question.
    pub invalid: u64,
    /// Answers larger than accepted.
    pub too_big: u64,
    /// Truncated answers (asked again over TCP).
    pub truncated: u64,
    /// Answers to a query no longer waited for.
    pub outdated: u64,
}

impl NsCounters {
    /// Every answer in error.
    pub fn any_err(&self) -> u64 {
        self.nx + self.timeout + self.refused + self.other + self.invalid + self.too_big
    }
}

/// One `[resolvers.NAME]` section's counters.
#[derive(Debug, Clone)]
pub struct ResolverStats {
    pub name: String,
    pub nameservers: Vec<(SocketAddr, NsCounters)>,
}

/// Every section's, in the configuration's order.
#[derive(Debug, Default)]
pub struct DnsStats {
    pub resolvers: Vec<ResolverStats>,
}

impl DnsStats {
    pub fn new(config: &[Resolvers]) -> DnsStats {
        DnsStats {
            resolvers: config
                .iter()
                .map(|r| ResolverStats {
                    name: r.name.clone(),
                    nameservers: r
                        .nameservers
                        .iter()
                        .map(|a| (*a, NsCounters::default()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The counters of nameserver `ns` of section `r`.
    pub fn ns(&mut self, r: usize, ns: usize) -> Option<&mut NsCounters> {
        self.resolvers
            .get_mut(r)?
            .nameservers
            .get_mut(ns)
            .map(|(_, c)| c)
    }

    /// `show resolvers [NAME]`, HAProxy's layout; `None` for an unknown
    /// section.
    pub fn show(&self, only: Option<&str>) -> Option<String> {
        if only.is_some_and(|n| !self.resolvers.iter().any(|r| r.name == n)) {
            return None;
        }
        let mut out = String::new();
        for r in &self.resolvers {
            if only.is_some_and(|n| n != r.name) {
                continue;
            }
            let _ = writeln!(out, "Resolvers section {}", r.name);
            // HAProxy's lines: nameservers are named ns1, ns2… in the
            // order `nameservers` lists them.
            for (i, (_, c)) in r.nameservers.iter().enumerate() {
                let _ = writeln!(out, " nameserver ns{}:", i + 1);
                for (k, v) in [
                    ("sent", c.sent),
                    ("snd_error", c.snd_error),
                    ("valid", c.valid),
                    ("update", c.update),
                    ("cname", 0),
                    ("cname_error", 0),
                    ("any_err", c.any_err()),
                    ("nx", c.nx),
                    ("timeout", c.timeout),
                    ("refused", c.refused),
                    ("other", c.other),
                    ("invalid", c.invalid),
                    ("too_big", c.too_big),
                    ("truncated", c.truncated),
                    ("outdated", c.outdated),
                ] {
                    let _ = writeln!(out, "  {:<12} {v}", format!("{k}:"));
                }
            }
        }
        Some(out)
    }
}
