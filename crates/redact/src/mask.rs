//! Masking known secret values, in every form they take on the way out.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::REDACTED;
use decoded::Decoded;

mod decoded;

/// Shorter values are ignored: a 4-character password or a numeric id would also match ordinary
/// text (order numbers, words) and mangle it, while every real credential these systems issue is
/// far longer.
pub(super) const MIN_SECRET_CHARS: usize = 6;

/// RFC 3986 unreserved characters stay, everything else is escaped: what URL and form encoders
/// produce for a value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Replaces known secret values in text with [`REDACTED`](super::REDACTED).
///
/// Each secret is looked for raw, percent-encoded (upper- and lowercase escapes, `+` or `%20` for
/// spaces), JSON-escaped, XML-escaped and base64-encoded — including inside a longer base64 text
/// such as `Basic base64(user:secret)` for any user: base64 turns each 3 bytes into 4 characters,
/// so a secret has three possible alignments, and for each the characters that depend on the
/// secret alone are a fixed string to search for.
pub struct SecretMask {
    matcher: Option<AhoCorasick>,
    /// For each pattern, the position of its secret in the list given to [`SecretMask::new`].
    owners: Vec<usize>,
    /// Secrets masked after these: a run's, shared by the masks of all its cases (see [`over`](Self::over)).
    base: Option<Arc<SecretMask>>,
}

impl SecretMask {
    /// Values are trimmed; those shorter than 6 characters after trimming are ignored (they would
    /// match ordinary text), and so are values the placeholder itself contains.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let mut owners = Vec::new();
        for (owner, secret) in secrets.into_iter().enumerate() {
            let secret = secret.trim();
            if secret.chars().count() < MIN_SECRET_CHARS || REDACTED.contains(secret) {
                continue;
            }
            for form in forms(secret) {
                if seen.insert(form.clone()) {
                    patterns.push(form);
                    owners.push(owner);
                }
            }
        }
        let matcher = (!patterns.is_empty()).then(|| {
            // Longest first, so a secret containing another is masked whole. The contiguous NFA
            // builds in microseconds where the DFA chosen by default for few patterns takes
            // milliseconds per long secret — and a redactor rebuilds whenever it learns one — while
            // searching about as fast.
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&patterns)
                .expect("a list of secrets is far below aho-corasick's size limits")
        });
        Self { matcher, owners, base: None }
    }

    /// A mask for `more` secrets on top of `base`. Only the new secrets' forms are computed and
    /// searched for first, then `base` masks the rest: a case's mask costs what its mocks issued,
    /// not every secret of the run again. (An issued value containing a known one is still masked
    /// whole; the reverse, a known secret containing an issued one, is left to the base's search.)
    pub fn over(base: Arc<SecretMask>, more: impl IntoIterator<Item = String>) -> Self {
        Self { base: Some(base), ..Self::new(more) }
    }

    /// `text` with every known secret replaced; borrowed, without copying, when none occurs.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.mask_counting(text).0
    }

    /// [`mask`](Self::mask), also telling how many values were replaced.
    pub(super) fn mask_counting<'t>(&self, text: &'t str) -> (Cow<'t, str>, usize) {
        let (own, count) = self.mask_own(text);
        let Some(base) = &self.base else { return (own, count) };
        match own {
            Cow::Borrowed(text) => {
                let (masked, more) = base.mask_counting(text);
                (masked, count + more)
            }
            Cow::Owned(text) => {
                let (masked, more) = base.mask_counting(&text);
                let masked = match masked {
                    Cow::Owned(masked) => masked,
                    Cow::Borrowed(_) => text,
                };
                (Cow::Owned(masked), count + more)
            }
        }
    }

    fn mask_own<'t>(&self, text: &'t str) -> (Cow<'t, str>, usize) {
        let Some(matcher) = &self.matcher else { return (Cow::Borrowed(text), 0) };
        // Escapes a program may use for any character (`\u0026`, `&#38;`) and MIME's line breaks
        // in base64 are undone in a view of the text; what matches there is masked in the text.
        if let Some((masked, count)) = Decoded::of(text).and_then(|view| view.masked(matcher)) {
            let (rest, more) = mask_plain(matcher, &masked);
            return (Cow::Owned(rest.into_owned()), count + more);
        }
        mask_plain(matcher, text)
    }

    /// The positions (in the list given to [`new`](Self::new)) of the secrets found in `text`; a
    /// base's secrets are not among them.
    pub(super) fn owners_in<'a>(&'a self, text: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.matcher.iter().flat_map(move |m| m.find_iter(text)).map(|m| self.owners[m.pattern().as_usize()])
    }
}

/// `text` with every match of `matcher` replaced.
fn mask_plain<'t>(matcher: &AhoCorasick, text: &'t str) -> (Cow<'t, str>, usize) {
    if !matcher.is_match(text) {
        return (Cow::Borrowed(text), 0);
    }
    let mut count = 0;
    let mut out = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str(REDACTED);
        count += 1;
        true
    });
    (Cow::Owned(out), count)
}

