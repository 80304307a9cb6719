//! What `/proc` says about processes and sockets: children, CPU affinity,
//! credentials, root directory, and which sockets listen or are connected.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

/// The children of `pid` (its forked workers, for a weir master).
pub fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// One field of `/proc/PID/status`, e.g. `Cpus_allowed_list`, trimmed.
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// True while `pid` exists and is not a zombie (a zombie has exited; in a
/// container nothing may reap re-parented processes).
pub fn alive(pid: i32) -> bool {
    match status_field(pid, "State") {
        Some(state) => !state.starts_with('Z') && !state.starts_with('X'),
        None => false,
    }
}

/// The process name (`/proc/PID/comm`).
pub fn comm(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Where `/proc/PID/root` points (the chroot of a process).
pub fn root_dir(pid: i32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/root")).ok()
}

/// The four ids of the `Uid:` or `Gid:` line (real, effective, saved, fs).
pub fn ids(pid: i32, field: &str) -> Vec<u32> {
    status_field(pid, field)
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// One row of `/proc/net/tcp`.
#[derive(Debug, Clone)]
pub struct TcpRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Kernel state number: 0x01 established, 0x0A listen, …
    pub state: u8,
    pub inode: u64,
}

pub const TCP_ESTABLISHED: u8 = 0x01;
pub const TCP_LISTEN: u8 = 0x0A;

fn parse_v4(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The address is printed as the host-order value of a network-order u32.
    let ip = Ipv4Addr::from(u32::from_be(ip));
    Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
}

/// Every IPv4 TCP socket of this network namespace.
pub fn tcp_rows() -> Vec<TcpRow> {
    let text = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            Some(TcpRow {
                local: parse_v4(f[1])?,
                remote: parse_v4(f[2])?,
                state: u8::from_str_radix(f[3], 16).ok()?,
                inode: f[9].parse().ok()?,
            })
        })
        .collect()
}

/// Port numbers of IPv6 listening sockets (weir might bind `[::]`).
fn tcp6_listening_ports() -> Vec<u16> {
    let text = fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 || f[3] != "0A" {
                return None;
            }
            let (_, port) = f[1].rsplit_once(':')?;
            u16::from_str_radix(port, 16).ok()
        })
        .collect()
}

/// True if some TCP socket listens on `port` (any address, IPv4 or IPv6).
pub fn is_listening(port: u16) -> bool {
    tcp_rows()
        .iter()
        .any(|r| r.state == TCP_LISTEN && r.local.port() == port)
        || tcp6_listening_ports().contains(&port)
}

/// The socket inodes held open by `pid`.
pub fn socket_inodes(pid: i32) -> Vec<u64> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let target = fs::read_link(e.ok()?.path()).ok()?;
        let t = target.to_str()?;
        t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
    })
    .collect()
}

/// Which of `pids` holds the accepted end of the client connection whose
/// local address is `client` (the proxy's side has `remote == client`).
pub fn owner_of_accepted(client: SocketAddr, pids: &[i32]) -> Option<i32> {
    let row = tcp_rows()
        .into_iter()
        .find(|r| r.remote == client && r.state == TCP_ESTABLISHED)?;
    pids.iter()
        .copied()
        .find(|&pid| socket_inodes(pid).contains(&row.inode))
}

/// Every live process with `arg` among its command-line arguments.
pub fn pids_with_arg(arg: &str) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    // The master's title puts its command line in one
                    // argument: a word of it counts too.
                    c.split(|&b| b == 0).any(|a| {
                        a == arg.as_bytes() || a.split(|&b| b == b' ').any(|w| w == arg.as_bytes())
                    })
                })
                .unwrap_or(false)
        })
        .filter(|&pid| alive(pid))
        .collect()
}
