//! Diagnostics: `FILE:LINE:COL: error: MESSAGE` (or `warning:`), and the
//! source files that turn byte spans into 1-based lines and columns.
//!
//! A warning (an expired certificate, a setting that has no effect) is
//! printed but does not make the configuration invalid: `load` returns it in
//! [`super::Config::warnings`], or among the errors when there are some.

use std::fmt;
use std::ops::Range;

/// One configuration error or warning, with the position it refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file as named on the command line (or found in a `-f` directory).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    pub message: String,
    pub severity: Severity,
}

/// Whether a diagnostic makes the configuration invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Diagnostic {
    /// An error about a whole file (cannot read it, no section, …): line 1, col 1.
    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: 1,
            col: 1,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {what}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// One loaded file: its name and where each line starts.
#[derive(Debug)]
pub(crate) struct Source {
    pub name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(name: String, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            name,
            text,
            line_starts,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }
}

/// A position in one of the loaded files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    /// Index into [`Sources`].
    pub file: usize,
    pub span: Range<usize>,
}

/// Every loaded file, and the errors found so far.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub sources: Vec<Source>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Report {
    /// Records an error at `loc`.
    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        let d = self.at(loc, message.into(), Severity::Error);
        self.errors.push(d);
    }

    /// Records a warning at `loc`.
    pub fn warn(&mut self, loc: &Loc, message: impl Into<String>) {
        let d = self.at(loc, message.into(), Severity::Warning);
        self.warnings.push(d);
    }

    fn at(&self, loc: &Loc, message: String, severity: Severity) -> Diagnostic {
        let Some(src) = self.sources.get(loc.file) else {
            return Diagnostic {
                severity,
                ..Diagnostic::whole_file("<unknown>", message)
            };
        };
        let (line, col) = src.line_col(loc.span.start);
        Diagnostic {
            file: src.name.clone(),
            line,
            col,
            message,
            severity,
        }
    }

    /// The source text at `loc`, if it is in a loaded file.
    pub fn text(&self, loc: &Loc) -> Option<&str> {
        self.sources.get(loc.file)?.text.get(loc.span.clone())
    }

    /// `FILE:LINE:COL` of a position, to point at a first definition.
    pub fn describe(&self, loc: &Loc) -> String {
        match self.sources.get(loc.file) {
            Some(src) => {
                let (line, col) = src.line_col(loc.span.start);
                format!("{}:{line}:{col}", src.name)
            }
            None => "<unknown>".to_string(),
        }
    }

    /// The errors and warnings sorted by file (in load order), line and
    /// column.
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        let mut all = self.errors.clone();
        all.extend(self.warnings.iter().cloned());
        self.sort(all)
    }

    /// The warnings alone, sorted.
    pub fn sorted_warnings(&self) -> Vec<Diagnostic> {
        self.sort(self.warnings.clone())
    }

    fn sort(&self, mut list: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let order = |name: &str| self.sources.iter().position(|s| s.name == name);
        list.sort_by_key(|d| (order(&d.file), d.line, d.col, d.severity));
        list.dedup();
        list
    }
}

/// `did you mean `x`?` when a candidate is close enough to `word`.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let s = Source::new("f".into(), "ab\né = 1\n".into());
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(6), (2, 3)); // after "é " (é is two bytes)
        assert_eq!(s.line_col(100), (3, 1));
    }

    #[test]
    fn display_format() {
        let d = Diagnostic {
            file: "a.toml".into(),
            line: 3,
            col: 7,
            message: "boom".into(),
            severity: Severity::Error,
        };
        assert_eq!(d.to_string(), "a.toml:3:7: error: boom");
        let w = Diagnostic {
            severity: Severity::Warning,
            ..d
        };
        assert_eq!(w.to_string(), "a.toml:3:7: warning: boom");
    }

    #[test]
    fn hints() {
        assert_eq!(
            did_you_mean("bnid", ["bind", "mode"]),
            "; did you mean `bind`?"
        );
        assert_eq!(did_you_mean("zzz", ["bind", "mode"]), "");
    }
}
