//! TEMPORARY, until the worker's transport speaks TLS: every `tls` on a
//! bind or a server is refused, after it has been fully checked
//! (certificates and keys loaded, every value validated), so that `weir -c`
//! reports both and a configuration with TLS never starts serving clear
//! text. To integrate: delete this file, its `mod` line in `config/mod.rs`
//! and its one call in `validate::build`.

use super::diag::Report;
use super::file::FileModel;
use super::raw::{BindSpec, OneOrMany};
use super::tls::ServerTlsSpec;

const WHY: &str = "TLS is not wired into the worker yet: this version checks `tls` but cannot \
                   serve it";

/// Reports every `tls` of a bind, and every server `tls` other than
/// `false`, at its key.
pub(crate) fn refuse(files: &FileModel, report: &mut Report) {
    for s in &files.proxies {
        let Some(f) = &s.parsed.body else { continue };
        if let Some(b) = &f.bind {
            let single = matches!(b.get_ref(), OneOrMany::One(_));
            for (i, entry) in b.get_ref().entries(b.span()).into_iter().enumerate() {
                let BindSpec::Table(t) = entry.get_ref() else {
                    continue;
                };
                if t.tls.is_some() {
                    let key = match single {
                        true => "bind.tls".to_string(),
                        false => format!("bind.{i}.tls"),
                    };
                    report.error(&s.parsed.key_loc(&key), WHY);
                }
            }
        }
        for (i, server) in f.server.iter().flat_map(|l| l.get_ref().iter()).enumerate() {
            let on = match server.get_ref().tls.as_ref().map(|t| t.get_ref()) {
                None | Some(ServerTlsSpec::Flag(false)) => false,
                Some(_) => true,
            };
            if on {
                report.error(&s.parsed.key_loc(&format!("server.{i}.tls")), WHY);
            }
        }
    }
}
