//! `weir -c -f …`: the configuration check, through the real binary.
//!
//! Each broken configuration makes one mistake and must exit 1 with the exact
//! `FILE:LINE:COL: error:` prefix and a message that names the mistake; valid
//! ones exit 0 and print `Configuration file is valid`.
//!
//! The binary is `target/debug/weir` (or `$WEIR_BIN`): `cargo build -p weir`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn weir_bin() -> PathBuf {
    let bin = std::env::var_os("WEIR_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/weir"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "{} not found: build it first: cargo build -p weir",
        bin.display()
    );
    bin
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "weir-config-check-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check(paths: &[&Path]) -> Output {
    let mut cmd = Command::new(weir_bin());
    cmd.arg("-c");
    for p in paths {
        cmd.arg("-f").arg(p);
    }
    cmd.output().expect("run weir")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

const BACKEND: &str = "[backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n";

/// A valid frontend (lines 1-3), then `extra` from line 4, then [backend.app].
fn fe(extra: &str) -> String {
    format!("[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n{extra}\n{BACKEND}")
}

/// Checks `text` as one file: exit 1, one error at `line:col` containing `part`.
fn fails_at(text: &str, line: usize, col: usize, part: &str) {
    let dir = TempDir::new("one");
    let file = dir.write("weir.toml", text);
    let out = check(&[&file]);
    let lines = stderr_lines(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit status; stderr: {lines:#?}"
    );
    assert_eq!(lines.len(), 1, "one error expected: {lines:#?}");
    let prefix = format!("{}:{line}:{col}: error: ", file.display());
    assert!(
        lines[0].starts_with(&prefix),
        "want prefix {prefix:?}: {lines:#?}"
    );
    assert!(lines[0].contains(part), "want {part:?} in {lines:#?}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
}

fn valid(paths: &[&Path]) {
    let out = check(paths);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Configuration file is valid"
    );
}

#[test]
fn syntax_error() {
    fails_at("[global]\nnbproc = \n", 2, 10, "");
    fails_at("[frontend.web\nbind = \":80\"\n", 1, 14, "unclosed table");
}

#[test]
fn unknown_key_with_did_you_mean() {
    fails_at(
        &fe("bnid = \":81\""),
        4,
        1,
        "unknown key `bnid` in [frontend.web]; did you mean `bind`?",
    );
    fails_at(
        &fe("timeout = { clinet = \"1s\" }"),
        4,
        13,
        "did you mean `client`?",
    );
}

#[test]
fn unknown_backend_with_did_you_mean() {
    let text = format!("[frontend.web]\nbind = \":80\"\ndefault_backend = \"apq\"\n{BACKEND}");
    fails_at(
        &text,
        3,
        19,
        "unknown backend \"apq\" in `default_backend`; did you mean `app`?",
    );
}

#[test]
fn duplicate_proxy() {
    let text =
        fe("[listen.app]\nbind = \":81\"\nserver = [{ name = \"b\", address = \"127.0.0.1:1\" }]");
    fails_at(
        &text,
        7,
        10,
        "duplicate backend name \"app\": [listen.app] is already defined at",
    );
}

#[test]
fn bad_duration() {
    fails_at(
        &fe("timeout.client = \"5 sec\""),
        4,
        18,
        "invalid duration \"5 sec\": expected a number followed by us, ms, s, m, h or d",
    );
}

#[test]
fn bad_size() {
    fails_at(
        &format!("[global]\nbufsize = \"16 kb\"\n{}", fe("")),
        2,
        11,
        "invalid size \"16 kb\"",
    );
}

#[test]
fn weight_out_of_range() {
    for w in [0, 300] {
        let text = fe(&format!(
            "[backend.b2]\nserver = [{{ name = \"x\", address = \"127.0.0.1:1\", weight = {w} }}]"
        ));
        fails_at(
            &text,
            5,
            59,
            &format!("`weight` must be between 1 and 256, got {w}"),
        );
    }
}

#[test]
fn bad_bind_address() {
    let text = fe("").replace("\":8080\"", "\"300.1.1.1:80\"");
    fails_at(&text, 2, 8, "invalid bind address \"300.1.1.1:80\"");
}

/// HTTP mode: `extra` from line 6 of an HTTP frontend with two backends.
fn http_fe(extra: &str) -> String {
    format!(
        "[defaults]\nmode = \"http\"\n[frontend.web]\nbind = \":8080\"\ndefault_backend = \"app\"\n\
         {extra}\n{BACKEND}[backend.assets]\nserver = [{{ name = \"b\", address = \"127.0.0.1:8001\" }}]\n"
    )
}

#[test]
fn http_mode_with_acls_and_rules_is_valid() {
    let dir = TempDir::new("http");
    let text = http_fe(
        "acl = { static = \"path_beg -i /static/ /img/\", office = \"src 10.0.0.0/8 ::1\" }\n\
         use_backend = [{ backend = \"assets\", if = \"static || { hdr(host) -i cdn.example.com }\" }]\n\
         http_request = [{ deny = 403, if = \"{ path_beg /admin } !office\" }, \
         { redirect = { scheme = \"https\", code = 301 }, unless = \"{ dst_port 443 }\" }, \
         { set_header = [\"X-Proto\", \"http\"] }]\n\
         http_response = [{ del_header = \"Server\" }]\nforwardfor = true\n\
         timeout = { http_request = \"5s\", http_keep_alive = \"1s\" }",
    );
    let file = dir.write("weir.toml", &text);
    valid(&[&file]);
}

#[test]
fn http_mistakes_point_inside_strings() {
    fails_at(
        &http_fe("acl = { a = \"path_begin /x\" }"),
        6,
        14,
        "unknown criterion `path_begin`",
    );
    fails_at(
        &http_fe("acl = { a = \"path_reg (x\" }"),
        6,
        23,
        "invalid regex \"(x\": unclosed group",
    );
    fails_at(
        &http_fe("acl = { static = \"path /s\" }\nuse_backend = [{ backend = \"assets\", if = \"statc\" }]"),
        7,
        44,
        "unknown ACL \"statc\"; did you mean `static`?",
    );
    fails_at(
        &http_fe("use_backend = [{ backend = \"asets\", if = \"{ path / }\" }]"),
        6,
        28,
        "unknown backend \"asets\" in `use_backend`; did you mean `assets`?",
    );
}

#[test]
fn rules_need_http_mode() {
    fails_at(
        &fe("http_request = [{ deny = 403 }]"),
        4,
        1,
        "`http_request` needs mode = \"http\"",
    );
    let text = format!(
        "[frontend.web]\nmode = \"http\"\nbind = \":80\"\ndefault_backend = \"app\"\n{BACKEND}"
    );
    fails_at(
        &text,
        4,
        19,
        "backend \"app\" is in TCP mode but this frontend is in HTTP mode",
    );
}

#[test]
fn nbproc_zero() {
    fails_at(
        &format!("[global]\nnbproc = 0\n{}", fe("")),
        2,
        10,
        "`nbproc` must be between 1 and 4096, got 0",
    );
}

#[test]
fn three_mistakes_three_lines_in_order() {
    let dir = TempDir::new("three");
    let text = format!(
        "[global]\nnbproc = 0\n{}",
        fe("maxconn = 0\nbalance = \"roundrobin\"")
    );
    let file = dir.write("weir.toml", &text);
    let out = check(&[&file]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(1));
    let f = file.display();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!("{f}:2:10: error: `nbproc`")),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(&format!("{f}:6:11: error: `maxconn`")),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with(&format!("{f}:7:1: error: key `balance` is not allowed")),
        "{lines:#?}"
    );
}

