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
    /// Boxed so a diagnostic stays small enough to return by value in a `Result`.
    pub span: Option<Box<SourceSpan>>,
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

/// Characters of a source line shown around an error's column.
const EXCERPT: usize = 200;
/// Characters of a message shown: a message quoting a huge value shows its start and its end.
const MAX_SHOWN: usize = 2000;

/// `c` as it can be shown on a terminal: control characters (escape sequences among them) and
/// the characters that reorder text are replaced by visible stand-ins, one for one, so columns
/// still line up.
fn printable(c: char) -> char {
    match c {
        '\t' => '\t',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        '\u{80}'..='\u{9f}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
        c => c,
    }
}

/// `text` made printable (line breaks kept) and, past `max` characters, shortened in the middle.
pub fn shown(text: &str, max: usize) -> String {
    let count = text.chars().count();
    let keep = |c: char| if c == '\n' { c } else { printable(c) };
    if count <= max {
        return text.chars().map(keep).collect();
    }
    let head: String = text.chars().take(max / 2).map(keep).collect();
    let tail: String = text.chars().skip(count - max / 2).map(keep).collect();
    format!("{head}… ({} characters left out) …{tail}", count - max)
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
        self.span = Some(Box::new(span));
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
        writeln!(f, "error: {}", shown(&self.message, MAX_SHOWN))?;
        let help = self.help.as_deref().map(|h| shown(h, MAX_SHOWN));
        let Some(span) = &self.span else {
            write!(f, "  --> {}", shown(&self.location(), MAX_SHOWN))?;
            if let Some(help) = &help {
                write!(f, "\n  = help: {help}")?;
            }
            return Ok(());
        };
        let number = span.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "{pad}--> {}", shown(&self.location(), MAX_SHOWN))?;
        writeln!(f, "{pad} |")?;
        // A window of the line around the column: a minified 50 MB document is one line.
        let chars: Vec<char> = span.line_text.chars().collect();
        let from = (span.column - 1).saturating_sub(EXCERPT / 2).min(chars.len().saturating_sub(EXCERPT));
        let to = (from + EXCERPT).min(chars.len());
        let excerpt: String = chars[from..to].iter().map(|&c| printable(c)).collect();
        let (before, after) = (if from > 0 { "…" } else { "" }, if to < chars.len() { "…" } else { "" });
        writeln!(f, "{number} | {before}{excerpt}{after}")?;
        // The caret goes under the same characters, so tabs in the line are kept as tabs.
        let lead: String = before
            .chars()
            .chain(chars[from..(span.column - 1).clamp(from, to)].iter().copied())
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width =
            if to < chars.len() { span.width.min(to.saturating_sub(span.column - 1).max(1)) } else { span.width };
        write!(f, "{pad} | {lead}{}", "^".repeat(width))?;
        if let Some(label) = &self.label {
            write!(f, " {}", shown(label, MAX_SHOWN))?;
        }
        if let Some(help) = &help {
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
    // A long word is no typo of a name, and comparing it would take time and memory by its length.
    if word.len() > 64 {
        return None;
    }
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
    fn excerpts_are_bounded_and_printable() {
        let long = format!("{{\"a\": \"\u{1b}[31m{}\", \"b\": }}", "x".repeat(100_000));
        let d = Diagnostic::new("a.json", format!("bad value `{}`", "v".repeat(1_000_000))).at_offset(
            &long,
            long.len() - 1,
            1,
        );
        let text = d.to_string();
        assert!(text.len() < 3000, "{} bytes", text.len());
        assert!(text.contains("(998012 characters left out)") && text.contains("…xxx"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let (excerpt, caret) = (lines[lines.len() - 2], lines[lines.len() - 1]);
        assert_eq!(
            excerpt.find("}").map(|i| excerpt[..i].chars().count()),
            caret.find('^').map(|i| caret[..i].chars().count()),
            "{text}"
        );
        let d = Diagnostic::new("a.json", "x").at_offset("\u{1b}[2J\u{202e}bad", 7, 3);
        assert!(!d.to_string().contains('\u{1b}') && !d.to_string().contains('\u{202e}'), "{d}");
        assert_eq!(did_you_mean(&"x".repeat(4 << 20), ["flow"]), None);
    }

    #[test]
    fn suggests_only_near_misses() {
        let fields = ["flow", "expect", "systems", "trigger"];
        assert_eq!(did_you_mean("expct", fields), Some("expect"));
        assert_eq!(did_you_mean("sytems", fields), Some("systems"));
        assert_eq!(did_you_mean("zzzzzz", fields), None);
    }
}
