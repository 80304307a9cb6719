//! The HTTP/2 attacks of issue 12 item 3, each from the scripted peer
//! (`tests/h2_peer.py`, raw frames): weir answers with a GOAWAY of the
//! right code, closes the connection, logs why and counts it in
//! `show info`; a canary client, in flight during the attack and one
//! after it, is served.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::h2::{self, have, info, peer, PeerOut};
use common::h2::{COMPRESSION_ERROR, ENHANCE_YOUR_CALM, FRAME_SIZE_ERROR, PROTOCOL_ERROR};
use common::http::{curl, DEFAULT_TIMEOUTS};
use common::http_origin::HttpOrigin;
use common::weir::TempDir;
use common::{free_port, wait_until, Weir, DEADLINE};

struct Setup {
    weir: Weir,
    port: u16,
    sock: PathBuf,
    origin: HttpOrigin,
    _dir: TempDir,
}

fn start(timeouts: &str) -> Setup {
    start_with(timeouts, "")
}

fn start_with(timeouts: &str, global: &str) -> Setup {
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let dir = TempDir::new("h2lim");
    let sock = dir.path.join("stats.sock");
    let cfg = format!(
        "[global]\nnbproc = 1\nlog = \"stderr\"\nstats_socket = \"{}\"\n{global}\n\n\
         [defaults]\nmode = \"http\"\n{timeouts}\n\n\
         [frontend.fe]\nbind = [\"127.0.0.1:{port}\"]\ndefault_backend = \"be\"\n\n\
         [backend.be]\nserver = [ {{ name = \"s1\", address = \"{}\" }} ]\n",
        sock.display(),
        origin.addr
    );
    Setup {
        weir: Weir::start(&cfg),
        port,
        sock,
        origin,
        _dir: dir,
    }
}