#[test]
fn directory_error_names_the_file() {
    let dir = TempDir::new("dir-bad");
    dir.write(
        "10-frontend.toml",
        "[frontend.web]\nbind = \":80\"\ndefault_backend = \"app\"\n",
    );
    let second = dir.write(
        "20-backend.toml",
        &BACKEND.replace("127.0.0.1:8000", "127.0.0.1"),
    );
    let out = check(&[&dir.0]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let prefix = format!("{}:2:35: error: invalid server address", second.display());
    assert!(lines[0].starts_with(&prefix), "want {prefix:?}: {lines:#?}");
}

#[test]
fn missing_file_is_named() {
    let dir = TempDir::new("missing");
    let missing = dir.0.join("nope.toml");
    let out = check(&[&missing]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(1));
    let prefix = format!(
        "{}:1:1: error: cannot read \"{}\"",
        missing.display(),
        missing.display()
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&prefix)),
        "want {prefix:?}: {lines:#?}"
    );
}

#[test]
fn duplicate_across_files() {
    let dir = TempDir::new("dup");
    let a = dir.write("a.toml", &fe(""));
    let b = dir.write("b.toml", BACKEND);
    let out = check(&[&a, &b]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(1));
    let prefix = format!("{}:1:10: error: duplicate backend name \"app\": [backend.app] is already defined at {}:5:10", b.display(), a.display());
    assert_eq!(lines, vec![prefix]);
}

