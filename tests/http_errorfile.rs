//! `errorfile`: when weir answers an error itself, a client gets the
//! configured file's bytes exactly (the backend's once a request reached
//! it, else the frontend's, with `[defaults]`' under both), and weir's own
//! page for a status no file gives; `weir -c` reports a missing file, one
//! that is not an HTTP response, a status mismatch and a file too large,
//! each at its status key.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::http::{assert_error_page, backend, http_config, raw_exchange, HttpLogs};
use common::http_origin::HttpOrigin;
use common::origin::dead_port;
use common::weir::TempDir;
use common::{free_port, Weir, DEADLINE};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const FE_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
    Content-Length: 20\r\nCache-Control: no-cache\r\n\r\nfrontend is resting\n";
const BE_503: &[u8] = b"HTTP/1.0 503 Backend Down\r\nX-Page: backend\r\n\r\n<p>backend down</p>\n";
const DEF_403: &[u8] = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\nno entry!\r\n";
const FE_400: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\nX-Why: \"bad\"\r\n\r\nbad\n";

#[test]
fn errorfiles_are_sent_byte_for_byte() {
    let files = TempDir::new("errorfile");
    let (fe503, be503, def403, fe400) = (
        write(&files.path, "fe503.http", FE_503),
        write(&files.path, "be503.http", BE_503),
        write(&files.path, "def403.http", DEF_403),
        write(&files.path, "fe400.http", FE_400),
    );
    let origin = HttpOrigin::start("o1");
    let dead = dead_port();
    let port = free_port();
    let frontend = format!(
        "errorfile = {{ 503 = \"{}\", 400 = \"{}\" }}\n\
         use_backend = [{{ backend = \"be\", if = \"{{ path_beg /ok /garbage }}\" }}, \
         {{ backend = \"dead\", if = \"{{ path_beg /dead }}\" }}]\n\
         http_request = [{{ deny = 403, if = \"{{ path_beg /admin }}\" }}]",
        fe503.display(),
        fe400.display()
    );
    let backends = format!(
        "{}{}",
        backend("be", "", &[origin.addr]),
        backend(
            "dead",
            &format!(
                "retries = 0\nerrorfile = {{ 503 = \"{}\" }}",
                be503.display()
            ),
            &[dead.addr]
        )
    );
    let defaults = format!("errorfile = {{ 403 = \"{}\" }}", def403.display());
    let config = http_config(port, &defaults, &frontend, &backends)
        .replace("default_backend = \"be\"\n", "");
    let weir = Weir::start(&config);

    let get = |target: &str| {
        let req = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        raw_exchange(port, req.as_bytes(), DEADLINE).0
    };
    assert!(get("/ok").starts_with(b"HTTP/1.1 200 "));
    // No use_backend rule takes it: 503 before any backend, the frontend's.
    assert_eq!(get("/nowhere"), FE_503);
    // The backend's server refuses: 503 after the backend was chosen.
    assert_eq!(get("/dead"), BE_503);
    // deny = 403: [defaults]' file, inherited by the frontend.
    assert_eq!(get("/admin"), DEF_403);
    // A bad request, refused before anything else.
    let (bad, closed) = raw_exchange(
        port,
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
        DEADLINE,
    );
    assert!(closed);
    assert_eq!(bad, FE_400);
    // No file for 502: weir's own page.
    assert_error_page(&get("/garbage"), 502, "invalid response");
    // Served from memory: the files may go.
    std::fs::remove_dir_all(&files.path).unwrap();
    assert_eq!(get("/nowhere"), FE_503);
    // The log still says what happened.
    let log = weir.wait_httplog("/dead", DEADLINE, |l| l.request.contains("/dead"));
    assert_eq!(log.status, 503);
    drop(weir);
}

fn check(config: &str) -> (i32, String, PathBuf, TempDir) {
    let dir = TempDir::new("errorfile-check");
    let path = dir.path.join("weir.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(common::weir::bin())
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), err, path, dir)
}

#[test]
fn weir_c_reports_bad_errorfiles_at_their_status() {
    let files = TempDir::new("errorfile-bad");
    let html = write(&files.path, "x.html", b"<html>busy</html>\n");
    let page = write(&files.path, "503.http", FE_503);
    let mut big = b"HTTP/1.1 503 Busy\r\n\r\n".to_vec();
    big.resize(40_000, b'x');
    let big = write(&files.path, "big.http", &big);
    let missing = files.path.join("missing.http");
    let config = format!(
        "[defaults]\nmode = \"http\"\nerrorfile = {{ 503 = \"{}\" }}\n\
         [frontend.fe]\nbind = \":8080\"\ndefault_backend = \"be\"\n\
         errorfile = {{ 400 = \"{}\",\n  502 = \"{}\" }}\n\
         [backend.be]\nserver = [{{ name = \"a\", address = \"127.0.0.1:1\" }}]\n\
         errorfile = {{ 504 = \"{}\" }}\n",
        missing.display(),
        html.display(),
        page.display(),
        big.display()
    );
    let (code, err, path, _dir) = check(&config);
    assert_eq!(code, 1, "{err}");
    let p = path.display();
    let want = [
        format!(
            "{p}:3:15: error: errorfile 503 \"{}\": cannot read it",
            missing.display()
        ),
        format!(
            "{p}:7:15: error: errorfile 400 \"{}\": not an HTTP response",
            html.display()
        ),
        format!(
            "{p}:8:3: error: errorfile 502 \"{}\": the response's status is 503, not 502",
            page.display()
        ),
        format!(
            "{p}:11:15: error: errorfile 504 \"{}\": too large: 40000 bytes",
            big.display()
        ),
    ];
    for w in &want {
        assert!(
            err.lines().any(|l| l.starts_with(w.as_str())),
            "missing {w:?} in:\n{err}"
        );
    }
    assert_eq!(
        err.lines().filter(|l| l.contains(": error: ")).count(),
        4,
        "{err}"
    );

    let ok = format!(
        "[defaults]\nmode = \"http\"\n[frontend.fe]\nbind = \":8080\"\ndefault_backend = \"be\"\n\
         errorfile = {{ 503 = \"{}\" }}\n[backend.be]\nserver = [{{ name = \"a\", address = \"127.0.0.1:1\" }}]\n",
        page.display()
    );
    let (code, err, _, _dir) = check(&ok);
    assert_eq!(code, 0, "{err}");
}
