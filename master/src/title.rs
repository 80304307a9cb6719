//! How the processes name themselves, as nginx's do, so that `ps` and `top`
//! tell them apart: the command line (`/proc/PID/cmdline`, what `ps -ef`
//! and `htop` show) and the kernel's 15-byte name (`/proc/PID/comm`, what
//! `top`, `ps -e` and `pgrep` match).
//!
//! | process | command line | comm |
//! |---|---|---|
//! | master | `weir: master process /usr/sbin/weir -f /etc/weir/weir.toml` | `weir` |
//! | worker *i* | `weir: worker 1 (cpu 0)` | `weir-worker-1` |
//! | control | `weir: control` | `weir-control` |
//!
//! The master keeps the name `weir`, which init scripts check in
//! `/proc/PID/comm`. The command line is rewritten in place
//! ([`weir_core::sys::title`]).

use weir_core::log::Logger;
use weir_core::sys::title;

/// Names the master after its command line (`args`, the program first).
/// Call once, early, while the process is single-threaded.
pub fn master(args: &[String], logger: &Logger) {
    if let Err(e) = title::init_title() {
        logger.warning(&format!("cannot set the process title: {e}"));
        return;
    }
    title::set_title(&format!("weir: master process {}", args.join(" ")));
}

/// Names a freshly forked worker (`id` ≥ 1) or the control process (`id`
/// 0).
pub fn child(id: usize, cpu: Option<usize>) {
    let (line, comm) = match id {
        0 => ("weir: control".to_string(), "weir-control".to_string()),
        _ => {
            let line = match cpu {
                Some(c) => format!("weir: worker {id} (cpu {c})"),
                None => format!("weir: worker {id}"),
            };
            (line, format!("weir-worker-{id}"))
        }
    };
    title::set_title(&line);
    // The kernel keeps 15 bytes of it; `weir-worker-999` fits.
    if let Ok(comm) = std::ffi::CString::new(comm) {
        let _ = nix::sys::prctl::set_name(&comm);
    }
}