#[test]
fn valid_single_file() {
    let dir = TempDir::new("valid");
    let text = format!(
        "[global]\nnbproc = 2\ncpu_map = \"none\"\nlog = [\"stderr\"]\nbufsize = \"32k\"\n\n\
         [defaults]\nmode = \"tcp\"\ntimeout = {{ connect = \"5s\", client = \"30s\", server = \"30s\" }}\n\n{}\
         [listen.db]\nbind = [{{ address = \"127.0.0.1:5432\", backlog = 128 }}]\n\
         server = [{{ name = \"p1\", address = \"localhost:5433\", weight = 10 }}, {{ name = \"p2\", address = \"[::1]:5433\", backup = true }}]\n",
        fe("")
    );
    let file = dir.write("weir.toml", &text);
    valid(&[&file]);
}

#[test]
fn valid_several_files_and_a_directory_in_name_order() {
    let dir = TempDir::new("valid-dir");
    let a = dir.write("global.toml", "[global]\nmaxconn = 100\n");
    let conf_d = dir.0.join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(conf_d.join("10-web.toml"), fe("").replace(BACKEND, "")).unwrap();
    std::fs::write(conf_d.join("20-app.toml"), BACKEND).unwrap();
    std::fs::write(conf_d.join("README"), "not read").unwrap();
    valid(&[&a, &conf_d]);
}

#[test]
fn empty_lists_point_at_their_key() {
    fails_at(
        "[frontend.web]\nbind = []\ndefault_backend = \"app\"\n[backend.app]\nserver = [{ name = \"a\", address = \"127.0.0.1:1\" }]\n",
        2,
        1,
        "`bind` of frontend \"web\" is empty",
    );
    fails_at(
        &fe("").replace(
            "server = [{ name = \"a\", address = \"127.0.0.1:8000\" }]",
            "retries = 1\n  server = []",
        ),
        7,
        3,
        "`server` of backend \"app\" is empty",
    );
}