fn forms(secret: &str) -> Vec<String> {
    let percent = utf8_percent_encode(secret, COMPONENT).to_string();
    let mut forms = vec![
        secret.to_string(),
        lowercase_escapes(&percent),
        percent.replace("%20", "+"),
        // Encoded twice over (a URL inside a query parameter).
        utf8_percent_encode(&percent, COMPONENT).to_string(),
        percent,
        json_escape(secret),
        quick_xml::escape::escape(secret).into_owned(),
        quick_xml::escape::partial_escape(secret).into_owned(),
    ];
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        forms.extend((0..3).map(|offset| base64_fragment(&engine, secret, offset)));
    }
    forms
}

/// The secret as it appears inside a JSON string (without the quotes).
fn json_escape(secret: &str) -> String {
    let quoted = serde_json::Value::from(secret).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// `%2F` → `%2f`, leaving the rest as it is.
fn lowercase_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut escape_left = 0;
    for c in percent.chars() {
        if c == '%' {
            escape_left = 2;
            out.push(c);
        } else if escape_left > 0 {
            escape_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The base64 characters fixed by `secret` alone when it follows `offset` bytes of anything:
/// character `i` carries bits `6i..6i+6`, and only those wholly inside the secret's bits qualify.
fn base64_fragment(engine: &GeneralPurpose, secret: &str, offset: usize) -> String {
    let mut bytes = vec![0; offset];
    bytes.extend_from_slice(secret.as_bytes());
    let encoded = engine.encode(&bytes);
    let first = (8 * offset).div_ceil(6);
    let end = 8 * bytes.len() / 6;
    encoded[first..end].to_string()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const SECRET: &str = "s3cr3t/value+with spaces&\"quotes\"";

    fn mask() -> SecretMask {
        SecretMask::new([SECRET.to_string(), "short".to_string(), " harness-test-password\n".to_string()])
    }

    #[test]
    fn masks_every_form() {
        let mask = mask();
        let percent = utf8_percent_encode(SECRET, COMPONENT).to_string();
        let json = serde_json::to_string(&serde_json::json!({ "token": SECRET })).unwrap();
        for text in [
            format!("raw {SECRET} end"),
            format!("query ?t={percent}&x=1"),
            format!("query ?t={}&x=1", lowercase_escapes(&percent)),
            format!("form t={}", percent.replace("%20", "+")),
            json.clone(),
            format!("xml <t>{}</t>", quick_xml::escape::partial_escape(SECRET)),
            format!("Authorization: Basic {}", STANDARD.encode(format!("user:{SECRET}"))),
            format!("Authorization: Basic {}", STANDARD.encode(format!("ab:{SECRET}"))),
            format!("Authorization: Basic {}", STANDARD.encode(format!("abc:{SECRET}"))),
            format!("Authorization: Basic {}", STANDARD.encode("harness:harness-test-password")),
        ] {
            let masked = mask.mask(&text);
            assert!(masked.contains(REDACTED), "{text} → {masked}");
            assert!(!masked.contains("s3cr3t") && !masked.contains("harness-test-password"), "{text} → {masked}");
        }
        assert_eq!(mask.mask(&json), r#"{"token":"[redacted]"}"#);
    }

    #[test]
    fn leaves_other_text_alone() {
        let mask = mask();
        let text = "nothing secret here, not even short or harness-test";
        assert!(matches!(mask.mask(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(SecretMask::new([]).mask(text), Cow::Borrowed(_)));
        assert!(matches!(SecretMask::new(["redact".to_string()]).mask("[redacted]"), Cow::Borrowed(_)));
    }

    #[test]
    fn counts_and_owners() {
        let mask = mask();
        let text = format!("{SECRET} and harness-test-password and {SECRET}");
        assert_eq!(mask.mask_counting(&text).1, 3);
        assert_eq!(mask.owners_in(&text).collect::<Vec<_>>(), [0, 2, 0]);
    }

    #[test]
    fn a_mask_over_a_base_masks_both_and_an_issued_value_whole() {
        let issued = format!("tok-{SECRET}-issued");
        let case = SecretMask::over(Arc::new(mask()), [issued.clone(), "issued-session-id".to_string()]);
        let text = format!("a={issued} b=issued-session-id c={SECRET} d=harness-test-password");
        let (masked, count) = case.mask_counting(&text);
        assert_eq!(masked, "a=[redacted] b=[redacted] c=[redacted] d=[redacted]");
        assert_eq!(count, 4);
        assert!(matches!(case.mask("nothing here"), Cow::Borrowed(_)));
        assert_eq!(SecretMask::over(Arc::new(mask()), []).mask(SECRET), "[redacted]");
    }
}
