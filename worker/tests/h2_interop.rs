//! weir's HTTP/2 frame and HPACK layer against an independent
//! implementation, without sockets: Debian's python3-h2
//! (`h2_interop.py`) writes client byte streams that weir's
//! [`Connection`] reads, and reads the bytes weir writes, both as weir's
//! client (weir the server) and as weir's server (weir the client).

#[path = "../../tests/common/ci.rs"]
#[allow(dead_code)]
mod ci;

use std::path::{Path, PathBuf};
use std::process::Command;

use weir_worker::h2::conn::{Connection, Event, Role};
use weir_worker::h2::convert::to_h1_request;
use weir_worker::h2::semantics::Request;
use weir_worker::h2::{ErrorCode, Limit, Limits};

const PYTHON: &str = "/usr/bin/python3";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/h2_interop.py")
}

/// Whether python3-h2 is here (else the test skips, or fails under CI).
fn have_h2() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import h2, hyperframe"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        ci::skip("python3-h2 is not installed (apt-get install python3-h2)");
    }
    ok
}

fn python(args: &[&str]) -> String {
    let out = Command::new(PYTHON)
        .arg(script())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("weir-h2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Everything weir's server side makes of `bytes`: a line per event.
fn serve(c: &mut Connection, bytes: &[u8]) -> (Vec<String>, Option<weir_worker::h2::ConnError>) {
    let mut at = 0;
    let mut lines = Vec::new();
    loop {
        match c.receive(&bytes[at..], 0) {
            Ok(Some((n, e))) => {
                at += n;
                match e {
                    Event::Headers {
                        stream,
                        end_stream,
                        trailers,
                    } => {
                        let f = c.fields();
                        if trailers {
                            lines.push(format!(
                                "trailers {stream} {:?}",
                                f.get(0).map(|(n, v)| (
                                    String::from_utf8_lossy(n).into_owned(),
                                    String::from_utf8_lossy(v).into_owned()
                                ))
                            ));
                        } else {
                            let req = Request::parse(f).expect("python's request is valid");
                            let mut h1 = Vec::new();
                            to_h1_request(&req, f, end_stream, &mut h1);
                            lines
                                .push(format!("request {stream} {}", String::from_utf8_lossy(&h1)));
                        }
                    }
                    Event::Data {
                        stream,
                        data,
                        end_stream,
                    } => {
                        lines.push(format!(
                            "data {stream} {} {end_stream}",
                            String::from_utf8_lossy(data)
                        ));
                        c.release(stream, data.len());
                    }
                    Event::None => {}
                    other => lines.push(format!("{other:?}")),
                }
            }
            Ok(None) => return (lines, None),
            Err(e) => return (lines, Some(e)),
        }
    }
}

#[test]
fn python_client_streams_into_weir() {
    if !have_h2() {
        return;
    }
    let d = temp_dir("gen");
    python(&["gen", d.to_str().unwrap()]);

    let bytes = std::fs::read(d.join("client_request.bin")).unwrap();
    let mut c = Connection::new(Role::Server, Limits::default(), 0);
    let (lines, err) = serve(&mut c, &bytes);
    assert_eq!(err, None);
    assert_eq!(
        lines,
        [
            "request 1 POST /upload?x=1 HTTP/1.1\r\nhost: example.com\r\nuser-agent: python-h2\r\n\
             cookie: a=1; b=2\r\ntransfer-encoding: chunked\r\n\r\n",
            "data 1 hello  false",
            "data 1 world false",
            "trailers 1 Some((\"grpc-status\", \"0\"))",
            "request 3 GET / HTTP/1.1\r\nhost: example.com\r\n\r\n",
        ]
    );

    let bytes = std::fs::read(d.join("continuation_flood.bin")).unwrap();
    let mut c = Connection::new(Role::Server, Limits::default(), 0);
    let (_, err) = serve(&mut c, &bytes);
    let err = err.expect("the flood is refused");
    assert_eq!(
        (err.code, err.limit),
        (ErrorCode::ENHANCE_YOUR_CALM, Some(Limit::Continuation))
    );

    let bytes = std::fs::read(d.join("rapid_reset.bin")).unwrap();
    let mut c = Connection::new(Role::Server, Limits::default(), 0);
    let (lines, err) = serve(&mut c, &bytes);
    let err = err.expect("rapid reset is refused");
    assert_eq!(
        (err.code, err.limit),
        (ErrorCode::ENHANCE_YOUR_CALM, Some(Limit::RapidReset))
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("request")).count(),
        201
    );
    // weir's GOAWAY says so.
    assert!(c
        .output()
        .windows(b"rapid reset".len())
        .any(|w| w == b"rapid reset"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn weir_as_server_read_by_python_client() {
    if !have_h2() {
        return;
    }
    let d = temp_dir("server");
    python(&["gen", d.to_str().unwrap()]);
    let bytes = std::fs::read(d.join("client_request.bin")).unwrap();
    let mut c = Connection::new(Role::Server, Limits::default(), 0);
    let (_, err) = serve(&mut c, &bytes);
    assert_eq!(err, None);
    // A response head over the client's frame size (HEADERS + CONTINUATION),
    // a body, trailers; a plain response on stream 3; a final GOAWAY
    // (python-h2 takes the first GOAWAY as the end, so the double GOAWAY
    // of a graceful shutdown is tested in conn_tests, not here).
    let big = vec![b'v'; 20_000];
    c.send_headers(
        1,
        [
            (&b":status"[..], &b"200"[..]),
            (b"x-big", &big),
            (b"content-type", b"text/plain"),
        ],
        false,
    )
    .unwrap();
    assert_eq!(c.send_data(1, b"response body", false), Ok(13));
    c.send_headers(1, [(&b"grpc-status"[..], &b"0"[..])], true)
        .unwrap();
    c.send_headers(3, [(&b":status"[..], &b"404"[..])], true)
        .unwrap();
    c.finish_shutdown();
    let out = d.join("weir_server.bin");
    std::fs::write(&out, c.output()).unwrap();
    let events = python(&["as-client", out.to_str().unwrap()]);
    let want = [
        r#""event": "RemoteSettingsChanged""#,
        r#""event": "WindowUpdated", "stream_id": 0"#,
        r#""event": "SettingsAcknowledged""#,
        r#""event": "ResponseReceived", "stream_id": 1, "headers": [[":status", "200"], ["x-big", "vvvv"#,
        r#""event": "DataReceived", "stream_id": 1, "flow_controlled_length": 13, "data": "response body"}"#,
        r#""event": "TrailersReceived", "stream_id": 1, "headers": [["grpc-status", "0"]]}"#,
        r#""event": "StreamEnded", "stream_id": 1}"#,
        r#""event": "ResponseReceived", "stream_id": 3, "headers": [[":status", "404"]]}"#,
        r#""event": "StreamEnded", "stream_id": 3}"#,
        r#""event": "ConnectionTerminated", "error_code": 0, "last_stream_id": 3"#,
    ];
    let mut rest = events.as_str();
    for w in want {
        let at = rest.find(w).unwrap_or_else(|| {
            panic!(
                "{w} not found in order in:\n{}",
                events.replace(&"v".repeat(20_000), "v…")
            )
        });
        rest = &rest[at + w.len()..];
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn weir_as_client_read_by_python_server() {
    if !have_h2() {
        return;
    }
    let d = temp_dir("client");
    let mut c = Connection::new(Role::Client, Limits::default(), 0);
    let req: [(&[u8], &[u8]); 5] = [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":authority", b"backend:50051"),
        (b":path", b"/pkg.Service/Method"),
        (b"te", b"trailers"),
    ];
    let id = c.open_stream(req, false).unwrap();
    assert_eq!(c.send_data(id, b"\0\0\0\0\x05hello", true), Ok(10));
    let out = d.join("weir_client.bin");
    std::fs::write(&out, c.output()).unwrap();
    let events = python(&["as-server", out.to_str().unwrap()]);
    for w in [
        r#""event": "RemoteSettingsChanged""#,
        r#""event": "WindowUpdated", "stream_id": 0"#,
        r#""event": "RequestReceived", "stream_id": 1, "headers": [[":method", "POST"], [":scheme", "http"], [":authority", "backend:50051"], [":path", "/pkg.Service/Method"], ["te", "trailers"]]"#,
        r#""event": "DataReceived", "stream_id": 1, "flow_controlled_length": 10"#,
        r#""event": "StreamEnded", "stream_id": 1}"#,
    ] {
        assert!(events.contains(w), "{w} not in:\n{events}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
