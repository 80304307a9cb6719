//! The command line, HAProxy's way: `weir -f FILE [-f …] [-c] [-D] [-p FILE]
//! [-d] [-q] [-V] [-v|-vv] [-sf PID…] [-st PID…]`. Everything after `-sf`
//! or `-st` is a pid.

use std::path::PathBuf;

/// What the user asked for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options {
    pub config_paths: Vec<PathBuf>,
    pub check_only: bool,
    pub daemon: bool,
    pub pidfile: Option<PathBuf>,
    pub debug: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// 1 for `-v`, 2 for `-vv`.
    pub version: u8,
    /// Old processes to finish (`-sf`) or terminate (`-st`).
    pub old_pids: Vec<i32>,
    pub terminate_old: bool,
    pub help: bool,
}

pub const USAGE: &str = "\
usage: weir -f <file|dir> [-f …] [-c] [-D] [-p <pidfile>] [-d] [-q] [-V] [-v|-vv]
            [-sf <pid> …] [-st <pid> …]
  -f PATH   configuration file, or directory of *.toml read in name order (repeatable)
  -c        check the configuration and exit
  -D        run as a daemon
  -p FILE   write the master's pid to FILE
  -d        stay in the foreground, debug log level on stderr
  -q        quiet: no start-up messages on stderr
  -V        verbose start-up
  -v, -vv   print the version (and build options) and exit
  -sf PID…  after binding, ask these processes to finish (SIGUSR1)
  -st PID…  after binding, terminate these processes (SIGTERM)";

/// Parses `args` (without the program name). `Err` is a usage error.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" => o
                .config_paths
                .push(PathBuf::from(it.next().ok_or("-f needs a path")?)),
            "-p" => o.pidfile = Some(PathBuf::from(it.next().ok_or("-p needs a file")?)),
            "-c" => o.check_only = true,
            "-D" => o.daemon = true,
            "-d" => o.debug = true,
            "-q" => o.quiet = true,
            "-V" => o.verbose = true,
            "-v" => o.version = o.version.max(1),
            "-vv" => o.version = 2,
            "-h" | "--help" => o.help = true,
            "-sf" | "-st" => {
                o.terminate_old = a == "-st";
                for p in it.by_ref() {
                    let pid: i32 = p.parse().map_err(|_| format!("{a}: '{p}' is not a pid"))?;
                    if pid <= 0 {
                        return Err(format!("{a}: '{p}' is not a pid"));
                    }
                    o.old_pids.push(pid);
                }
            }
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    if o.config_paths.is_empty() && o.version == 0 && !o.help {
        return Err("no configuration given (-f)".to_string());
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags() {
        let o = p(&[
            "-f",
            "a.toml",
            "-f",
            "d",
            "-D",
            "-p",
            "/run/w.pid",
            "-sf",
            "12",
            "13",
        ])
        .unwrap();
        assert_eq!(o.config_paths.len(), 2);
        assert!(o.daemon && !o.terminate_old);
        assert_eq!(o.old_pids, vec![12, 13]);
        assert!(p(&["-f", "a", "-st", "x"]).is_err());
        assert!(p(&["-x"]).is_err());
        assert!(p(&[]).is_err());
        assert_eq!(p(&["-vv"]).unwrap().version, 2);
    }
}
