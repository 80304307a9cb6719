//! Statistics: one view of the whole service, rendered from the
//! configuration and the shared state ([`weir_core::shm`]), so every
//! figure covers every worker, whichever process renders it (a worker for
//! the HTTP stats page, the control process for the runtime API).
//!
//! [`rows`] gathers the figures once, HAProxy's way: for each proxy, its
//! `FRONTEND` row, then one row per server and its `BACKEND` row (a
//! `[listen]` section is one proxy with all three). The renderers read the
//! rows:
//! - [`csv`]: HAProxy's CSV (`show stat`, `URI;csv`), in its column order;
//! - [`html`]: the stats page, one table per proxy;
//! - [`prometheus`]: the text exposition format;
//! - [`info`]: `show info`'s `Key: value` lines.

pub mod csv;
pub mod html;
pub mod info;
pub mod prometheus;

use weir_core::config::model::{Balance, Config, Mode};
use weir_core::shm::{unix_now, Px, SharedState, Srv};

/// What a row describes (HAProxy's `type` column: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Frontend = 0,
    Backend = 1,
    Server = 2,
}

/// The figures of one row. `None` is an empty CSV field: weir has no such
/// figure for this kind of row.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub kind: Option<Kind>,
    pub pxname: String,
    pub svname: String,
    /// Proxy id (1-based, a `[listen]` section's halves share it) and
    /// server id (1-based; 0 for FRONTEND and BACKEND).
    pub iid: usize,
    pub sid: usize,
    pub qcur: Option<u64>,
    pub qmax: Option<u64>,
    pub scur: u64,
    pub smax: u64,
    pub slim: Option<u64>,
    pub stot: u64,
    pub bin: u64,
    pub bout: u64,
    pub dreq: Option<u64>,
    pub dresp: Option<u64>,
    pub ereq: Option<u64>,
    pub econ: Option<u64>,
    pub eresp: Option<u64>,
    pub wretr: Option<u64>,
    pub wredis: Option<u64>,
    /// OPEN, UP, DOWN, MAINT, DRAIN, or "no check" (a server that is UP
    /// and not health-checked, as HAProxy says it).
    pub status: String,
    pub weight: Option<u64>,
    pub act: Option<u64>,
    pub bck: Option<u64>,
    pub chkfail: Option<u64>,
    pub chkdown: Option<u64>,
    /// Seconds since the last state change.
    pub lastchg: Option<u64>,
    pub downtime: Option<u64>,
    pub lbtot: Option<u64>,
    /// HAProxy's short check status (`L4OK`, `L7STS`…).
    pub check_status: Option<&'static str>,
    pub check_code: Option<u64>,
    pub check_duration: Option<u64>,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub hrsp: [u64; 6],
    pub req_tot: Option<u64>,
    pub cli_abrt: Option<u64>,
    pub srv_abrt: Option<u64>,
    /// Rise, fall, and the health counter (checked servers).
    pub check_rise: Option<u64>,
    pub check_fall: Option<u64>,
    pub addr: Option<String>,
    pub mode: &'static str,
    pub algo: Option<&'static str>,
}

impl Row {
    /// Whether the row reports an UP state (prometheus' `up`).
    pub fn is_up(&self) -> bool {
        matches!(self.status.as_str(), "UP" | "OPEN" | "no check" | "DRAIN")
    }
}

/// HAProxy's short name for a check result code (`Srv::CheckStatus`).
pub fn check_status_name(code: u64) -> &'static str {
    weir_core::shm::check_status::name(code)
}

/// HAProxy's description of a check status (the CSV's `check_desc`,
/// `check_statuses` in its `src/check.c`).
pub fn check_desc(status: &str) -> &'static str {
    match status {
        "INI" => "Initializing",
        "L4OK" => "Layer4 check passed",
        "L4TOUT" => "Layer4 timeout",
        "L4CON" => "Layer4 connection problem",
        "L6OK" => "Layer6 check passed",
        "L6TOUT" => "Layer6 timeout",
        "L6RSP" => "Layer6 invalid response",
        "L7OK" => "Layer7 check passed",
        "L7TOUT" => "Layer7 timeout",
        "L7RSP" => "Layer7 invalid response",
        "L7STS" => "Layer7 wrong status",
        "SOCKERR" => "Socket error",
        _ => "Unknown",
    }
}

