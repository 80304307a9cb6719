//! The logger's batching, end to end over a unix datagram socket.

use super::*;
use std::path::PathBuf;

/// A unix datagram receiver in a fresh directory, and a logger to it.
fn receiver(tag: &str) -> (PathBuf, UnixDatagram, Logger) {
    let dir = std::env::temp_dir().join(format!("weir-logger-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("log.sock");
    let _ = std::fs::remove_file(&path);
    let rx = UnixDatagram::bind(&path).unwrap();
    rx.set_nonblocking(true).unwrap();
    let logger = Logger::new(&[LogTarget::Unix(path)], 16, LogLevel::Info).unwrap();
    (dir, rx, logger)
}

fn received(rx: &UnixDatagram) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 128 * 1024];
    while let Ok(n) = rx.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// The message of a datagram, after checking its syslog header.
fn message(d: &str, pri: u8) -> &str {
    let rest = d.strip_prefix(&format!("<{pri}>")).expect(d);
    let (date, rest) = rest.split_at(15);
    assert_eq!(date.as_bytes()[3], b' ', "{d}");
    assert_eq!(&date[9..10], ":", "{d}");
    let tag = format!(" weir[{}]: ", std::process::id());
    rest.strip_prefix(tag.as_str()).expect(d)
}

#[test]
fn immediate_by_default_batched_until_flushed() {
    let (dir, rx, mut logger) = receiver("batch");
    logger.info("one");
    logger.debug("not at info level");
    let got = received(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(message(&got[0], 134), "one");

    logger.set_batched(true);
    logger.notice("two");
    logger.log_with(LogLevel::Info, |out| out.extend_from_slice(b"three"));
    assert!(received(&rx).is_empty(), "batched lines wait for flush");
    logger.flush();
    let got = received(&rx);
    let msgs: Vec<&str> = got
        .iter()
        .zip([133, 134])
        .map(|(d, pri)| message(d, pri))
        .collect();
    assert_eq!(msgs, ["two", "three"]);

    // A full batch leaves without waiting for the flush; what a short
    // unix queue refuses goes at the next flushes, in order.
    for i in 0..batch::MAX_LINES {
        logger.info(&format!("l{i}"));
    }
    let mut got = received(&rx);
    assert!(!got.is_empty(), "a full batch is sent at once");
    for _ in 0..batch::MAX_LINES {
        logger.flush();
        got.extend(received(&rx));
    }
    let msgs: Vec<&str> = got.iter().map(|d| message(d, 134)).collect();
    let want: Vec<String> = (0..batch::MAX_LINES).map(|i| format!("l{i}")).collect();
    assert_eq!(msgs, want);
    assert_eq!(logger.dropped(), 0);

    // A line longer than a batch goes alone, after those queued.
    logger.info("before");
    let long = "x".repeat(batch::MAX_BYTES + 1);
    logger.info(&long);
    logger.info("after");
    logger.flush();
    let got = received(&rx);
    let msgs: Vec<&str> = got.iter().map(|d| message(d, 134)).collect();
    assert_eq!(msgs, ["before", long.as_str(), "after"]);

    // Dropping the logger sends what is queued.
    logger.info("last");
    drop(logger);
    let got = received(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(message(&got[0], 134), "last");
    std::fs::remove_dir_all(dir).unwrap();
}
