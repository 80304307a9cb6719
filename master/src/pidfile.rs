//! The pidfile: the master's pid, written once the service is up and
//! removed on a clean exit.

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

    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
