//! The words of health checks in the logs, HAProxy's exactly (its
//! `srv_update_status`, `srv_append_status` and `set_server_check_status`),
//! so that tools and habits built on HAProxy's logs keep working:
//!
//! ```text
//! Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
//! Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.
//! Health check for server be/s1 failed, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 1ms, status: 2/3 UP.
//! backend be has no server available!
//! ```

use super::probe::Outcome;
use std::fmt::Write;
use weir_core::shm::check_status;

/// The [`check_status`] code of an outcome.
pub fn status_code(o: &Outcome) -> u64 {
    match o {
        Outcome::L4Ok => check_status::L4OK,
        Outcome::L4Tout => check_status::L4TOUT,
        Outcome::L4Con(_) => check_status::L4CON,
        Outcome::L6Ok => check_status::L6OK,
        Outcome::L6Tout => check_status::L6TOUT,
        Outcome::L6Rsp(_) => check_status::L6RSP,
        Outcome::L7Ok(_) => check_status::L7OK,
        Outcome::L7Tout => check_status::L7TOUT,
        Outcome::L7Rsp(_) => check_status::L7RSP,
        Outcome::L7Sts(..) => check_status::L7STS,
    }
}

/// HAProxy's description of an outcome.
pub fn reason(o: &Outcome) -> &'static str {
    match o {
        Outcome::L4Ok => "Layer4 check passed",
        Outcome::L4Tout => "Layer4 timeout",
        Outcome::L4Con(_) => "Layer4 connection problem",
        Outcome::L6Ok => "Layer6 check passed",
        Outcome::L6Tout => "Layer6 timeout",
        Outcome::L6Rsp(_) => "Layer6 invalid response",
        Outcome::L7Ok(_) => "Layer7 check passed",
        Outcome::L7Tout => "Layer7 timeout",
        Outcome::L7Rsp(_) => "Layer7 invalid response",
        Outcome::L7Sts(..) => "Layer7 wrong status",
    }
}

/// The HTTP status of an outcome, if any.
pub fn http_code(o: &Outcome) -> Option<u16> {
    match o {
        Outcome::L7Ok(c) | Outcome::L7Sts(c, _) => Some(*c),
        _ => None,
    }
}

/// `, reason: R[, code: C][, info: "I"], check duration: Nms`.
fn append_status(msg: &mut String, o: &Outcome, duration_ms: u64) {
    let _ = write!(msg, ", reason: {}", reason(o));
    if let Some(code) = http_code(o) {
        let _ = write!(msg, ", code: {code}");
    }
    let info = match o {
        Outcome::L4Con(i) | Outcome::L6Rsp(i) | Outcome::L7Rsp(i) => Some(i.as_str()),
        Outcome::L7Sts(_, i) if !i.is_empty() => Some(i.as_str()),
        _ => None,
    };
    if let Some(info) = info {
        let _ = write!(msg, ", info: \"{info}\"");
    }
    let _ = write!(msg, ", check duration: {duration_ms}ms");
}

/// Which server a line is about.
pub struct Who<'a> {
    pub backend: &'a str,
    pub server: &'a str,
    pub backup: bool,
}

/// The backend's servers able to take traffic after the change, and the
/// server's own figures.
pub struct Counts {
    pub active: usize,
    pub backup: usize,
    pub sessions: u64,
}

/// `Server B/S is DOWN…` or `Server B/S is UP…` (a backup server's line
/// starts with `Backup Server`).
pub fn transition(who: &Who, down: bool, o: &Outcome, duration_ms: u64, n: &Counts) -> String {
    let mut msg = format!(
        "{}Server {}/{} is {}",
        if who.backup { "Backup " } else { "" },
        who.backend,
        who.server,
        if down { "DOWN" } else { "UP" }
    );
    append_status(&mut msg, o, duration_ms);
    let on_backup = if n.backup > 0 && n.active == 0 {
        " Running on backup."
    } else {
        ""
    };
    if down {
        let _ = write!(
            msg,
            ". {} active and {} backup servers left.{on_backup} {} sessions active, 0 requeued, \
             0 remaining in queue.",
            n.active, n.backup, n.sessions
        );
    } else {
        let _ = write!(
            msg,
            ". {} active and {} backup servers online.{on_backup} 0 sessions requeued, \
             0 total in queue.",
            n.active, n.backup
        );
    }
    msg
}

