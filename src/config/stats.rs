//! A listen section's `stats = { uri, refresh, prometheus }` into
//! [`model::StatsPage`]: HTTP mode only, paths that start with `/`, and a
//! Prometheus path apart from the page's.

use super::diag::Report;
use super::file::{Parsed, ProxyFile};
use super::model::{Mode, StatsPage};
use super::units;

/// Builds the stats page of a `[listen.NAME]`, reporting what is wrong.
pub(crate) fn build(
    p: &Parsed<ProxyFile>,
    f: &ProxyFile,
    mode: Mode,
    report: &mut Report,
) -> Option<StatsPage> {
    let t = f.stats.as_ref()?.get_ref();
    if mode != Mode::Http {
        let msg = "`stats` needs mode = \"http\" (the page is served to HTTP requests); \
                   this listen section is in TCP mode";
        report.error(&p.key_loc("stats"), msg.to_string());
        return None;
    }
    let path = |v: &Option<toml::Spanned<String>>, key: &str, report: &mut Report| {
        let v = v.as_ref()?;
        let s = v.get_ref();
        if !s.starts_with('/') || s.contains(|c: char| c.is_ascii_whitespace() || c == '?') {
            let msg = format!(
                "`stats.{key}` must be a path starting with '/', without spaces or '?', got \"{s}\""
            );
            report.error(&p.at(v.span()), msg);
            return None;
        }
        Some(s.clone())
    };
    let uri = path(&t.uri, "uri", report);
    let prometheus = path(&t.prometheus, "prometheus", report);
    let refresh = match &t.refresh {
        None => None,
        Some(r) => match units::duration(r.get_ref()) {
            Ok(d) if d.as_secs() >= 1 => Some(d),
            Ok(_) => {
                let msg = "`stats.refresh` must be at least 1s".to_string();
                report.error(&p.at(r.span()), msg);
                None
            }
            Err(e) => {
                report.error(&p.at(r.span()), e);
                None
            }
        },
    };
    let Some(uri) = uri else {
        if t.uri.is_none() {
            let msg = "`stats` has no `uri`: add uri = \"/stats\"".to_string();
            report.error(&p.key_loc("stats"), msg);
        }
        return None;
    };
    if prometheus.as_deref() == Some(uri.as_str()) {
        let msg = format!("`stats.prometheus` must differ from `stats.uri` (\"{uri}\")");
        report.error(&p.key_loc("stats.prometheus"), msg);
        return None;
    }
    Some(StatsPage {
        uri,
        refresh,
        prometheus,
    })
}
