//! The workspace as a Rust user meets it: a plain `cargo build` (or
//! `cargo build --release`) at the root must build the `weir` binary, so
//! every member, the binary's package `weir` (in `master/`) included, is a
//! default member. Read from `cargo metadata`, which says what a command
//! without `-p` selects.

use std::process::Command;

/// `cargo metadata --no-deps` for this workspace, as text.
fn metadata() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("metadata is UTF-8")
}

/// The JSON array after `"KEY":`, as its raw text (the ids in it hold no
/// `]`).
fn array<'a>(json: &'a str, key: &str) -> &'a str {
    let at = json
        .find(&format!("\"{key}\":["))
        .unwrap_or_else(|| panic!("no {key} in cargo metadata"));
    let rest = &json[at + key.len() + 4..];
    &rest[..rest.find(']').expect("end of array")]
}

#[test]
fn plain_cargo_build_builds_the_weir_binary() {
    let json = metadata();
    let members = array(&json, "workspace_members");
    let defaults = array(&json, "workspace_default_members");
    // Package ids end in `#NAME@VERSION` (path packages).
    for package in ["#weir-core@", "#weir-worker@", "#weir@"] {
        assert!(
            members.contains(package),
            "{package} is a member: {members}"
        );
        assert!(
            defaults.contains(package),
            "{package} must be a default member, so that `cargo build` at the \
             root builds it: default members are {defaults}"
        );
    }
    // The binary target `weir` belongs to the package `weir`.
    assert!(
        json.contains("\"kind\":[\"bin\"]") && json.contains("\"name\":\"weir\""),
        "the weir binary target: {json}"
    );
}