/// HAProxy's name for a balance algorithm (the CSV's `algo`).
pub fn algo_name(b: &Balance) -> &'static str {
    match b {
        Balance::RoundRobin => "roundrobin",
        Balance::StaticRr => "static-rr",
        Balance::LeastConn => "leastconn",
        Balance::First => "first",
        Balance::Source => "source",
        Balance::Uri => "uri",
        Balance::Hdr(_) => "hdr",
        Balance::Random => "random",
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Tcp => "tcp",
        Mode::Http => "http",
    }
}

/// Proxy ids: frontends in order, then the backends that are not the back
/// half of a `[listen]` (those share their frontend's id).
fn proxy_ids(config: &Config) -> (Vec<usize>, Vec<usize>) {
    let fe: Vec<usize> = (1..=config.frontends.len()).collect();
    let mut next = config.frontends.len();
    let be = config
        .backends
        .iter()
        .map(
            |b| match config.frontends.iter().position(|f| f.name == b.name) {
                Some(i) => i + 1,
                None => {
                    next += 1;
                    next
                }
            },
        )
        .collect();
    (fe, be)
}

fn hrsp_px(p: &weir_core::shm::ProxyShm) -> [u64; 6] {
    [
        p.get(Px::Hrsp1xx),
        p.get(Px::Hrsp2xx),
        p.get(Px::Hrsp3xx),
        p.get(Px::Hrsp4xx),
        p.get(Px::Hrsp5xx),
        p.get(Px::HrspOther),
    ]
}

