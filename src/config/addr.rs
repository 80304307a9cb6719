//! Addresses: bind lines (`":80"`, `"[::]:80"`, `"fd@3"`), server addresses
//! (`"HOST:PORT"`, resolved once at load time) and log targets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use super::model::{BindAddr, LogTarget};

/// Parses a bind address: `":PORT"` or `"*:PORT"` (all IPv4 addresses),
/// `"IPV4:PORT"`, `"[IPV6]:PORT"`, or `"fd@N"`.
pub fn bind(s: &str) -> Result<BindAddr, String> {
    let bad = |why: &str| {
        format!(
            "invalid bind address \"{s}\": {why}; expected \":PORT\", \"IPV4:PORT\", \
             \"[IPV6]:PORT\" or \"fd@N\""
        )
    };
    if let Some(n) = s.strip_prefix("fd@") {
        return match n.parse::<i32>() {
            Ok(fd) if fd >= 0 => Ok(BindAddr::Fd(fd)),
            _ => Err(bad("the file descriptor must be a number ≥ 0")),
        };
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(bad("no port"));
    };
    let port = parse_port(port).map_err(|why| bad(&why))?;
    let ip = match host {
        "" | "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        h => {
            let h = h
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(h);
            if host.starts_with('[') != host.ends_with(']') || h.parse::<IpAddr>().is_err() {
                return Err(bad("not an IP address"));
            }
            if !host.starts_with('[') && h.contains(':') {
                return Err(bad("an IPv6 address must be written in brackets"));
            }
            h.parse().map_err(|_| bad("not an IP address"))?
        }
    };
    Ok(BindAddr::Inet(SocketAddr::new(ip, port)))
}

fn parse_port(port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(0) => Err("port 0 is not allowed".into()),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("\"{port}\" is not a port number (1-65535)")),
    }
}

/// Parses a server address `"HOST:PORT"`; a host name is resolved now, and
/// the first address it resolves to is used.
pub fn server(s: &str) -> Result<SocketAddr, String> {
    resolve(s).map_err(|why| format!("invalid server address \"{s}\": {why}"))
}

fn resolve(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return match addr.port() {
            0 => Err("port 0 is not allowed".into()),
            _ => Ok(addr),
        };
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err("expected HOST:PORT".into());
    };
    if host.is_empty() {
        return Err("no host; expected HOST:PORT".into());
    }
    if host.contains(':') && !host.starts_with('[') {
        return Err("an IPv6 address must be written in brackets, as [::1]:80".into());
    }
    let port = parse_port(port)?;
    match (host, port).to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("host \"{host}\" has no address")),
        Err(e) => Err(format!("cannot resolve \"{host}\": {e}")),
    }
}

/// Parses a log target: `"stderr"`, `"stdout"`, `"udp://HOST[:PORT]"`
/// (port 514 when absent) or `"unix:/PATH"`.
pub fn log_target(s: &str) -> Result<LogTarget, String> {
    let expected = "expected \"stderr\", \"stdout\", \"udp://HOST:PORT\" or \"unix:/PATH\"";
    match s {
        "stderr" => return Ok(LogTarget::Stderr),
        "stdout" => return Ok(LogTarget::Stdout),
        _ => {}
    }
    if let Some(rest) = s.strip_prefix("udp://") {
        let with_port = if rest.parse::<SocketAddr>().is_ok() || has_port(rest) {
            rest.to_string()
        } else {
            format!("{rest}:514")
        };
        return resolve(&with_port)
            .map(LogTarget::Udp)
            .map_err(|why| format!("invalid log target \"{s}\": {why}"));
    }
    if let Some(path) = s.strip_prefix("unix:") {
        if !path.starts_with('/') {
            return Err(format!(
                "invalid log target \"{s}\": the socket path must be absolute"
            ));
        }
        return Ok(LogTarget::Unix(PathBuf::from(path)));
    }
    Err(format!("invalid log target \"{s}\": {expected}"))
}

/// Whether `HOST:PORT` / `[V6]:PORT` carries a port (a bare IPv6 does not).
fn has_port(s: &str) -> bool {
    if s.starts_with('[') {
        s.contains("]:")
    } else {
        s.matches(':').count() == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        let inet = |s: &str| match bind(s) {
            Ok(BindAddr::Inet(a)) => a.to_string(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(inet(":80"), "0.0.0.0:80");
        assert_eq!(inet("*:80"), "0.0.0.0:80");
        assert_eq!(inet("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(inet("[::]:80"), "[::]:80");
        assert_eq!(inet("[::1]:443"), "[::1]:443");
        assert_eq!(bind("fd@3"), Ok(BindAddr::Fd(3)));
        for bad in [
            "80",
            ":0",
            ":99999",
            "localhost:80",
            "::1:80",
            "[::1:80",
            "fd@x",
            "fd@-1",
            "1.2.3:80",
        ] {
            let e = bind(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("invalid bind address \"{bad}\"")),
                "{e}"
            );
        }
    }

    #[test]
    fn server_addresses() {
        assert_eq!(
            server("10.0.0.1:8000").unwrap().to_string(),
            "10.0.0.1:8000"
        );
        assert_eq!(server("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert!(server("localhost:80").unwrap().ip().is_loopback());
        for bad in ["10.0.0.1", "10.0.0.1:0", ":80", "::1:80", "a:b"] {
            assert!(server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn log_targets() {
        assert_eq!(log_target("stderr"), Ok(LogTarget::Stderr));
        assert_eq!(log_target("stdout"), Ok(LogTarget::Stdout));
        assert_eq!(
            log_target("udp://127.0.0.1:5514"),
            Ok(LogTarget::Udp("127.0.0.1:5514".parse().unwrap()))
        );
        assert_eq!(
            log_target("udp://127.0.0.1"),
            Ok(LogTarget::Udp("127.0.0.1:514".parse().unwrap()))
        );
        assert_eq!(
            log_target("unix:/dev/log"),
            Ok(LogTarget::Unix("/dev/log".into()))
        );
        assert!(log_target("unix:dev/log").is_err());
        assert!(log_target("syslog").is_err());
    }
}