/// A curl in HTTP/2 to a slow target, started before the attack.
fn canary(port: u16) -> Child {
    Command::new("curl")
        .args([
            "-sS",
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("http://127.0.0.1:{port}/delay?ms=700"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl")
}

/// Runs attack `name`; checks its GOAWAY `code` and `reason`, the closed
/// connection, the log line, the `show info` counter, and the canaries.
fn attack(s: &Setup, name: &str, args: &[&str], code: u32, reason: &str, counter: &str) -> PeerOut {
    let c = canary(s.port);
    wait_until(DEADLINE, "the canary's request at the origin", || {
        s.origin
            .seen_targets()
            .iter()
            .any(|t| t.starts_with("/delay"))
    });
    let o = peer(name, s.port, args);
    assert_eq!(o.goaway_code(), Some(code), "{name}: {}", o.text);
    assert!(
        o.goaways.last().is_some_and(|g| g.2 == reason),
        "{name}: {}",
        o.text
    );
    assert!(o.closed, "{name}: the connection is closed: {}", o.text);
    let line = format!("HTTP/2 connection error: {reason}");
    wait_until(DEADLINE, &line, || s.weir.stderr().contains(&line));
    wait_until(DEADLINE, counter, || info(&s.sock, counter) == Some(1));
    // The canary in flight during the attack, and one after it.
    let out = c.wait_with_output().expect("canary");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{name}: canary"
    );
    let after = curl(s.port, "/after", &["--http2-prior-knowledge"]);
    assert_eq!(after.status, 200, "{name}: {after:?}");
    assert_eq!(curl(s.port, "/after-h1", &[]).status, 200, "{name}");
    o
}

fn ready() -> bool {
    have(&["curl"])
}

#[test]
fn rapid_reset() {
    if !ready() {
        return;
    }
    let s = start(DEFAULT_TIMEOUTS);
    let o = attack(
        &s,
        "rapid_reset",
        &[],
        ENHANCE_YOUR_CALM,
        "rapid reset: too many streams reset early",
        "H2RapidReset",
    );
    // The last stream weir took is in the GOAWAY (200 per window pass).
    assert!(o.goaways[0].0 >= 401, "{}", o.text);
}

#[test]
fn made_you_reset() {
    if !ready() {
        return;
    }
    let s = start(DEFAULT_TIMEOUTS);
    let o = attack(
        &s,
        "made_you_reset",
        &[],
        ENHANCE_YOUR_CALM,
        "too many streams reset for errors",
        "H2MadeYouReset",
    );
    // Before the limit, each stream was reset: a stream window overflow
    // (FLOW_CONTROL_ERROR) or DATA after END_STREAM (STREAM_CLOSED).
    assert_eq!(o.rst.get(&1), Some(&h2::FLOW_CONTROL_ERROR), "{}", o.text);
    assert_eq!(o.rst.get(&3), Some(&h2::STREAM_CLOSED), "{}", o.text);
}

#[test]
fn continuation_flood() {
    if !ready() {
        return;
    }
    let s = start(DEFAULT_TIMEOUTS);
    attack(
        &s,
        "continuation",
        &[],
        ENHANCE_YOUR_CALM,
        "too many CONTINUATION frames",
        "H2ContinuationFlood",
    );
}

#[test]
fn settings_ping_empty_data_and_priority_floods() {
    if !ready() {
        return;
    }
    let s = start(DEFAULT_TIMEOUTS);
    let floods = [
        ("settings_flood", "SETTINGS flood", "H2SettingsFlood"),
        ("ping_flood", "PING flood", "H2PingFlood"),
        ("empty_data", "empty frame flood", "H2EmptyFrameFlood"),
        ("priority_flood", "PRIORITY flood", "H2PriorityFlood"),
    ];
    for (name, reason, counter) in floods {
        attack(&s, name, &[], ENHANCE_YOUR_CALM, reason, counter);
    }
}

#[test]
fn hpack_bombs() {
    if !ready() {
        return;
    }
    let s = start(DEFAULT_TIMEOUTS);
    // A table entry referenced until the list is over 64 KiB.
    attack(
        &s,
        "hpack_bomb",
        &[],
        ENHANCE_YOUR_CALM,
        "header list over max_header_list_size",
        "H2HeaderListTooLarge",
    );
    // A dynamic table larger than weir allows.
    attack(
        &s,
        "table_size",
        &[],
        COMPRESSION_ERROR,
        "HPACK: table size update over the limit",
        "H2ProtocolErrors",
    );
}

#[test]
fn streams_over_max_concurrent_streams() {
    if !ready() {
        return;
    }
    let s = start_with(
        DEFAULT_TIMEOUTS,
        "h2 = { max_concurrent_streams = 10, refused_streams = 20 }",
    );
    // 10 streams held open (bodies that never end), then 30 more: each
    // refused, and past 20 refusals the connection goes.
    let o = attack(
        &s,
        "streams",
        &["40"],
        PROTOCOL_ERROR,
        "too many streams over max_concurrent_streams",
        "H2RefusedStreams",
    );
    assert_eq!(o.rst.get(&21), Some(&h2::REFUSED_STREAM), "{}", o.text);
}

#[test]
fn invalid_frames_are_connection_errors() {
    if !ready() {
        return;
    }
    let s = start(DEFAULT_TIMEOUTS);
    let cases = [
        ("ping_length", FRAME_SIZE_ERROR, "PING length is not 8"),
        ("data_stream0", PROTOCOL_ERROR, "DATA on stream 0"),
        (
            "window_zero",
            PROTOCOL_ERROR,
            "WINDOW_UPDATE of 0 on the connection",
        ),
        (
            "headers_even",
            PROTOCOL_ERROR,
            "HEADERS on a stream weir did not open",
        ),
    ];
    for (i, (what, code, reason)) in cases.into_iter().enumerate() {
        let o = peer("invalid", s.port, &[what]);
        assert_eq!(o.goaway_code(), Some(code), "{what}: {}", o.text);
        assert!(o.closed, "{what}: {}", o.text);
        let line = format!("HTTP/2 connection error: {reason}");
        wait_until(DEADLINE, &line, || s.weir.stderr().contains(&line));
        wait_until(DEADLINE, "H2ProtocolErrors", || {
            info(&s.sock, "H2ProtocolErrors") == Some(i as u64 + 1)
        });
    }
    assert_eq!(
        curl(s.port, "/after", &["--http2-prior-knowledge"]).status,
        200
    );
}

#[test]
fn a_window_held_at_zero_meets_the_client_timeout() {
    if !ready() {
        return;
    }
    let s = start(
        "timeout = { connect = \"1s\", client = \"1s\", server = \"5s\", http_keep_alive = \"1s\" }",
    );
    // SETTINGS_INITIAL_WINDOW_SIZE 0 and never a WINDOW_UPDATE: weir may
    // send the head, no DATA; the stream ends at timeout.client (cD).
    let o = peer("window_zero", s.port, &["/download?bytes=100000", "8"]);
    assert_eq!(o.status(1), Some(200), "{}", o.text);
    assert_eq!(o.data.get(&1), None, "{}", o.text);
    assert!(o.closed, "{}", o.text);
    use common::http::HttpLogs;
    let l = s.weir.wait_httplog("the stalled stream", DEADLINE, |l| {
        l.request.starts_with("GET /download")
    });
    assert!(l.termination.starts_with("cD"), "{l:?}");
    assert_eq!(
        curl(s.port, "/after", &["--http2-prior-knowledge"]).status,
        200
    );
}
