//! `docs/configuration.md` documents every key of the schema.
//!
//! Convention: each section has a level-2 heading containing its name as the
//! schema spells it (`## [global]`, `## [frontend.NAME]`, …); under it, until
//! the next level-2 heading, every key is the first cell of a table row,
//! written in backticks: `` | `maxconn` | … ``, nested keys as
//! `` | `timeout.connect` | … ``.

use std::collections::{HashMap, HashSet};

use weir_core::config::schema;

/// The keys documented under each section heading.
fn documented_keys(doc: &str) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            current = schema::Section::ALL
                .iter()
                .map(|s| s.heading())
                .find(|h| title.contains(h))
                .map(str::to_string);
            continue;
        }
        let (Some(section), Some(row)) = (&current, line.trim().strip_prefix('|')) else {
            continue;
        };
        let cell = row.split('|').next().unwrap_or("").trim();
        if let Some(key) = cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
            out.entry(section.clone())
                .or_default()
                .insert(key.to_string());
        }
    }
    out
}

#[test]
fn every_schema_key_is_documented() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let doc = std::fs::read_to_string(path).expect("read docs/configuration.md");
    let found = documented_keys(&doc);
    let missing: Vec<String> = schema::documented()
        .into_iter()
        .filter(|(section, key)| {
            !found
                .get(section.heading())
                .is_some_and(|keys| keys.contains(key))
        })
        .map(|(section, key)| format!("{} `{key}`", section.heading()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not document these keys (a table row whose first \
         cell is `key`, under a `## …[section]…` heading):\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_convention_is_understood() {
    let doc = "## The `[global]` section\n| key | type |\n|---|---|\n| `nbproc` | int |\n\
               ## `[defaults]`\n| `timeout.connect` | duration |\n";
    let found = documented_keys(doc);
    assert!(found["[global]"].contains("nbproc"));
    assert!(found["[defaults]"].contains("timeout.connect"));
    assert!(!found["[global]"].contains("timeout.connect"));
}
