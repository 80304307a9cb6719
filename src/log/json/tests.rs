//! The JSON layout: typed values, and every line valid JSON whatever the
//! client sent.

use super::*;
use crate::config::model::HeaderCapture;
use crate::log::record::tests::http;
use crate::log::record::{Captured, TlsInfo};
use crate::log::tcplog::tests::tcp;

fn line(r: &Record) -> serde_json::Value {
    let mut out = Vec::new();
    write(r, &mut out);
    assert!(!out.contains(&b'\n'), "one line");
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

fn cap(name: &str) -> HeaderCapture {
    HeaderCapture {
        name: name.into(),
        len: 64,
    }
}

#[test]
fn http_fields_typed() {
    let v = line(&http());
    assert_eq!(v["mode"], "http");
    assert_eq!(v["client_ip"], "127.0.0.1");
    assert_eq!(v["client_port"], 40112);
    assert_eq!(v["request_date"], "21/Nov/2026:16:00:00.123");
    assert_eq!(v["frontend"], "fe");
    assert_eq!(v["backend"], "be");
    assert_eq!(v["server"], "s1");
    assert_eq!(v["time_connect"], 1);
    assert_eq!(v["time_active"], 3);
    assert_eq!(v["status"], 200);
    assert_eq!(v["bytes_sent"], 145);
    assert_eq!(v["bytes_received"], 78);
    assert_eq!(v["termination_state"], "----");
    assert_eq!(v["redispatched"], false);
    assert_eq!(v["request"], "GET /index.html HTTP/1.1");
    assert!(v["tls"].is_null());
    assert!(v.get("request_headers").is_none(), "no captures configured");

    let none = line(&Record {
        server: None,
        status: -1,
        t_connect: -1,
        ..http()
    });
    assert!(none["server"].is_null() && none["status"].is_null());
    assert!(none["time_connect"].is_null());
}

#[test]
fn tcp_fields() {
    let v = line(&tcp());
    assert_eq!(v["mode"], "tcp");
    assert_eq!(v["termination_state"], "--");
    assert_eq!(v["time_total"], 12);
    assert!(v.get("status").is_none() && v.get("request").is_none());
    assert!(v.get("accept_date").is_some());
}

#[test]
fn hostile_bytes_stay_valid_json() {
    let names = [cap("X-A"), cap("Host"), cap("X-Missing")];
    let mut req = Captured::default();
    req.reset(3);
    let hostile: &[u8] =
        b"q\"uo\\te\t\x01\x1f\x7f \xc3\xa9 \xff\xfe bad \xe2\x82 cut \xf0\x9f\x98\x80";
    req.put(0, hostile, 1000);
    req.put(1, b"h\"}{,:", 64);
    let mut res = Captured::default();
    res.reset(0);
    let r = Record {
        request_line: "GET /\"\\\"?a=\\u0000 HTTP/1.1",
        req_captures: Some(Captures {
            names: &names,
            values: &req,
        }),
        res_captures: Some(Captures {
            names: &[],
            values: &res,
        }),
        tls: Some(TlsInfo {
            version: Some("TLSv1.3"),
            cipher: None,
            sni: Some("a\"b"),
            resumed: false,
        }),
        ..http()
    };
    let v = line(&r);
    assert_eq!(v["request"], "GET /\"\\\"?a=\\u0000 HTTP/1.1");
    let h = &v["request_headers"];
    assert_eq!(
        h["X-A"],
        "q\"uo\\te\t\u{1}\u{1f}\u{7f} é \u{fffd}\u{fffd} bad \u{fffd} cut 😀"
    );
    assert_eq!(h["Host"], "h\"}{,:");
    assert!(h["X-Missing"].is_null());
    assert!(v.get("response_headers").is_none());
    assert_eq!(v["tls"]["sni"], "a\"b");
    assert!(v["tls"]["cipher"].is_null());

    let mut raw = Vec::new();
    push_str(&mut raw, b"\x00\n\r\t\x7f\xff");
    assert_eq!(raw, b"\"\\u0000\\n\\r\\t\\u007f\\ufffd\"");
}

#[test]
fn every_byte_value_parses() {
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    for w in all.windows(3) {
        let mut out = Vec::new();
        push_str(&mut out, w);
        let s: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(s, String::from_utf8_lossy(w));
    }
}
