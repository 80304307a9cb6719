//! The compiler and renderer against HAProxy: the named layouts compiled
//! from HAProxy's definitions render what the hand-written ones do, and a
//! format exercising quoting, encodings and separators renders what
//! haproxy 2.6 logged for the same request.

use super::*;
use crate::config::model::HeaderCapture;
use crate::log::record::tests::http;
use crate::log::record::{Captured, Captures, TlsInfo};
use crate::log::tcplog::tests::tcp;
use crate::log::{httplog, tcplog};

fn render(f: &Format, r: &Record) -> String {
    let mut out = Vec::new();
    f.write(r, &mut out);
    String::from_utf8(out).unwrap()
}

fn compiled(text: &str) -> Format {
    Format::compile(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn errors(text: &str) -> Vec<(usize, String)> {
    match Format::compile(text) {
        Ok(_) => panic!("{text} compiled"),
        Err(e) => e.into_iter().map(|e| (e.offset, e.message)).collect(),
    }
}

#[test]
fn named_layouts_equal_their_definitions() {
    let http_fmt = compiled(httplog::HTTPLOG);
    let tcp_fmt = compiled(tcplog::TCPLOG);
    let mut req = Captured::default();
    req.reset(2);
    req.put(0, b"example.com", 64);
    req.put(1, b"a|b{c}\"#\xff", 64);
    let mut res = Captured::default();
    res.reset(1);
    let names = [];
    let caps = |values| Captures {
        names: &names,
        values,
    };
    let records = [
        http(),
        Record {
            server: None,
            status: -1,
            t_connect: -1,
            termination: *b"CR--",
            request_line: "<BADREQ>",
            ..http()
        },
        Record {
            req_captures: Some(caps(&req)),
            res_captures: Some(caps(&res)),
            tls: Some(TlsInfo::default()),
            retries: 2,
            redispatched: true,
            request_line: "GET /a\"b\\c?x HTTP/1.0",
            ..http()
        },
    ];
    for r in &records {
        assert_eq!(render(&http_fmt, r), httplog::render(r));
    }
    for r in [
        tcp(),
        Record {
            redispatched: true,
            retries: 1,
            ..tcp()
        },
    ] {
        assert_eq!(render(&tcp_fmt, &r), tcplog::render(&r));
    }
}

/// haproxy 2.6.12 with this format and these captures, for
/// `GET /a"b\c?q=1 HTTP/1.1` whose `X-A` header held quotes, a backslash,
/// braces, a bar, `#`, a tab, UTF-8 and an invalid byte, logged exactly
/// this (only the client port and the date differ).
#[test]
fn renders_what_haproxy_logs() {
    let f = compiled(
        "A %ci %{+Q}ci %{+Q}cp %{+Q}ft %{+Q}b %{+Q}s %{+Q}ST %{+Q}B %{+Q}ts %{+Q}tsc %{+Q}hr \
         %{+Q}hs %r %{+Q}HM %{+Q}HU %{+Q}HV %{+Q}ID %{+Q}sslv %{+Q}sslc %{+Q}tr %{+Q}TR %{+Q}rc  \
         %hr  %hs   x  %%  %{+E}r|%Tt|%U|%Ta",
    );
    let mut req = Captured::default();
    req.reset(2);
    req.put(0, b"hosthosthosthost", 10);
    req.put(1, b"x\"y\\z{|}#\t\xc3\xa9\xffend", 64);
    let mut res = Captured::default();
    res.reset(1);
    res.put(0, b"a\"b{c|d}#\xc3\xa9", 20);
    let names: [HeaderCapture; 0] = [];
    let r = Record {
        client: "127.0.0.1:54438".parse().unwrap(),
        bytes_out: 68,
        bytes_in: 81,
        t_request: 0,
        t_active: 4,
        t_total: 4,
        request_line: "GET /a\"b\\c?q=1 HTTP/1.1",
        req_captures: Some(Captures {
            names: &names,
            values: &req,
        }),
        res_captures: Some(Captures {
            names: &names,
            values: &res,
        }),
        ..http()
    };
    let hr = "{hosthostho|x#22y\\z#7B#7C#7D#23#09#C3#A9#FFend}";
    let hs = "{a#22b#7Bc#7Cd#7D#23#C3#A9}";
    let want = format!(
        "A 127.0.0.1 \"127.0.0.1\" 54438 \"fe\" \"be\" \"s1\" 200 68 -- ---- \"{hr}\" \"{hs}\" \
         GET /a#22b\\c?q=1 HTTP/1.1 \"GET\" \"/a#22b\\c?q=1\" \"HTTP/1.1\" \"\" \"\" \"\" \
         21/Nov/2026:16:00:00.123 0 0 {hr} {hs} x % GET /a#22b\\\\c?q=1 HTTP/1.1|4|81|4"
    );
    assert_eq!(render(&f, &r), want);

    // A bad request: no captures, so %hr and %hs leave nothing, not even
    // a doubled space; the request's parts are <BADREQ>, as in HAProxy.
    let bad = Record {
        server: None,
        status: 400,
        bytes_out: 0,
        termination: *b"PR--",
        request_line: "<BADREQ>",
        ..http()
    };
    let f = compiled("%{+Q}s %ST %ts %{+Q}hr %{+Q}hs %r %{+Q}HM %{+Q}HU %{+Q}HV %ID %sslv");
    assert_eq!(
        render(&f, &bad),
        "\"<NOSRV>\" 400 PR <BADREQ> \"<BADREQ>\" \"<BADREQ>\" \"<BADREQ>\" - -"
    );
}

#[test]
fn flags_and_separators() {
    let r = http();
    let f = compiled("  %{+X}ci:%{+X}cp  %{+Q}o %b %s %{-Q}s %ST  ");
    assert_eq!(render(&f, &r), "7F000001:9CB0 \"be\" \"s1\" s1 200 ");
    let f = compiled("[%{+Q,+E}r]");
    let r2 = Record {
        request_line: "GET /a\\b]c HTTP/1.1",
        ..http()
    };
    assert_eq!(render(&f, &r2), "[\"GET /a\\\\b\\]c HTTP/1.1\"]");
    // HTTP aliases in a TCP session.
    let f = compiled("%r %HM %TR %Tr %ST %tsc %hr|");
    assert_eq!(render(&f, &tcp()), "- - -1 -1 -1 ---- |");
}

#[test]
fn httpslog() {
    let f = super::httpslog();
    assert!(!f.pieces.is_empty());
    let plain = render(f, &http());
    assert!(
        plain.ends_with("\"GET /index.html HTTP/1.1\" 0/-/-/-/- -/-/-"),
        "{plain}"
    );
    let tls = Record {
        tls: Some(TlsInfo {
            version: Some("TLSv1.3"),
            cipher: Some("TLS13_AES_256_GCM_SHA384"),
            sni: Some("www.example.com"),
            resumed: true,
        }),
        ..http()
    };
    let line = render(f, &tls);
    assert!(line.starts_with(&httplog::render(&tls)), "{line}");
    assert!(
        line.ends_with(" 0/0/0/0/1 www.example.com/TLSv1.3/TLS_AES_256_GCM_SHA384"),
        "{line}"
    );
}

#[test]
fn errors_point_at_the_percent() {
    assert_eq!(
        errors("%ci %foo %sslvv"),
        [
            (4, "unknown alias %foo".to_string()),
            (9, "unknown alias %sslvv; did you mean `%sslv`?".to_string())
        ]
    );
    let e = errors("%ci %pid");
    assert_eq!(e[0].0, 4);
    assert!(e[0].1.contains("%pid is not supported by weir"), "{e:?}");
    let e = errors("x %{+Z}r %{Q}r");
    assert_eq!((e[0].0, e[1].0), (5, 11));
    assert!(e[0].1.contains("unknown flag \"Z\""), "{e:?}");
    assert!(e[1].1.contains("invalid flag \"Q\""), "{e:?}");
    let e = errors("%[src] %{+Q");
    assert_eq!((e[0].0, e[1].0), (0, 8));
    assert!(e[0].1.contains("%[src] is not supported"), "{e:?}");
    assert!(e[1].1.contains("without its closing"), "{e:?}");
    let e = errors("100% %-");
    assert_eq!((e[0].0, e[1].0), (3, 5));
    assert!(errors("a\nb")[0].1.contains("control character U+000A"));
}

#[test]
fn http_only_aliases_are_listed() {
    let f = compiled("%ci %r %{+Q}HU %ST");
    let got: Vec<(&str, usize)> = f.http_only().collect();
    assert_eq!(got, [("r", 4), ("HU", 7)]);
    assert!(!f.uses_captures());
    assert!(compiled("%hs").uses_captures());
}
