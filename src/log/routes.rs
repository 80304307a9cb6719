//! Which sinks a line goes to. Lines not about traffic go to the global
//! targets; a traffic line goes to its frontend's own `log` targets and
//! its backend's (a target both name written once), and to the global
//! targets for a proxy without its own `log` or with `"global"` among
//! them. Built once per worker; looking a route up allocates nothing.

use crate::config::model::{LogLevel, LogTarget, ProxyLog};
use crate::config::Config;
use std::io;

/// One sink of a route, with the facility and level its proxy set
/// (`None`: the global ones, which `-d` may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dest {
    pub sink: usize,
    own: Option<(u8, LogLevel)>,
}

impl Dest {
    pub fn facility(&self, global: u8) -> u8 {
        self.own.map_or(global, |o| o.0)
    }

    pub fn level(&self, global: LogLevel) -> LogLevel {
        self.own.map_or(global, |o| o.1)
    }

    /// Two destinations that would write the same datagram.
    fn same(&self, other: &Dest, facility: u8) -> bool {
        self.sink == other.sink && self.facility(facility) == other.facility(facility)
    }
}

/// The global route and each proxy's own (`None`: it has no `log`).
#[derive(Debug, Default)]
pub(super) struct Routes {
    global: Vec<Dest>,
    frontends: Vec<Option<Vec<Dest>>>,
    backends: Vec<Option<Vec<Dest>>>,
}

impl Routes {
    /// Only the global targets: these sinks.
    pub fn global(sinks: Vec<usize>) -> Routes {
        Routes {
            global: sinks
                .into_iter()
                .map(|sink| Dest { sink, own: None })
                .collect(),
            ..Routes::default()
        }
    }

    pub fn global_dests(&self) -> &[Dest] {
        &self.global
    }

    /// Adds a sink to the global targets (`-d`: stderr).
    pub fn add_global(&mut self, sink: usize) {
        let d = Dest { sink, own: None };
        if !self.global.contains(&d) {
            self.global.push(d);
        }
    }

    /// Stops writing to these sinks anywhere.
    pub fn drop_sinks(&mut self, sinks: &[usize]) {
        let keep = |d: &Dest| !sinks.contains(&d.sink);
        self.global.retain(keep);
        for r in self
            .frontends
            .iter_mut()
            .chain(&mut self.backends)
            .flatten()
        {
            r.retain(keep);
        }
    }

    /// Builds every proxy's route; `sink_of` opens (or finds) the sink of
    /// a target.
    pub fn build(
        &mut self,
        config: &Config,
        sink_of: &mut dyn FnMut(&LogTarget) -> io::Result<usize>,
    ) -> io::Result<()> {
        let mut route = |log: &Option<ProxyLog>| -> io::Result<Option<Vec<Dest>>> {
            let Some(log) = log else { return Ok(None) };
            let mut dests = Vec::new();
            if log.global {
                dests.extend_from_slice(&self.global);
            }
            for t in &log.targets {
                let own = Some((log.facility, log.level));
                dests.push(Dest {
                    sink: sink_of(t)?,
                    own,
                });
            }
            Ok(Some(dests))
        };
        let frontends = config
            .frontends
            .iter()
            .map(|f| route(&f.log))
            .collect::<io::Result<_>>()?;
        let backends = config
            .backends
            .iter()
            .map(|b| route(&b.log))
            .collect::<io::Result<_>>()?;
        self.frontends = frontends;
        self.backends = backends;
        Ok(())
    }

    /// The destinations of a traffic line: the frontend's (or the global
    /// ones), and the backend's own when it has some.
    pub fn traffic(&self, fe: usize, be: Option<usize>) -> (&[Dest], &[Dest]) {
        let front = self.frontends.get(fe).and_then(Option::as_deref);
        let back = be
            .and_then(|b| self.backends.get(b))
            .and_then(Option::as_deref);
        match (front, back) {
            (Some(f), Some(b)) => (f, b),
            (Some(f), None) => (f, &[]),
            // A backend with its own `log` takes the line from the global
            // targets of a frontend without one.
            (None, Some(b)) => (b, &[]),
            (None, None) => (&self.global, &[]),
        }
    }
}

/// The destinations of `a`, then those of `b` that `a` does not have
/// (same sink, same facility; `facility` is the global one).
pub(super) fn union<'a>(
    a: &'a [Dest],
    b: &'a [Dest],
    facility: u8,
) -> impl Iterator<Item = Dest> + 'a {
    let fresh = move |d: &&Dest| !a.iter().any(|x| x.same(d, facility));
    a.iter().chain(b.iter().filter(fresh)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(sink: usize, own: Option<(u8, LogLevel)>) -> Dest {
        Dest { sink, own }
    }

    #[test]
    fn union_writes_a_shared_target_once() {
        let info = Some((16, LogLevel::Info));
        let other = Some((17, LogLevel::Info));
        let a = [d(0, None), d(1, info)];
        let b = [d(1, info), d(2, info), d(1, other), d(0, None)];
        let got: Vec<Dest> = union(&a, &b, 0).collect();
        assert_eq!(got, [d(0, None), d(1, info), d(2, info), d(1, other)]);
    }

    #[test]
    fn traffic_routes() {
        let mut r = Routes::global(vec![0]);
        let own = vec![d(1, Some((16, LogLevel::Info)))];
        r.frontends = vec![None, Some(own.clone())];
        r.backends = vec![None, Some(own.clone())];
        assert_eq!(r.traffic(0, Some(0)), (&r.global[..], &[][..]));
        assert_eq!(r.traffic(0, Some(1)), (&own[..], &[][..]));
        assert_eq!(r.traffic(1, None), (&own[..], &[][..]));
        assert_eq!(r.traffic(1, Some(1)), (&own[..], &own[..]));
        r.drop_sinks(&[1]);
        assert_eq!(r.traffic(1, None), (&[][..], &[][..]));
    }
}
