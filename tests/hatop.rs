//! Debian's `hatop` (an ncurses client for HAProxy's stats socket) runs
//! against weir's runtime API: driven in a private tmux server, it starts,
//! lists the frontends, backends and servers, and its actions — F10
//! disable, F9 enable, F6 weight −1, F4 weight reset — change the server,
//! as `show stat` then says.

mod common;
mod haproxy;

use std::process::{Command, Output};
use std::time::Instant;

use common::http_origin::HttpOrigin;
use common::weir::TempDir;
use common::{free_port, seed, wait_for, wait_until, Weir, DEADLINE, POLL};
use haproxy::api;

/// A tmux server of our own (`tmux -L LABEL`), killed on drop, with one
/// 160×50 window running a command.
struct Tmux {
    label: String,
}

impl Tmux {
    fn run(args: &[&str], label: &str) -> Output {
        Command::new("tmux")
            .args(["-L", label, "-f", "/dev/null"])
            .args(args)
            .env("TERM", "xterm")
            .output()
            .expect("run tmux (Debian package tmux: make deps)")
    }

    fn start(command: &str) -> Tmux {
        let label = format!("weir-test-{}-{:x}", std::process::id(), seed());
        let out = Tmux::run(
            &[
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "160",
                "-y",
                "50",
                command,
            ],
            &label,
        );
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { label }
    }

    /// The screen, as text.
    fn screen(&self) -> String {
        let out = Tmux::run(&["capture-pane", "-p", "-t", "t"], &self.label);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn key(&self, key: &str) {
        let out = Tmux::run(&["send-keys", "-t", "t", key], &self.label);
        assert!(out.status.success(), "send-keys {key}");
    }

    /// Waits until the screen holds every one of `parts`; returns it.
    fn wait_screen(&self, parts: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if parts.iter().all(|p| screen.contains(p)) {
                return screen;
            }
            if start.elapsed() > DEADLINE {
                panic!("the screen never showed {parts:?}:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Our private server only: its window and hatop go with it.
        let _ = Tmux::run(&["kill-server"], &self.label);
    }
}

/// The screen line of server `name` (it starts with the name).
fn line_of<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name) && l.starts_with(name))
}

/// `status` and `weight` of app/a in `show stat`.
fn state_of_a(socket: &std::path::Path) -> (String, String) {
    let csv = api(socket, "show stat");
    let row = csv
        .lines()
        .find(|l| l.starts_with("app,a,"))
        .unwrap_or_else(|| panic!("no app/a row in {csv}"));
    let f: Vec<&str> = row.split(',').collect();
    (f[17].to_string(), f[18].to_string())
}

#[test]
fn hatop_lists_everything_and_its_actions_work() {
    let (a, b, c) = (
        HttpOrigin::start("a"),
        HttpOrigin::start("b"),
        HttpOrigin::start("c"),
    );
    let dir = TempDir::new("hatop");
    let socket = dir.path.join("admin.sock");
    let (stats_port, web_port) = (free_port(), free_port());
    let config = format!(
        "[global]\nlog = \"stderr\"\nstats_socket = \"{}\"\n\n[defaults]\nmode = \"http\"\n\
         timeout = {{ connect = \"1s\", client = \"5s\", server = \"5s\" }}\n\n\
         [listen.stats]\nbind = \"127.0.0.1:{stats_port}\"\nstats = {{ uri = \"/stats\" }}\n\n\
         [frontend.web]\nbind = \"127.0.0.1:{web_port}\"\ndefault_backend = \"app\"\n\n\
         [backend.app]\nserver = [{{ name = \"a\", address = \"{}\", weight = 10 }}, \
         {{ name = \"b\", address = \"{}\" }}, {{ name = \"c\", address = \"{}\", backup = true }}]\n",
        socket.display(),
        a.addr,
        b.addr,
        c.addr
    );
    let weir = Weir::start(&config);
    wait_until(DEADLINE, "the stats socket", || socket.exists());

    // If hatop stops, its last words stay on the screen.
    let tmux = Tmux::start(&format!(
        "hatop -s {}; echo hatop exited; sleep 60",
        socket.display()
    ));
    let release = format!(
        "weir Version: {}  (released: {})",
        weir_core::VERSION,
        weir_core::RELEASE_DATE
    );
    let screen = tmux.wait_screen(&[&release, ">>> stats", ">>> web", ">>> app", "BACKEND"]);
    for server in ["a", "b", "c"] {
        assert!(
            line_of(&screen, server).is_some(),
            "server {server}:\n{screen}"
        );
    }
    assert!(
        !screen.contains("runtime error"),
        "hatop stopped:\n{screen}"
    );

    // The cursor starts on the first line (`>>> stats`): go down to `a`.
    let lines: Vec<&str> = screen.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with(">>> "))
        .expect("a proxy line");
    let at_a = lines
        .iter()
        .position(|l| l.starts_with("a "))
        .expect("server a");
    for _ in first..at_a {
        tmux.key("Down");
    }
    assert_eq!(state_of_a(&socket), ("no check".into(), "10".into()));

    tmux.key("F10"); // disable server app/a
    wait_for(DEADLINE, "app/a in MAINT", || {
        (state_of_a(&socket).0 == "MAINT").then_some(())
    });
    let screen = tmux.wait_screen(&["MAINT"]);
    assert!(
        line_of(&screen, "a").is_some_and(|l| l.contains("MAINT")),
        "{screen}"
    );

    tmux.key("F9"); // enable server app/a
    wait_for(DEADLINE, "app/a back", || {
        (state_of_a(&socket).0 == "no check").then_some(())
    });

    tmux.key("F6"); // weight - 1
    wait_for(DEADLINE, "app/a at weight 9", || {
        (state_of_a(&socket).1 == "9").then_some(())
    });
    let screen = tmux.wait_screen(&["a                         9 "]);
    assert!(line_of(&screen, "a").is_some(), "{screen}");

    tmux.key("F4"); // weight back to 100%
    wait_for(DEADLINE, "app/a at weight 10", || {
        (state_of_a(&socket).1 == "10").then_some(())
    });
    drop(tmux);
    drop(weir);
}
