//! chroot and user/group: resolved in the master at start-up (so a typo
//! fails before anything runs), applied in each worker right after fork.
//!
//! The master keeps its privileges, as HAProxy's master does in
//! master-worker mode: it must re-read the configuration and bind new
//! addresses on reload, and remove its pidfile on exit.

use nix::unistd::{chdir, chroot, setgid, setgroups, setuid, Gid, Group, Uid, User};
use std::path::PathBuf;
use weir_core::config::model::Global;

/// What a worker becomes after fork.
#[derive(Debug, Clone, Default)]
pub struct Drop {
    pub chroot: Option<PathBuf>,
    pub uid: Option<Uid>,
    pub gid: Option<Gid>,
}

/// Resolves names and checks that the switch is possible. `Err` is a
/// start-up error message.
pub fn resolve(g: &Global) -> Result<Drop, String> {
    let mut d = Drop::default();
    let root = Uid::effective().is_root();
    if let Some(dir) = &g.chroot {
        if !dir.is_dir() {
            return Err(format!("chroot '{}' is not a directory", dir.display()));
        }
        if !root {
            return Err(format!(
                "chroot '{}' needs root (running as uid {})",
                dir.display(),
                Uid::effective()
            ));
        }
        d.chroot = Some(dir.clone());
    }
    if let Some(name) = &g.user {
        let u = User::from_name(name)
            .map_err(|e| format!("cannot look up user '{name}': {e}"))?
            .ok_or_else(|| format!("no such user '{name}'"))?;
        d.uid = Some(u.uid);
        d.gid = Some(u.gid);
    }
    if let Some(name) = &g.group {
        let gr = Group::from_name(name)
            .map_err(|e| format!("cannot look up group '{name}': {e}"))?
            .ok_or_else(|| format!("no such group '{name}'"))?;
        d.gid = Some(gr.gid);
    }
    let switching = d.uid.is_some_and(|u| u != Uid::effective())
        || d.gid.is_some_and(|g| g != Gid::effective());
    if switching && !root {
        return Err(format!(
            "switching user/group needs root (running as uid {})",
            Uid::effective()
        ));
    }
    Ok(d)
}

/// Applies it in the calling process: chroot, then group, then user.
pub fn apply(d: &Drop) -> Result<(), String> {
    if let Some(dir) = &d.chroot {
        chroot(dir).map_err(|e| format!("chroot '{}': {e}", dir.display()))?;
        chdir("/").map_err(|e| format!("chdir / in chroot: {e}"))?;
    }
    if let Some(gid) = d.gid {
        if Uid::effective().is_root() {
            setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
        }
        setgid(gid).map_err(|e| format!("setgid {gid}: {e}"))?;
    }
    if let Some(uid) = d.uid {
        setuid(uid).map_err(|e| format!("setuid {uid}: {e}"))?;
    }
    Ok(())
}
