//! Errors in the user's files, rendered the way rustc renders them: a headline, `--> file:line:col`,
//! the offending source line with a caret under the span, and optional help.
//!
//! Every loader reports problems as [`Diagnostic`]s so the CLI can show all of them at once and exit
//! with the configuration-error code.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub message: String,
    /// Where in the file; `None` when the problem concerns the whole file (e.g. it is missing).
    pub span: Option<SourceSpan>,
    /// Text printed under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
}

/// A located region of a file: 1-based line and column of its start, plus the source line text so the
/// diagnostic renders without re-reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpan {
    pub line: usize,
    pub column: usize,
    /// Length in characters of the marked region on that line (at least 1).
    pub width: usize,
    pub line_text: String,
}

impl SourceSpan {
    /// Locate byte `offset` (and `len` bytes after it) in `source`.
    pub fn from_offset(source: &str, offset: usize, len: usize) -> Self {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[offset..].find('\n').map_or(source.len(), |i| offset + i);
        let line = source[..offset].matches('\n').count() + 1;
        let column = source[line_start..offset].chars().count() + 1;
        let end = floor_char_boundary(source, (offset + len).min(line_end));
        let width = source[offset..end.max(offset)].chars().count().max(1);
        let line_text = source[line_start..line_end].trim_end_matches('\r').to_string();
        SourceSpan { line, column, width, line_text }
    }

    /// Locate a 1-based line and column in `source`.
    pub fn from_line_col(source: &str, line: usize, column: usize, width: usize) -> Self {
        let line_text = source.lines().nth(line.saturating_sub(1)).unwrap_or("").to_string();
        SourceSpan { line: line.max(1), column: column.max(1), width: width.max(1), line_text }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic { file: file.into(), message: message.into(), span: None, label: None, help: None }
    }

    pub fn at(mut self, span: SourceSpan) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_offset(self, source: &str, offset: usize, len: usize) -> Self {
        self.at(SourceSpan::from_offset(source, offset, len))
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, or just the file when there is no span.
    pub fn location(&self) -> String {
        match &self.span {
            Some(s) => format!("{}:{}:{}", self.file.display(), s.line, s.column),
            None => self.file.display().to_string(),
        }
    }

    /// Paths in diagnostics are shown relative to the project root when they are inside it.
    pub fn relative_to(mut self, root: &Path) -> Self {
        if let Ok(rel) = self.file.strip_prefix(root) {
            self.file = rel.to_path_buf();
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let Some(span) = &self.span else {
            write!(f, "  --> {}", self.location())?;
            if let Some(help) = &self.help {
                write!(f, "\n  = help: {help}")?;
            }
            return Ok(());
        };
        let number = span.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "{pad}--> {}", self.location())?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{number} | {}", span.line_text)?;
        // The caret goes under the same characters, so tabs in the line are kept as tabs.
        let lead: String = span
            .line_text
            .chars()
            .take(span.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{pad} | {lead}{}", "^".repeat(span.width))?;
        if let Some(label) = &self.label {
            write!(f, " {label}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{pad} |\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Several diagnostics, shown one after another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted by file and position so the output does not depend on loading order.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            let pos = |d: &Diagnostic| d.span.as_ref().map(|s| (s.line, s.column));
            (&a.file, pos(a), &a.message).cmp(&(&b.file, pos(b), &b.message))
        });
        self.0.dedup();
        self
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edits between two words, a swap of neighbours counting as one (`fiel` is one from `file`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![(0..=b.len()).collect::<Vec<usize>>()];
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (rows[i - 1][j - 1] + cost).min(rows[i - 1][j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(rows[i - 2][j - 2] + 1);
            }
        }
        rows.push(row);
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(edit_distance("fiel", "file"), 1);
        assert_eq!(edit_distance("expct", "expect"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(did_you_mean("fiel", ["body", "file", "headers"]), Some("file"));
    }

    #[test]
    fn renders_like_rustc() {
        let src = "flow: x\nexpct:\n  outcome: ok\n";
        let d = Diagnostic::new("scenarios/a.yaml", "unknown field `expct`")
            .at_offset(src, 8, 5)
            .label("did you mean `expect`?");
        assert_eq!(
            d.to_string(),
            "error: unknown field `expct`\n --> scenarios/a.yaml:2:1\n  |\n2 | expct:\n  | ^^^^^ did you mean `expect`?"
        );
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let src = "name: Zoë\nbad: 1\n";
        let s = SourceSpan::from_offset(src, src.find("bad").unwrap(), 3);
        assert_eq!((s.line, s.column, s.width), (2, 1, 3));
        let s = SourceSpan::from_offset(src, src.find('ë').unwrap(), 2);
        assert_eq!((s.line, s.column, s.width), (1, 9, 1));
    }

    #[test]
    fn suggests_only_near_misses() {
        let fields = ["flow", "expect", "systems", "trigger"];
        assert_eq!(did_you_mean("expct", fields), Some("expect"));
        assert_eq!(did_you_mean("sytems", fields), Some("systems"));
        assert_eq!(did_you_mean("zzzzzz", fields), None);
    }
}
