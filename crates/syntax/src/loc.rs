//! A value with the place in its file it was read from, so a later stage that finds it wrong (an
//! unknown flow, a version that is not recorded) points at it exactly — not at the first text that
//! looks like it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::path::Path;

use harness_core::Diagnostic;
use serde::{Deserialize, Deserializer};

/// Where a value stands in its file: byte offset and length of its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    /// The span of a parser location in `text`; characters are converted to bytes when the parser
    /// only knows characters.
    pub(crate) fn of(location: &serde_saphyr::Location, text: &str) -> Span {
        let span = location.span();
        match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) => Span { offset: offset as usize, len: len as usize },
            _ => {
                let byte = |chars: u64| text.char_indices().nth(chars as usize).map_or(text.len(), |(i, _)| i);
                let start = byte(span.offset());
                Span { offset: start, len: byte(span.offset() + span.len()).saturating_sub(start) }
            }
        }
    }

    /// The line (from 1) of `text` the value starts on.
    pub fn line(&self, text: &str) -> usize {
        text.as_bytes()[..self.offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// A diagnostic about `file` (whose text is `text`) pointing here.
    pub fn diagnostic(
        &self,
        file: impl Into<std::path::PathBuf>,
        text: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        // A quoted value's span covers its quotes; the caret goes under what is inside them.
        let (mut offset, mut len) = (self.offset.min(text.len()), self.len);
        if let Some(quoted) = text.get(offset..offset + len)
            && len >= 2
            && (quoted.starts_with('"') && quoted.ends_with('"') || quoted.starts_with('\'') && quoted.ends_with('\''))
        {
            offset += 1;
            len -= 2;
        }
        Diagnostic::new(file, message).at_offset(text, offset, len.max(1))
    }
}

impl Span {
    /// The byte offset in `text` of byte `inner` of the value's content: inside its quotes for a
    /// quoted scalar, on the lines below the indicator (indentation left out) for a block scalar.
    pub fn content_offset(&self, text: &str, inner: usize) -> usize {
        let start = self.offset.min(text.len());
        let raw = &text[start..(start + self.len).min(text.len())];
        if raw.starts_with('"') || raw.starts_with('\'') {
            return (start + 1 + inner).min(text.len());
        }
        if !(raw.starts_with('|') || raw.starts_with('>')) {
            return (start + inner).min(text.len());
        }
        // A block scalar: content lines follow the indicator line, each with the same indentation.
        let Some(first_newline) = raw.find('\n') else { return start };
        let mut at = start + first_newline + 1;
        let indent = text[at..].chars().take_while(|c| *c == ' ').count();
        let mut left = inner;
        for line in text[at..].split_inclusive('\n') {
            let content = line.get(indent.min(line.len())..).unwrap_or("");
            if left < content.len() {
                return at + indent.min(line.len()) + left;
            }
            left -= content.len();
            at += line.len();
        }
        start
    }

    /// A diagnostic pointing at `len` bytes from byte `inner` of the value's content.
    pub fn diagnostic_inside(
        &self,
        file: impl Into<std::path::PathBuf>,
        text: &str,
        inner: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(file, message).at_offset(text, self.content_offset(text, inner), len.max(1))
    }
}

/// `T` and where it was written. Compares, orders and hashes as `T` alone.
#[derive(Clone, Default)]
pub struct Loc<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Loc<T> {
    /// A value that was not read from a file (a default).
    pub fn unlocated(value: T) -> Self {
        Loc { value, span: Span::default() }
    }

    pub fn is_located(&self) -> bool {
        self.span != Span::default()
    }

    /// A diagnostic about this value in `file`.
    pub fn error(&self, file: &Path, text: &str, message: impl Into<String>) -> Diagnostic {
        self.span.diagnostic(file, text, message)
    }
}

impl<T> Deref for Loc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Loc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for Loc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Loc<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Loc<T> {}

impl<T: PartialOrd> PartialOrd for Loc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Loc<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T: Hash> Hash for Loc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loc<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(d)?;
        let location = spanned.referenced;
        // The text is not at hand here; spans are resolved to bytes when the parser knows them,
        // which it does for every file the harness reads (they are read as strings).
        let span = location.span();
        let span = Span {
            offset: span.byte_offset().unwrap_or(span.offset()) as usize,
            len: span.byte_len().unwrap_or(span.len()) as usize,
        };
        Ok(Loc { value: spanned.value, span })
    }
}

impl<T: serde::Serialize> serde::Serialize for Loc<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Loc<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_inside_plain_quoted_and_block_values() {
        let text = "a: .x | y\nb: '.x | y'\nc: |\n  .x\n  | y\n";
        let plain = Span { offset: 3, len: 6 };
        assert_eq!(&text[plain.content_offset(text, 5)..][..1], "y");
        let quoted = Span { offset: 13, len: 8 };
        assert_eq!(&text[quoted.content_offset(text, 5)..][..1], "y");
        let block = Span { offset: 25, len: 14 };
        assert_eq!(&text[block.content_offset(text, 5)..][..1], "y");
    }
}
