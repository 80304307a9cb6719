//! Log formats, end to end: `json` lines received by a syslog socket in
//! the test are each parsed as JSON while clients send hostile request
//! lines and headers (quotes, backslashes, tabs, invalid UTF-8, very long
//! values) and a server hostile response headers; a custom format is
//! checked field by field against what the client did; TCP sessions in
//! both; `weir -c` points at an unknown alias's column.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;

use common::http::{backend, http_config, Client, Req};
use common::http_origin::HttpOrigin;
use common::logline::is_haproxy_date;
use common::origin::{echo_origin, Origin};
use common::syslog::Syslog;
use common::{free_port, one_server, tcp_config, Weir, DEADLINE};
use serde_json::Value;

/// Sends `request` on a new connection, reads until weir closes; returns
/// the client's port and what came back.
fn one_shot(port: u16, request: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to weir");
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let me = s.local_addr().unwrap().port();
    s.write_all(request).expect("send");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    (me, got)
}

/// An origin answering every request with a head carrying hostile bytes
/// in `X-Evil`, then closing.
fn evil_origin(evil: &'static [u8]) -> Origin {
    Origin::spawn(move |mut s| {
        let mut head = Vec::new();
        let mut b = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&b[..n]),
            }
        }
        let mut out = b"HTTP/1.1 200 OK\r\nServer: evil\r\nX-Evil: ".to_vec();
        out.extend_from_slice(evil);
        out.extend_from_slice(b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        let _ = s.write_all(&out);
        let _ = s.shutdown(Shutdown::Write);
    })
}

/// Every message received, each parsed as JSON (the test fails on any
/// that does not parse).
fn json_lines(syslog: &Syslog) -> Vec<Value> {
    syslog
        .messages(|m| m.starts_with(b"{"))
        .iter()
        .map(|m| {
            serde_json::from_slice(m)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(m)))
        })
        .collect()
}

const EVIL: &[u8] = b"r\"e\\s\tp \xff{|}# \xc3\xa9 \xe2\x82 \xf0\x9f\x98\x80";

