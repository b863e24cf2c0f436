//! A view of a text with the escapes programs use for single characters undone — JSON's `\uXXXX`
//! (Go writes `&` as `\u0026`, Python every non-ASCII character as `\u00e4`), XML's `&#38;` and
//! `&#x26;` — and the line breaks of MIME-wrapped base64 removed, each byte of it mapped back to
//! where it came from, so a secret written in any mixture of those is found and masked in place.

use aho_corasick::AhoCorasick;

use super::REDACTED;

/// A base64 line at least this long followed by a line break is taken as wrapped (MIME wraps at
/// 76 characters, PEM at 64).
const WRAPPED_LINE: usize = 60;

pub(super) struct Decoded<'t> {
    text: &'t str,
    view: String,
    /// For each byte of `view`, where the character it belongs to starts in `text`.
    from: Vec<usize>,
}

impl<'t> Decoded<'t> {
    /// The view of `text`, when it has anything to undo (looked for first, without building it:
    /// most texts have nothing).
    pub(super) fn of(text: &'t str) -> Option<Decoded<'t>> {
        if !(text.contains("\\u") || text.contains('&') || text.contains('\n')) {
            return None;
        }
        let mut changed = false;
        scan(text, |c, len| changed |= c.is_none_or(|c| len != c.len_utf8()));
        if !changed {
            return None;
        }
        let (mut view, mut from) = (String::with_capacity(text.len()), Vec::with_capacity(text.len()));
        let mut at = 0;
        scan(text, |c, len| {
            if let Some(c) = c {
                view.push(c);
                from.extend(std::iter::repeat_n(at, c.len_utf8()));
            }
            at += len;
        });
        Some(Decoded { text, view, from })
    }

    /// The text with what `matcher` finds in the view replaced, and how many; None if nothing.
    pub(super) fn masked(&self, matcher: &AhoCorasick) -> Option<(String, usize)> {
        let mut out = String::with_capacity(self.text.len());
        let (mut copied, mut count) = (0, 0);
        for m in matcher.find_iter(&self.view) {
            let start = self.from[m.start()];
            let end = self.from.get(m.end()).copied().unwrap_or(self.text.len());
            if start < copied {
                continue;
            }
            out.push_str(&self.text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
            count += 1;
        }
        out.push_str(&self.text[copied..]);
        (count > 0).then_some((out, count))
    }
}

/// Each character of the view with the length of text it stands for, in order; `None` for a
/// line break left out.
fn scan(text: &str, mut emit: impl FnMut(Option<char>, usize)) {
    let bytes = text.as_bytes();
    let (mut at, mut base64_run) = (0, 0);
    while at < text.len() {
        let (c, len) = match bytes[at] {
            b'\\' if bytes.get(at + 1) == Some(&b'u') => json_escape(text, at).unwrap_or(('\\', 1)),
            b'&' => xml_reference(text, at).unwrap_or(('&', 1)),
            b'\r' | b'\n' if base64_run >= WRAPPED_LINE => {
                let len = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') { 2 } else { 1 };
                if bytes.get(at + len).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/')) {
                    emit(None, len);
                    at += len;
                    continue;
                }
                (bytes[at] as char, 1)
            }
            _ => {
                let c = text[at..].chars().next().expect("inside the text");
                (c, c.len_utf8())
            }
        };
        base64_run = if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') { base64_run + 1 } else { 0 };
        emit(Some(c), len);
        at += len;
    }
}

/// `\uXXXX` at `at` (a surrogate pair as one character), and its length.
fn json_escape(text: &str, at: usize) -> Option<(char, usize)> {
    let unit = |i: usize| {
        text.get(i + 2..i + 6)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let high = unit(at)?;
    if (0xD800..0xDC00).contains(&high) {
        let low = text
            .get(at + 6..at + 8)
            .filter(|s| *s == "\\u")
            .and_then(|_| unit(at + 6))
            .filter(|l| (0xDC00..0xE000).contains(l))?;
        return char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)).map(|c| (c, 12));
    }
    char::from_u32(high).map(|c| (c, 6))
}

/// `&#NN;`, `&#xHH;` or `&lt;` (XML's five named ones) at `at`, and its length: a secret may be
/// written with some characters referenced by number and others by name.
fn xml_reference(text: &str, at: usize) -> Option<(char, usize)> {
    let rest = text.get(at + 1..)?;
    let end = rest.bytes().take(12).position(|b| b == b';')?;
    let name = &rest[..end];
    let code = match name.strip_prefix('#') {
        Some(number) => match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        },
        None => quick_xml::escape::resolve_predefined_entity(name)?.chars().next()? as u32,
    };
    char::from_u32(code).map(|c| (c, end + 2))
}

#[cfg(test)]
mod tests {
    use super::super::SecretMask;

    #[test]
    fn escapes_of_any_character_and_wrapped_base64_are_masked() {
        use base64::Engine;
        let secret = "Pa&ss<wörd>-9f2K";
        let mask = SecretMask::new([secret.to_string()]);
        let wrapped = {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{}user:{secret}", "x".repeat(50)));
            let lines: Vec<String> =
                b64.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            lines.join("\r\n")
        };
        for text in [
            r#"{"p":"Pa\u0026ss\u003cw\u00f6rd\u003e-9f2K"}"#.to_string(),
            r#"{"p":"P\u0061\u0026ss<w\u00F6rd>-9f2K"}"#.to_string(),
            "<p>Pa&#38;ss&#x3C;w&#246;rd&gt;-9f2K</p>".to_string(),
            format!("Content-Transfer-Encoding: base64\r\n\r\n{wrapped}\r\n"),
        ] {
            let masked = mask.mask(&text);
            assert!(masked.contains("[redacted]") && !masked.contains("9f2K"), "{text} → {masked}");
        }
        let plain = "line one\nline two \\u0041 &#65;";
        assert_eq!(mask.mask(plain), plain);
    }
}
