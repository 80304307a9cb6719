//! Configuration: TOML files in, a validated [`model::Config`] out.
//!
//! Two stages, as the rest of the program sees them:
//! 1. the **file model** ([`file`]): what the user wrote, every value with the
//!    span it came from, unknown keys and type errors reported with
//!    `FILE:LINE:COL`;
//! 2. the **typed model** ([`model`]): defaults applied, names resolved to
//!    indices, durations, sizes and addresses parsed, built by [`validate`]
//!    (sections by `global` and `proxy`; ACLs, conditions and HTTP rules by
//!    `http` and `acl`).
//!
//! [`load`] runs both over every `-f` path and returns every error found.

pub mod model;
pub mod schema;

mod acl;
mod acl_counters;
mod addr;
mod check;
pub(crate) mod diag;
mod errorfile;
mod file;
mod global;
mod h2;
mod http;
mod log;
mod parse;
mod proxy;
mod raw;
mod resolvers;
mod servers;
mod stats;
mod strpos;
mod syntax_error;
mod tables;
mod tls;
mod tls_bind;
mod tls_server;
mod type_error;
mod units;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_balance;
#[cfg(test)]
mod tests_check;
#[cfg(test)]
mod tests_dns;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_log;
#[cfg(test)]
mod tests_tables;
#[cfg(test)]
mod tests_tls;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Severity};
pub use model::Config;
pub use validate::check_server_name;

use diag::{Report, Source};
use file::FileModel;

/// Loads the configuration from the `-f` paths, in order. A path is a file,
/// or a directory whose `*.toml` files (not starting with `.`) are read in
/// name order. All sections of all files form one configuration; a section
/// name defined twice is an error. Returns every error (and warning), sorted
/// by file (in load order), line and column; a valid configuration carries
/// its warnings in [`Config::warnings`].
pub fn load(paths: &[PathBuf]) -> Result<Config, Vec<Diagnostic>> {
    let mut report = Report::default();
    let mut model = FileModel::default();
    if paths.is_empty() {
        let msg = "no configuration given: use -f FILE or -f DIRECTORY";
        return Err(vec![Diagnostic::whole_file("weir", msg)]);
    }
    for path in paths {
        for file in files_of(path, &mut report) {
            let name = file.display().to_string();
            match std::fs::read(&file).map(String::from_utf8) {
                Ok(Ok(text)) => add(name, text, &mut model, &mut report),
                Ok(Err(_)) => report.errors.push(Diagnostic::whole_file(
                    name.clone(),
                    format!("cannot read \"{name}\": the file is not valid UTF-8"),
                )),
                Err(e) => report.errors.push(Diagnostic::whole_file(
                    name.clone(),
                    format!("cannot read \"{name}\": {e}"),
                )),
            }
        }
    }
    finish(&model, report)
}

/// Loads one configuration from a string; `file_name` is used in messages.
pub fn load_str(file_name: &str, text: &str) -> Result<Config, Vec<Diagnostic>> {
    let mut report = Report::default();
    let mut model = FileModel::default();
    add(
        file_name.to_string(),
        text.to_string(),
        &mut model,
        &mut report,
    );
    finish(&model, report)
}

/// Stage 1 for one file.
fn add(name: String, text: String, model: &mut FileModel, report: &mut Report) {
    let index = report.sources.len();
    report.sources.push(Source::new(name, text.clone()));
    parse::parse_file(index, &text, model, report);
}

/// Stage 2, unless a syntax error makes its findings unreliable.
fn finish(model: &FileModel, mut report: Report) -> Result<Config, Vec<Diagnostic>> {
    if !model.syntax_errors {
        if let Some(mut config) = validate::build(model, &mut report) {
            if report.errors.is_empty() {
                config.warnings = report.sorted_warnings();
                return Ok(config);
            }
        }
    }
    Err(report.into_sorted())
}

/// The files a `-f` path stands for; reports an unreadable directory.
fn files_of(path: &Path, report: &mut Report) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let name = path.display().to_string();
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            let msg = format!("cannot read directory \"{name}\": {e}");
            report.errors.push(Diagnostic::whole_file(name, msg));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let visible = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'));
            visible && p.extension().is_some_and(|e| e == "toml") && p.is_file()
        })
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        let msg = format!("directory \"{name}\" contains no *.toml file");
        report.errors.push(Diagnostic::whole_file(name, msg));
    }
    files
}
