//! `show stat [{<iid>|<proxy>} <type> <sid>]`: HAProxy's row filter (what
//! `hatop --filter` sends). `iid` is a proxy id or name, `-1` for every
//! proxy; `type` a bit mask (1 frontends, 2 backends, 4 servers; `-1`
//! all); `sid` a server id, `-1` for every server (FRONTEND and BACKEND
//! rows are kept by their type bit alone, as in HAProxy).

use crate::stats::{Kind, Row};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    proxy: Option<Proxy>,
    types: u64,
    sid: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Proxy {
    Id(usize),
    Name(String),
}

impl Filter {
    /// The filter in `args` (the words after `show stat`); `Ok(None)`
    /// without one, `Err` with HAProxy's message when it is malformed.
    pub fn parse(args: &[&str]) -> Result<Option<Filter>, String> {
        // `show stat typed`, `json`, `desc`, `up`, `no-maint`: not a filter.
        const WORDS: &[&str] = &["typed", "json", "desc", "up", "no-maint", "domain"];
        let [px, ty, sid, ..] = args else {
            return Ok(None);
        };
        if WORDS.contains(px) {
            return Ok(None);
        }
        let number = |s: &str| s.parse::<i64>().ok();
        let proxy = match number(px) {
            Some(-1) => None,
            Some(n) if n > 0 => Some(Proxy::Id(n as usize)),
            Some(_) => return Err("No such proxy.\n".into()),
            None => Some(Proxy::Name((*px).to_string())),
        };
        let types = match number(ty) {
            Some(-1) => u64::MAX,
            Some(n) if n >= 0 => n as u64,
            _ => return Err("Invalid type.\n".into()),
        };
        let sid = match number(sid) {
            Some(-1) => None,
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err("Invalid server id.\n".into()),
        };
        Ok(Some(Filter { proxy, types, sid }))
    }

    /// Whether `row` passes.
    pub fn keeps(&self, row: &Row) -> bool {
        let proxy = match &self.proxy {
            None => true,
            Some(Proxy::Id(id)) => row.iid == *id,
            Some(Proxy::Name(name)) => row.pxname == *name,
        };
        let kind = row.kind.unwrap_or(Kind::Frontend);
        let bit = 1u64 << (kind as u64);
        let server = kind != Kind::Server || self.sid.is_none_or(|s| s == row.sid);
        proxy && self.types & bit != 0 && server
    }

    /// Whether a proxy of this name or id exists among `rows`.
    pub fn finds_proxy(&self, rows: &[Row]) -> bool {
        self.proxy.is_none() || rows.iter().any(|r| self.keeps_proxy(r))
    }

    fn keeps_proxy(&self, row: &Row) -> bool {
        match &self.proxy {
            None => true,
            Some(Proxy::Id(id)) => row.iid == *id,
            Some(Proxy::Name(name)) => row.pxname == *name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(px: &str, iid: usize, kind: Kind, sid: usize) -> Row {
        Row {
            kind: Some(kind),
            pxname: px.into(),
            iid,
            sid,
            ..Row::default()
        }
    }

    #[test]
    fn by_proxy_type_and_server() {
        let rows = [
            row("web", 1, Kind::Frontend, 0),
            row("app", 2, Kind::Server, 1),
            row("app", 2, Kind::Server, 2),
            row("app", 2, Kind::Backend, 0),
        ];
        let pick = |args: &[&str]| -> Vec<usize> {
            let f = Filter::parse(args).unwrap().unwrap();
            (0..rows.len()).filter(|&i| f.keeps(&rows[i])).collect()
        };
        assert_eq!(pick(&["-1", "-1", "-1"]), [0, 1, 2, 3]);
        assert_eq!(pick(&["2", "-1", "-1"]), [1, 2, 3]);
        assert_eq!(pick(&["app", "4", "-1"]), [1, 2]);
        assert_eq!(pick(&["2", "6", "2"]), [2, 3]);
        assert_eq!(pick(&["-1", "1", "-1"]), [0]);
        assert_eq!(Filter::parse(&[]), Ok(None));
        assert_eq!(Filter::parse(&["typed"]), Ok(None));
        assert!(Filter::parse(&["1", "x", "-1"]).is_err());
    }
}
