//! Raising RLIMIT_NOFILE to what maxconn needs.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use weir_core::config::Config;
use weir_core::log::Logger;

/// Descriptors a worker needs besides two per connection: listeners, the
/// poller, the signal queue, log sockets, and some slack.
const RESERVE: u64 = 64;

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
        .unwrap_or(2 * maxconn + nbind + RESERVE);
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
        let fit = (now.saturating_sub(nbind + RESERVE) / 2).max(1);
        logger.warning(&format!(
            "FD limit ({now}) too low for maxconn={maxconn} (needs {wanted}); maxconn lowered to {fit} per worker"
        ));
        config.global.maxconn = fit as usize;
        for f in &mut config.frontends {
            f.maxconn = f.maxconn.min(fit as usize);
        }
    }
}
