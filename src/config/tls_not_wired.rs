//! TEMPORARY, until the server side speaks TLS: every `tls` on a server
//! is refused, after it has been fully checked (certificates and keys
//! loaded, every value validated), so that `weir -c` reports both and a
//! configuration never silently talks clear text to a server meant to be
//! reached in TLS. (Binds terminate TLS.) To integrate: delete this file,
//! its `mod` line in `config/mod.rs` and its one call in
//! `validate::build`.

use super::diag::Report;
use super::file::FileModel;
use super::tls::ServerTlsSpec;

const WHY: &str = "TLS to servers is not wired into the worker yet: this version checks a \
                   server's `tls` but cannot speak it";

/// Reports every server `tls` other than `false`, at its key.
pub(crate) fn refuse(files: &FileModel, report: &mut Report) {
    for s in &files.proxies {
        let Some(f) = &s.parsed.body else { continue };
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
