//! The pidfile: the master's pid, written once the service is up and
//! removed on a clean exit (unless a newer master has taken it over).

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub fn write(path: &Path, pid: u32) -> std::io::Result<PidFile> {
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{pid}")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }

    /// Removes the file, unless it now names another process: after a
    /// `-sf` reload the new master has rewritten it, and the old master
    /// leaving must not delete the new one's pid.
    pub fn remove(self) {
        let ours = std::process::id().to_string();
        match std::fs::read_to_string(&self.path) {
            Ok(s) if s.trim() != ours => {}
            _ => {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}
