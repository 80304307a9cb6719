//! Per-proxy `log`: each syslog receiver (a UDP socket in the test) gets
//! the lines of the proxies that name it and no others; `"global"` adds
//! the global targets; a backend's own targets get the requests it
//! served; a proxy's `log_facility` sets the priority of its lines.

mod common;

use std::time::Duration;

use common::http::{backend, Client};
use common::http_origin::HttpOrigin;
use common::logline::HttpLog;
use common::syslog::Syslog;
use common::{free_port, Weir, DEADLINE};

/// The httplog lines received, as (frontend, backend, target).
fn lines(s: &Syslog) -> Vec<(String, String, String)> {
    s.datagrams()
        .iter()
        .filter_map(|d| HttpLog::parse(d.pid, &String::from_utf8_lossy(&d.message)))
        .map(|l| {
            (
                l.frontend,
                l.backend,
                l.request.split(' ').nth(1).unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn each_target_gets_its_proxies_lines_only() {
    let origin = HttpOrigin::start("o1");
    let (global, own, both, back) = (
        Syslog::start(),
        Syslog::start(),
        Syslog::start(),
        Syslog::start(),
    );
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let fe = |name: &str, port: u16, be: &str, extra: &str| {
        format!(
            "[frontend.{name}]\nbind = [\"127.0.0.1:{port}\"]\ndefault_backend = \"{be}\"\n{extra}\n"
        )
    };
    let config = format!(
        "[global]\nnbproc = 1\nlog = \"{g}\"\n\
         [defaults]\nmode = \"http\"\ntimeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\
         {}{}{}{}{}{}",
        fe("own", ports[0], "be", &format!("log = \"{}\"\nlog_facility = \"local3\"", own.target)),
        fe("plain", ports[1], "be", ""),
        fe("both", ports[2], "be", &format!("log = [\"global\", \"{}\"]", both.target)),
        fe("toback", ports[3], "logged", ""),
        backend("be", "", &[origin.addr]),
        backend("logged", &format!("log = \"{}\"", back.target), &[origin.addr]),
        g = global.target,
    );
    let weir = Weir::start(&config);
    for (port, path) in ports.iter().zip(["/own", "/plain", "/both", "/toback"]) {
        let mut c = Client::connect(*port);
        assert_eq!(c.get(path).status, 200);
    }
    let got = |s: &Syslog, n: usize| {
        common::wait_until(DEADLINE, "log lines", || lines(s).len() >= n);
        // Anything else would arrive with them, or right after.
        std::thread::sleep(Duration::from_millis(300));
        lines(s)
    };
    let t = |fe: &str, be: &str, path: &str| (fe.to_string(), be.to_string(), path.to_string());
    assert_eq!(got(&own, 1), [t("own", "be", "/own")]);
    assert_eq!(got(&both, 1), [t("both", "be", "/both")]);
    assert_eq!(got(&back, 1), [t("toback", "logged", "/toback")]);
    let mut g = got(&global, 2);
    g.sort();
    assert_eq!(g, [t("both", "be", "/both"), t("plain", "be", "/plain")]);

    // local3 (19) at info (6): <158>; the global targets keep local0.
    let pri = |s: &Syslog, what: &str| {
        s.datagrams()
            .iter()
            .find(|d| String::from_utf8_lossy(&d.message).contains(what))
            .map(|d| d.pri)
    };
    assert_eq!(pri(&own, "/own"), Some(158));
    assert_eq!(pri(&global, "/plain"), Some(134));
    // Event lines stay on the global targets.
    assert!(own
        .datagrams()
        .iter()
        .all(|d| d.message.starts_with(b"127.0.0.1:")));
    drop(weir);
}
