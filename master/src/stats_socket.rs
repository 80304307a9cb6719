//! The runtime API's unix socket (`global.stats_socket`): bound by the
//! master before anything forks or drops privileges, kept open for the
//! master's whole life and handed to the control process only (workers
//! close their copy).
//!
//! Like HAProxy, weir binds a temporary name next to the path and renames
//! it over the path: a stale socket file is replaced, and an old process
//! still running (`-sf`) keeps serving on its own socket until it leaves.
//! The socket is mode 0600 (owner only: root, usually).

use crate::master::Master;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// The bound socket and its path.
pub struct StatsSocket {
    pub path: PathBuf,
    pub listener: UnixListener,
}

/// Binds `path`, mode 0600, replacing a stale socket file.
pub fn bind(path: &Path) -> Result<StatsSocket, String> {
    let what = |e: std::io::Error| format!("cannot bind stats_socket {}: {e}", path.display());
    if let Ok(meta) = fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!(
                "cannot bind stats_socket {}: the file exists and is not a socket",
                path.display()
            ));
        }
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    let listener = match UnixListener::bind(&tmp) {
        Ok(l) => {
            let done = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
                .and_then(|()| fs::rename(&tmp, path));
            if let Err(e) = done {
                let _ = fs::remove_file(&tmp);
                return Err(what(e));
            }
            l
        }
        // The temporary name may be too long for sun_path: bind in place.
        Err(_) => {
            let _ = fs::remove_file(path);
            let l = UnixListener::bind(path).map_err(what)?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(what)?;
            l
        }
    };
    Ok(StatsSocket {
        path: path.to_path_buf(),
        listener,
    })
}

impl Master {
    /// Before forking a control process: the socket matches the current
    /// configuration (a reload may have changed or removed the path). A
    /// failure is logged; the service runs on without the runtime API.
    pub fn sync_stats_socket(&mut self) {
        let want = self.config.global.stats_socket.clone();
        if self.stats_socket.as_ref().map(|s| &s.path) == want.as_ref() {
            return;
        }
        self.stats_socket = None;
        if let Some(path) = want {
            match bind(&path) {
                Ok(s) => self.stats_socket = Some(s),
                Err(e) => self.logger.alert(&e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_0600_and_replaces_stale_sockets_only() {
        let dir = std::env::temp_dir().join(format!("weir-sock-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let path = dir.join("admin.sock");
        let first = bind(&path).map(|s| s.listener);
        assert!(first.is_ok());
        drop(first);
        // A stale socket file is replaced.
        let s = bind(&path).map_err(|e| panic!("{e}")).ok();
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .ok();
        assert_eq!(mode, Some(0o600));
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop(s);
        let file = dir.join("plain");
        let _ = fs::write(&file, b"x");
        assert!(bind(&file).is_err_and(|e| e.contains("not a socket")));
        let _ = fs::remove_dir_all(&dir);
    }
}
