//! Raising RLIMIT_NOFILE to what maxconn needs.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use weir_core::config::Config;
use weir_core::log::Logger;

/// Descriptors a worker needs besides its connections and pipes:
/// listeners, the poller, the signal queue, log sockets, and some slack.
const RESERVE: u64 = 64;

/// Descriptors `maxconn` connections need, with the pipes splicing may use
/// (at most `maxconn / 4`, two ends each): HAProxy's `maxsock`.
fn per_maxconn(maxconn: u64) -> u64 {
    2 * maxconn + 2 * (maxconn / 4)
}

/// The largest maxconn whose descriptors fit in `fds`.
fn fit(fds: u64) -> u64 {
    let mut m = fds * 2 / 5;
    while per_maxconn(m + 1) <= fds {
        m += 1;
    }
    while m > 1 && per_maxconn(m) > fds {
        m -= 1;
    }
    m.max(1)
}

/// Raises the soft (and if allowed the hard) limit. When the limit stays
/// below what `maxconn` needs and `ulimit_n` was not forced, lowers
/// `maxconn` so a worker never runs out of descriptors, and says so.
pub fn raise(config: &mut Config, logger: &Logger) {
    // Every listening socket the master holds (each shard of a sharded
    // frontend), which every process inherits at fork.
    let nbind = crate::bind::wanted(config).len() as u64;
    let maxconn = config.global.maxconn as u64;
    let wanted = config
        .global
        .ulimit_n
        .unwrap_or(per_maxconn(maxconn) + nbind + RESERVE);
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft >= wanted {
        return;
    }
    if setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted.max(hard)).is_err() {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, wanted.min(hard), hard);
    }
    let now = getrlimit(Resource::RLIMIT_NOFILE)
        .map(|(s, _)| s)
        .unwrap_or(soft);
    if now < wanted {
        let fit = fit(now.saturating_sub(nbind + RESERVE));
        logger.warning(&format!(
            "FD limit ({now}) too low for maxconn={maxconn} (needs {wanted}); maxconn lowered to {fit} per worker"
        ));
        config.global.maxconn = fit as usize;
        for f in &mut config.frontends {
            f.maxconn = f.maxconn.min(fit as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_are_counted_and_the_fit_is_the_largest_that_fits() {
        assert_eq!(per_maxconn(12_000), 30_000);
        assert_eq!(fit(30_000), 12_000);
        let m = fit(19_934);
        assert!(
            per_maxconn(m) <= 19_934 && per_maxconn(m + 1) > 19_934,
            "{m}"
        );
        assert_eq!(fit(0), 1);
    }
}