/// `Health check for server B/S failed, …, status: 2/3 UP.`: a result
/// that did not change the state. `(n, of)` is how far the server is from
/// changing: successes out of `rise` when DOWN, remaining failures out of
/// `fall` when UP.
pub fn health_check(
    who: &Who,
    o: &Outcome,
    duration_ms: u64,
    (n, of): (u32, u32),
    down: bool,
) -> String {
    let mut msg = format!(
        "Health check for {}server {}/{} {}",
        if who.backup { "backup " } else { "" },
        who.backend,
        who.server,
        if o.passed() { "succeeded" } else { "failed" }
    );
    append_status(&mut msg, o, duration_ms);
    let _ = write!(
        msg,
        ", status: {n}/{of} {}.",
        if down { "DOWN" } else { "UP" }
    );
    msg
}

/// HAProxy's line when a backend's last usable server goes.
pub fn no_server(backend: &str) -> String {
    format!("backend {backend} has no server available!")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: Who = Who {
        backend: "be",
        server: "s1",
        backup: false,
    };

    #[test]
    fn haproxys_words() {
        let refused = Outcome::L4Con("Connection refused".into());
        let n = Counts {
            active: 1,
            backup: 0,
            sessions: 0,
        };
        assert_eq!(
            transition(&S1, true, &refused, 0, &n),
            "Server be/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", \
             check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, \
             0 requeued, 0 remaining in queue."
        );
        let n = Counts {
            active: 2,
            backup: 0,
            sessions: 0,
        };
        assert_eq!(
            transition(&S1, false, &Outcome::L7Ok(200), 1, &n),
            "Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. \
             2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
        );
        let sts = Outcome::L7Sts(500, "Internal Server Error".into());
        assert_eq!(
            health_check(&S1, &sts, 3, (2, 3), false),
            "Health check for server be/s1 failed, reason: Layer7 wrong status, code: 500, \
             info: \"Internal Server Error\", check duration: 3ms, status: 2/3 UP."
        );
        let bk = Who { backup: true, ..S1 };
        let n = Counts {
            active: 0,
            backup: 1,
            sessions: 4,
        };
        assert_eq!(
            transition(&bk, true, &Outcome::L4Tout, 2000, &n),
            "Backup Server be/s1 is DOWN, reason: Layer4 timeout, check duration: 2000ms. \
             0 active and 1 backup servers left. Running on backup. 4 sessions active, \
             0 requeued, 0 remaining in queue."
        );
        assert_eq!(no_server("be"), "backend be has no server available!");
    }

    #[test]
    fn layer6_over_tls() {
        let n = Counts {
            active: 0,
            backup: 0,
            sessions: 0,
        };
        let bad = Outcome::L6Rsp(
            "SSL handshake failure (invalid peer certificate: UnknownIssuer)".into(),
        );
        assert_eq!(
            transition(&S1, true, &bad, 3, &n),
            "Server be/s1 is DOWN, reason: Layer6 invalid response, info: \"SSL handshake failure \
             (invalid peer certificate: UnknownIssuer)\", check duration: 3ms. 0 active and 0 backup \
             servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
        );
        assert_eq!(
            health_check(&S1, &Outcome::L6Tout, 2000, (1, 3), false),
            "Health check for server be/s1 failed, reason: Layer6 timeout, check duration: 2000ms, \
             status: 1/3 UP."
        );
        let up = Counts { active: 1, ..n };
        assert_eq!(
            transition(&S1, false, &Outcome::L6Ok, 1, &up),
            "Server be/s1 is UP, reason: Layer6 check passed, check duration: 1ms. 1 active and 0 \
             backup servers online. 0 sessions requeued, 0 total in queue."
        );
        assert_eq!(
            (status_code(&Outcome::L6Ok), status_code(&bad)),
            (check_status::L6OK, check_status::L6RSP)
        );
    }
}