#[test]
fn json_lines_parse_whatever_the_client_sent() {
    let syslog = Syslog::start();
    let origin = evil_origin(EVIL);
    let port = free_port();
    let frontend = format!(
        "log = \"{}\"\nlog_format = \"json\"\n\
         capture_request_header = [{{ name = \"X-Hostile\", len = 4096 }}, \
         {{ name = \"Host\", len = 64 }}, {{ name = \"X-Long\", len = 100 }}]\n\
         capture_response_header = [{{ name = \"X-Evil\", len = 64 }}]",
        syslog.target
    );
    let weir = Weir::start(&http_config(
        port,
        "",
        &frontend,
        &backend("be", "", &[origin.addr]),
    ));

    // Each case: request line, then header lines (raw bytes).
    let long: Vec<u8> = b"\"\\x".iter().copied().cycle().take(6000).collect();
    let all_high: Vec<u8> = (0x80..=0xffu8).collect();
    let mixed: Vec<u8> = b"\"\\\t\xff\xc3\xa9{}\xe2\x82"
        .iter()
        .copied()
        .cycle()
        .take(4090)
        .collect();
    let long_line: Vec<u8> = [&b"GET /"[..], &b"\"\\%"[..].repeat(2500), b"?x HTTP/1.1"].concat();
    let cases: Vec<(&[u8], Vec<Vec<u8>>)> = vec![
        (
            &long_line,
            vec![
                b"Host: c".to_vec(),
                [b"X-Hostile: ".to_vec(), mixed.clone()].concat(),
            ],
        ),
        (
            b"GET /a\"b\\c?q=\"x\"&y=\\\\ HTTP/1.1",
            vec![
                // Host is checked (a reg-name, an address): no quotes there.
                b"Host: h-o.st".to_vec(),
                b"X-Hostile: q\"uo\tte\\ {|} \xff\xfe \xc3\xa9 \xe2\x82 end".to_vec(),
            ],
        ),
        (
            b"GET / HTTP/1.1",
            vec![
                b"Host: a".to_vec(),
                [b"X-Hostile: ".to_vec(), all_high.clone()].concat(),
            ],
        ),
        (
            b"POST /\"\"\\\\\"?\\u0000 HTTP/1.1",
            vec![
                b"Host: b".to_vec(),
                [b"X-Long: ".to_vec(), long.clone()].concat(),
                b"X-Hostile: first".to_vec(),
                b"X-Hostile: \xf0\x9f\x98\x80 last wins \xc0\xaf".to_vec(),
                b"Content-Length: 0".to_vec(),
            ],
        ),
    ];
    let mut sent = Vec::new();
    for (line, headers) in &cases {
        let mut req = line.to_vec();
        req.extend_from_slice(b"\r\n");
        for h in headers {
            req.extend_from_slice(h);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        let (me, got) = one_shot(port, &req);
        assert!(
            got.starts_with(b"HTTP/1.1 200 "),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        sent.push(me);
    }
    // Refused before its head is parsed (a control byte): a line still.
    let (bad_port, got) = one_shot(
        port,
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Hostile: \x01\"\\\r\n\r\n",
    );
    assert!(got.starts_with(b"HTTP/1.1 400 "));

    common::wait_until(DEADLINE, "every JSON line", || {
        json_lines(&syslog).len() > cases.len()
    });
    let lines = json_lines(&syslog);
    let by_port = |p: u16| {
        lines
            .iter()
            .find(|v| v["client_port"] == p)
            .unwrap_or_else(|| panic!("no line for client port {p}: {lines:#?}"))
    };
    let value_of = |headers: &[Vec<u8>], name: &str, max: usize| {
        let prefix = format!("{name}: ");
        headers
            .iter()
            .rev()
            .find_map(|h| h.strip_prefix(prefix.as_bytes()))
            .map(|v| String::from_utf8_lossy(&v[..v.len().min(max)]).into_owned())
    };
    for ((line, headers), &p) in cases.iter().zip(&sent) {
        let v = by_port(p);
        assert_eq!(v["mode"], "http");
        assert_eq!(v["client_ip"], "127.0.0.1");
        assert_eq!(v["status"], 200, "{v}");
        assert_eq!(v["server"], "s1");
        assert_eq!(v["termination_state"], "----");
        assert_eq!(v["request"], String::from_utf8_lossy(line).as_ref(), "{v}");
        let h = &v["request_headers"];
        for (name, max) in [("X-Hostile", 4096), ("Host", 64), ("X-Long", 100)] {
            match value_of(headers, name, max) {
                Some(want) => assert_eq!(h[name], want.as_str(), "{name}: {v}"),
                None => assert!(h[name].is_null(), "{name}: {v}"),
            }
        }
        assert_eq!(
            v["response_headers"]["X-Evil"],
            String::from_utf8_lossy(EVIL).as_ref(),
            "{v}"
        );
        assert!(is_haproxy_date(v["request_date"].as_str().unwrap()), "{v}");
        assert!(v["time_active"].as_u64().is_some(), "{v}");
        assert!(v["tls"].is_null());
    }
    let bad = by_port(bad_port);
    assert_eq!(bad["status"], 400);
    assert_eq!(bad["request"], "<BADREQ>");
    assert!(bad.get("request_headers").is_none(), "{bad}");
    assert!(bad["server"].is_null());
    drop(weir);
}

#[test]
fn custom_format_field_by_field() {
    let syslog = Syslog::start();
    let origin = HttpOrigin::start("o1");
    let port = free_port();
    let format =
        "%ci^%cp^%tr^%ft^%b^%s^%TR^%Tw^%Tc^%Tr^%Ta^%Tt^%ST^%B^%U^%ts^%tsc^%ac^%fc^%bc^%sc^\
                  %rc^%sq^%bq^%hr^%hs^%{+Q}r^%HM^%HU^%HV^%ID^%sslv^%sslc^%%^%{+Q}s^%{+Q}CC";
    let frontend = format!(
        "log = \"{}\"\nlog_format = '{format}'\n\
         capture_request_header = [{{ name = \"User-Agent\", len = 5 }}]\n\
         capture_response_header = [{{ name = \"X-Origin\" }}]",
        syslog.target
    );
    let weir = Weir::start(&http_config(
        port,
        "",
        &frontend,
        &backend("be", "", &[origin.addr]),
    ));

    let mut c = Client::connect(port);
    let me = c.local_addr();
    let req = Req::new("POST", "/form?x=1")
        .header("User-Agent", "agent/1.0")
        .body(b"a=1&b=2");
    let resp = c.exchange(&req);
    assert_eq!(resp.status, 200);
    let got = syslog.wait(1, DEADLINE, |m| m.starts_with(b"127.0.0.1^"));
    let line = String::from_utf8(got[0].clone()).unwrap();
    let f: Vec<&str> = line.split('^').collect();
    assert_eq!(f.len(), 36, "{line}");
    let num = |i: usize| -> i64 {
        f[i].parse()
            .unwrap_or_else(|_| panic!("field {i} of {line}"))
    };
    assert_eq!(f[0], "127.0.0.1");
    assert_eq!(num(1), i64::from(me.port()));
    assert!(is_haproxy_date(f[2]), "{line}");
    assert_eq!((f[3], f[4], f[5]), ("fe", "be", "s1"));
    for i in 6..12 {
        assert!(num(i) >= 0, "timer {i} of {line}");
    }
    assert!(num(10) >= num(9), "Ta >= Tr: {line}");
    assert_eq!(num(11), num(10), "Tt is Ta in HTTP mode: {line}");
    assert_eq!(num(12), 200);
    assert_eq!(num(13) as u64, resp.wire_len, "%B: bytes to the client");
    assert_eq!(
        num(14) as usize,
        req.bytes().len(),
        "%U: bytes from the client"
    );
    assert_eq!((f[15], f[16]), ("--", "----"));
    for i in 17..21 {
        assert!(num(i) >= 1, "counter {i} of {line}");
    }
    assert_eq!((f[21], f[22], f[23]), ("0", "0", "0"));
    assert_eq!(f[24], "{agent}", "captured, cut to len = 5");
    assert_eq!(f[25], "{o1}");
    assert_eq!(f[26], "\"POST /form?x=1 HTTP/1.1\"");
    assert_eq!((f[27], f[28], f[29]), ("POST", "/form?x=1", "HTTP/1.1"));
    assert_eq!(
        (f[30], f[31], f[32]),
        ("-", "-", "-"),
        "no unique id, no TLS"
    );
    assert_eq!((f[33], f[34], f[35]), ("%", "\"s1\"", "\"\""));
    drop(weir);
}

#[test]
fn tcp_sessions_in_json_and_custom_formats() {
    let syslog = Syslog::start();
    let origin = echo_origin();
    let (p1, p2) = (free_port(), free_port());
    let config = format!(
        "{}\n[listen.custom]\nmode = \"tcp\"\nbind = [\"127.0.0.1:{p2}\"]\nlog = \"{}\"\n\
         log_format = '%ci:%cp %ft %b/%s %B %U %ts %r %sslv'\n{}\n",
        tcp_config(p1, "", "", &one_server(origin.addr)),
        syslog.target,
        one_server(origin.addr)
    )
    .replace(
        "default_backend = \"be\"",
        &format!(
            "default_backend = \"be\"\nlog = \"{}\"\nlog_format = \"json\"",
            syslog.target
        ),
    );
    let weir = Weir::start(&config);
    let mut ports = Vec::new();
    for (port, n) in [(p1, 1000), (p2, 333)] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        ports.push(s.local_addr().unwrap().port());
        s.write_all(&vec![b'z'; n]).unwrap();
        let mut back = vec![0u8; n];
        s.read_exact(&mut back).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    }
    let json = syslog.wait(1, DEADLINE, |m| m.starts_with(b"{"));
    let v: Value = serde_json::from_slice(&json[0]).unwrap();
    assert_eq!(v["mode"], "tcp");
    assert_eq!(v["client_port"], ports[0]);
    assert_eq!(
        (v["bytes_sent"].as_u64(), v["bytes_received"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(v["termination_state"], "--");
    assert_eq!(v["server"], "s1");
    assert!(
        v.get("status").is_none() && v.get("request").is_none(),
        "{v}"
    );
    let custom = syslog.wait(1, DEADLINE, |m| m.starts_with(b"127.0.0.1:"));
    let want = format!("127.0.0.1:{} custom custom/s1 333 333 -- - -", ports[1]);
    assert_eq!(String::from_utf8_lossy(&custom[0]), want);
    drop(weir);
}

#[test]
fn weir_c_points_at_an_unknown_alias() {
    let dir = common::weir::TempDir::new("alias");
    let path = dir.path.join("weir.toml");
    let text = "[defaults]\nmode = \"http\"\n[frontend.fe]\nbind = \":8080\"\n\
                default_backend = \"be\"\nlog_format = \"%ci [%tr] \\\"%r\\\" %Tq %{+Z}s\"\n\
                [backend.be]\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n";
    std::fs::write(&path, text).unwrap();
    let out = Command::new(common::weir::bin())
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let p = path.display();
    assert!(
        err.contains(&format!(
            "{p}:6:32: error: in log_format: alias %Tq is not supported by weir"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{p}:6:39: error: in log_format: unknown flag \"Z\""
        )),
        "{err}"
    );
}