/// Every kind of value a key can be given by mistake gets TOML's word for
/// what the key takes and for what was found, never serde's Rust names.
#[test]
fn type_errors_in_toml_words() {
    let in_fe = [
        (
            "maxconn = \"lots\"",
            11,
            "`maxconn` must be an integer, found a string (\"lots\")",
        ),
        (
            "maxconn = 1.5",
            11,
            "`maxconn` must be an integer, found a float (1.5)",
        ),
        (
            "maxconn = 1979-05-27",
            11,
            "`maxconn` must be an integer, found a date-time (1979-05-27)",
        ),
        (
            "maxconn = 99999999999999999999",
            11,
            "`maxconn`: 99999999999999999999 is too large (integers are 64-bit",
        ),
        (
            "forwardfor = \"yes\"",
            14,
            "`forwardfor` must be true or false, found a string (\"yes\")",
        ),
        (
            "log_format = 5",
            14,
            "`log_format` must be a string, found an integer (5)",
        ),
        (
            "timeout = 5",
            11,
            "`timeout` must be a timeout table such as { connect = \"5s\" }, found an integer (5)",
        ),
        (
            "timeout = { client = true }",
            22,
            "`timeout.client` must be a duration such as \"5s\" (or an integer of milliseconds), \
             found a boolean (true)",
        ),
        ("acl = [\"a\"]", 7, "`acl` must be a table of ACLs"),
        (
            "use_backend = { backend = \"app\" }",
            15,
            "`use_backend` must be an array, found a table",
        ),
    ];
    for (extra, col, want) in in_fe {
        fails_at(&fe(extra), 4, col, &format!("in [frontend.web]: {want}"));
    }
    let global = [
        (
            "bufsize = [16]",
            11,
            "`bufsize` must be a size such as \"16k\" (or an integer of bytes), found an array",
        ),
        (
            "nbproc = true",
            10,
            "`nbproc` must be an integer or \"auto\", found a boolean (true)",
        ),
        (
            "log = 514",
            7,
            "`log` must be a log target such as \"stderr\", or an array of them, found an integer (514)",
        ),
    ];
    for (line, col, want) in global {
        let text = format!("[global]\n{line}\n{}", fe(""));
        fails_at(&text, 2, col, &format!("in [global]: {want}"));
    }
    let server = fe("").replace("127.0.0.1:8000\"", "127.0.0.1:8000\", weight = \"10\"");
    fails_at(
        &server,
        6,
        62,
        "in [backend.app]: `server.weight` must be an integer, found a string (\"10\")",
    );
    fails_at(
        &fe("").replace("bind = \":8080\"", "bind = [8080]"),
        2,
        9,
        "each entry of `bind` must be an address string such as \":80\" or a table with `address`, \
         found an integer (8080)",
    );
}

#[test]
fn two_type_errors_in_one_table_are_both_reported() {
    let dir = TempDir::new("two-in-one");
    let text = fe("").replace(
        "server = [{ name = \"a\", address = \"127.0.0.1:8000\" }]",
        "server = [{ name = \"a\", address = \"127.0.0.1:8000\" }]\n\
         check = { rise = \"2\", interval = true }",
    );
    let file = dir.write("weir.toml", &text);
    let out = check(&[&file]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains(":7:18: error:") && lines[0].contains("`check.rise` must be an integer")
    );
    assert!(
        lines[1].contains(":7:34: error:")
            && lines[1].contains("`check.interval` must be a duration")
    );
}

#[test]
fn build_options_list_both_modes() {
    let out = Command::new(weir_bin())
        .arg("-vv")
        .output()
        .expect("run weir -vv");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let modes = text
        .lines()
        .find(|l| l.starts_with("Modes:"))
        .unwrap_or_else(|| panic!("no Modes line in {text}"));
    let words: Vec<&str> = modes.split_whitespace().collect();
    assert!(
        words.contains(&"tcp") && words.contains(&"http"),
        "both modes are built in: {modes}"
    );
}

#[test]
fn syntax_errors_in_weirs_words() {
    fails_at(
        "[global]\nnbproc = 1\nnbproc = 2\n",
        3,
        1,
        "duplicate key `nbproc`: a key may be set once in a table",
    );
    fails_at("[global]\nnbproc = \n", 2, 10, "missing value after `=`");
    fails_at(
        "[global]\ndaemon = yes\n",
        2,
        10,
        "`yes` is not a TOML value: strings must be quoted (\"yes\")",
    );
    fails_at(
        "[[global]]\nnbproc = 1\n",
        1,
        3,
        "[[global]] declares a list of tables: write [global]",
    );
}