/// Every row, in HAProxy's order: by proxy id; in a proxy, FRONTEND, then
/// its servers, then BACKEND.
pub fn rows(config: &Config, shared: &SharedState) -> Vec<Row> {
    let (fe_ids, be_ids) = proxy_ids(config);
    let now = unix_now();
    let nbproc = config.global.nbproc.max(1) as u64;
    let mut out: Vec<(usize, u8, Row)> = Vec::new();
    for (i, fe) in config.frontends.iter().enumerate() {
        let Some(p) = shared.frontends.get(i) else {
            continue;
        };
        let row = Row {
            kind: Some(Kind::Frontend),
            pxname: fe.name.clone(),
            svname: "FRONTEND".into(),
            iid: fe_ids[i],
            scur: p.cur(),
            smax: p.get(Px::Smax),
            slim: Some(fe.maxconn as u64 * nbproc),
            stot: p.get(Px::Stot),
            bin: p.get(Px::Bin),
            bout: p.get(Px::Bout),
            dreq: Some(p.get(Px::Dreq)),
            dresp: Some(p.get(Px::Dresp)),
            ereq: Some(p.get(Px::Ereq)),
            status: "OPEN".into(),
            hrsp: hrsp_px(p),
            req_tot: Some(p.get(Px::ReqTot)),
            mode: mode_name(fe.mode),
            ..Row::default()
        };
        out.push((fe_ids[i], 0, row));
    }
    for (b, be) in config.backends.iter().enumerate() {
        let (Some(p), Some(servers)) = (shared.backends.get(b), shared.servers.get(b)) else {
            continue;
        };
        let mut weight = (0, 0);
        let (mut act, mut bck, mut lbtot) = (0, 0, 0);
        for (k, shm) in servers.iter().enumerate() {
            // Free slots are not shown; servers added at run time are.
            let Some(s) = shm.identity() else { continue };
            let maxconn = be
                .servers
                .get(k)
                .filter(|c| !s.runtime && c.name == s.name)
                .and_then(|c| c.maxconn);
            let status = match shm.status() {
                "UP" if !s.check => "no check",
                "MAINT" if shm.get(Srv::DnsMaint) != 0 => "MAINT (resolution)",
                st => st,
            };
            let checked = s.check && be.check.is_some();
            let usable = shm.usable();
            if usable && s.backup {
                bck += 1;
                weight.1 += u64::from(shm.weight());
            } else if usable {
                act += 1;
                weight.0 += u64::from(shm.weight());
            }
            lbtot += shm.get(Srv::Stot);
            let code = shm.get(Srv::CheckStatus);
            let row = Row {
                kind: Some(Kind::Server),
                pxname: be.name.clone(),
                svname: s.name.clone(),
                iid: be_ids[b],
                sid: k + 1,
                qcur: Some(0),
                qmax: Some(0),
                scur: shm.cur(),
                smax: shm.get(Srv::Smax),
                slim: maxconn.map(|m| m as u64),
                stot: shm.get(Srv::Stot),
                bin: shm.get(Srv::Bin),
                bout: shm.get(Srv::Bout),
                dresp: Some(0),
                econ: Some(shm.get(Srv::Econ)),
                eresp: Some(shm.get(Srv::Eresp)),
                wretr: Some(shm.get(Srv::Wretr)),
                wredis: Some(shm.get(Srv::Wredis)),
                status: status.into(),
                weight: Some(u64::from(shm.weight())),
                act: Some(u64::from(!s.backup)),
                bck: Some(u64::from(s.backup)),
                chkfail: checked.then(|| shm.get(Srv::ChkFail)),
                chkdown: checked.then(|| shm.get(Srv::ChkDown)),
                lastchg: Some(now.saturating_sub(shm.get(Srv::LastChange))),
                downtime: checked.then(|| shm.get(Srv::Downtime)),
                lbtot: Some(shm.get(Srv::Stot)),
                check_status: checked.then(|| check_status_name(code)),
                check_code: (checked && shm.get(Srv::CheckCode) > 0)
                    .then(|| shm.get(Srv::CheckCode)),
                check_duration: checked.then(|| shm.get(Srv::CheckDuration)),
                hrsp: [
                    shm.get(Srv::Hrsp1xx),
                    shm.get(Srv::Hrsp2xx),
                    shm.get(Srv::Hrsp3xx),
                    shm.get(Srv::Hrsp4xx),
                    shm.get(Srv::Hrsp5xx),
                    shm.get(Srv::HrspOther),
                ],
                req_tot: Some(shm.get(Srv::ReqTot)),
                cli_abrt: Some(shm.get(Srv::CliAbrt)),
                srv_abrt: Some(shm.get(Srv::SrvAbrt)),
                check_rise: checked.then(|| be.check.as_ref().map_or(0, |c| u64::from(c.rise))),
                check_fall: checked.then(|| be.check.as_ref().map_or(0, |c| u64::from(c.fall))),
                addr: Some(s.addr.to_string()),
                mode: mode_name(be.mode),
                ..Row::default()
            };
            out.push((be_ids[b], 1, row));
        }
        // HAProxy: the active servers' weights, or the backups' when no
        // active server is usable.
        let weight = if act > 0 { weight.0 } else { weight.1 };
        let row = Row {
            kind: Some(Kind::Backend),
            pxname: be.name.clone(),
            svname: "BACKEND".into(),
            iid: be_ids[b],
            qcur: Some(0),
            qmax: Some(0),
            scur: p.cur(),
            smax: p.get(Px::Smax),
            stot: p.get(Px::Stot),
            bin: p.get(Px::Bin),
            bout: p.get(Px::Bout),
            dreq: Some(p.get(Px::Dreq)),
            dresp: Some(p.get(Px::Dresp)),
            econ: Some(p.get(Px::Econ)),
            eresp: Some(p.get(Px::Eresp)),
            wretr: Some(p.get(Px::Wretr)),
            wredis: Some(p.get(Px::Wredis)),
            // HAProxy: UP while a server is usable, or when it has none (a
            // stats-only listen section).
            status: if act + bck > 0 || !servers.iter().any(|s| s.in_use()) {
                "UP"
            } else {
                "DOWN"
            }
            .into(),
            weight: Some(weight),
            act: Some(act),
            bck: Some(bck),
            lbtot: Some(lbtot.max(p.get(Px::LbTot))),
            hrsp: hrsp_px(p),
            req_tot: Some(p.get(Px::ReqTot)),
            cli_abrt: Some(p.get(Px::CliAbrt)),
            srv_abrt: Some(p.get(Px::SrvAbrt)),
            mode: mode_name(be.mode),
            algo: Some(algo_name(&be.balance)),
            ..Row::default()
        };
        out.push((be_ids[b], 2, row));
    }
    // Stable: servers keep their configuration order.
    out.sort_by_key(|(id, rank, _)| (*id, *rank));
    out.into_iter().map(|(_, _, r)| r).collect()
}

#[cfg(test)]
mod tests;
