//! `weir`: the command line and the master's start-up, in SPEC §3's order:
//! parse and validate → raise RLIMIT_NOFILE → bind every listener (with the
//! `-sf`/`-st` retry dance) → resolve chroot and user → daemonize (`-D`) →
//! pidfile → fork `nbproc` pinned workers → SIGUSR1/SIGTERM the old pids →
//! supervise. Privileges are dropped in each worker after fork, not in the
//! master (see docs/architecture.md).
#![forbid(unsafe_code)]

mod bind;
mod cli;
mod daemon;
mod master;
mod notify;
mod pidfile;
mod privileges;
mod reload;
mod rlimit;
mod spawn;
mod stats_socket;
mod takeover;
mod tickets;
mod title;

use nix::sys::signal::{sigprocmask, SigmaskHow, Signal};
use std::process::ExitCode;
use weir_core::config::model::{LogLevel, Mode};
use weir_core::log::Logger;

fn main() -> ExitCode {
    // Read once: the master's process title is written over them later.
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let opts = match cli::parse(args.iter().skip(1).cloned()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("weir: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    if opts.help {
        println!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    if opts.version > 0 {
        print_version(opts.version);
        return ExitCode::SUCCESS;
    }
    ExitCode::from(start(opts, &args) as u8)
}

fn print_version(level: u8) {
    println!(
        "weir version {} {}",
        weir_core::VERSION,
        weir_core::RELEASE_DATE
    );
    if level > 1 {
        println!(
            "Build options: target {} {}",
            std::env::consts::ARCH,
            std::env::consts::OS
        );
        println!("Poller: epoll (mio), edge-triggered; signals: signalfd");
        let modes: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
        println!("Modes: {} (HTTP/1.0 and HTTP/1.1)", modes.join(" "));
    }
}

/// Everything from reading the configuration to the master's exit; `args`
/// is the command line, for the master's process title.
fn start(opts: cli::Options, args: &[String]) -> i32 {
    // Messages name the paths as the user typed them.
    let mut config = match weir_core::config::load(&opts.config_paths) {
        Ok(c) => c,
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            return 1;
        }
    };
    // Warnings (an expired certificate…) do not stop weir; `-q` hides them.
    if !opts.quiet {
        for w in &config.warnings {
            eprintln!("{w}");
        }
    }
    if opts.check_only {
        // `-c -q` (the service's pre-start check) says nothing when valid.
        if !opts.quiet {
            println!("Configuration file is valid");
        }
        return 0;
    }
    let g = &config.global;
    let mut logger = match Logger::new(&g.log, g.log_facility, g.log_level) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("weir: cannot open log targets: {e}");
            return 1;
        }
    };
    if opts.debug {
        logger.ensure_stderr();
        logger.set_level(LogLevel::Debug);
    }
    logger.set_quiet_console(opts.quiet);
    title::master(args, &logger);
    let fail = |logger: &Logger, msg: &str| {
        logger.alert(msg);
        if opts.quiet || !logger.enabled(LogLevel::Alert) {
            eprintln!("weir: {msg}");
        }
        1
    };
    // Signals are blocked from here on and read through signalfd, in the
    // master and (inherited) in every worker: no handler ever runs.
    let mask = weir_worker::signals::handled();
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None) {
        return fail(&logger, &format!("cannot block signals: {e}"));
    }
    let signals = match weir_worker::signals::open() {
        Ok(s) => s,
        Err(e) => return fail(&logger, &format!("cannot open the signal queue: {e}")),
    };
    weir_core::sys::tzset();
    rlimit::raise(&mut config, &logger);
    // A pidfile reload takes the old master's sockets when it can.
    let taken = takeover::take_from(&opts.old_pids, &logger);
    let carried_tickets = taken.tickets;
    // And the entries of its rate-limit tables.
    let carried_tables = match config.tables.is_empty() {
        true => None,
        false => takeover::take_tables(&opts.old_pids, &logger),
    };
    let listeners = match bind::bind_all(&config, &opts.old_pids, taken.sockets) {
        Ok(l) => l,
        Err(e) => return fail(&logger, &e),
    };
    let level = if opts.verbose {
        LogLevel::Notice
    } else {
        LogLevel::Debug
    };
    for l in &listeners {
        logger.log(
            level,
            &format!(
                "listening on {} for frontend {}",
                l.name, config.frontends[l.frontend].name
            ),
        );
    }
    // The runtime API's socket, bound while the master may still create
    // files anywhere (before chroot and setuid).
    let stats_socket = match config
        .global
        .stats_socket
        .as_deref()
        .map(stats_socket::bind)
    {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return fail(&logger, &e),
    };
    let privileges = match privileges::resolve(&config.global) {
        Ok(p) => p,
        Err(e) => return fail(&logger, &e),
    };
    let mut ready = daemon::Ready::none();
    if (opts.daemon || config.global.daemon) && !opts.debug {
        match daemon::daemonize() {
            Ok(r) => ready = r,
            Err(e) => return fail(&logger, &format!("cannot daemonize: {e}")),
        }
        logger.drop_console();
        logger.set_pid(std::process::id());
    }
    let pidfile_path = opts
        .pidfile
        .clone()
        .or_else(|| config.global.pidfile.clone());
    let pidfile = match pidfile_path
        .map(|p| pidfile::PidFile::write(&p, std::process::id()).map_err(|e| (p, e)))
    {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err((p, e))) => {
            let msg = format!("cannot write pidfile {}: {e}", p.display());
            ready.failed(&msg);
            return fail(&logger, &msg);
        }
    };
    logger.notice(&format!(
        "weir {} master started (pid {})",
        weir_core::VERSION,
        std::process::id()
    ));
    let shared = match weir_core::shm::SharedState::new(&config) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("cannot map the shared state: {e}");
            ready.failed(&msg);
            return fail(&logger, &msg);
        }
    };
    if let Some(dump) = carried_tables {
        let n = weir_core::shm::carry::apply(&shared, &config, &dump);
        logger.notice(&format!("took {n} rate-limit table entries over"));
    }
    // Reloads read the same files, even after -D moved the working directory.
    let paths = opts
        .config_paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let tickets = tickets::Tickets::publish(&config, &shared, carried_tickets, &logger);
    let mut m = master::Master::new(
        config, logger, listeners, privileges, signals, shared, paths,
    );
    m.tickets = tickets;
    m.stats_socket = stats_socket;
    m.open_takeover();
    m.spawn_all();
    if !opts.old_pids.is_empty() {
        let sig = if opts.terminate_old {
            Signal::SIGTERM
        } else {
            Signal::SIGUSR1
        };
        bind::signal_all(&opts.old_pids, sig);
    }
    m.logger.set_quiet_console(false);
    ready.up();
    m.notify.ready(&format!(
        "weir {} running: {} workers",
        weir_core::VERSION,
        m.config.global.nbproc
    ));
    let code = m.run();
    if let Some(p) = pidfile {
        p.remove();
    }
    m.logger
        .notice(&format!("master exiting with status {code}"));
    code
}
