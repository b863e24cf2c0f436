//! Finding credentials and personal data left in files.

use std::cmp::Reverse;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::fields;
use super::patterns::{self, EMAIL, TokenShapes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintKind {
    /// A vendor token format: a system's own, GitHub, AWS, Slack, JSON Web Token.
    Token,
    /// A PEM private key.
    PrivateKey,
    /// `Bearer <token>` or `Basic <base64 user:password>` in text.
    AuthHeader,
    /// A high-entropy value under a credential name (`client_secret: …`).
    CredentialValue,
    /// An email address outside the test domains.
    Email,
    /// A card number, a bank account (IBAN), a phone number or a national id.
    PersonalData,
    /// A person's name where the redactor fakes one (the `refName` of a customer reference, a
    /// name after a title or `call` in free text).
    PersonName,
}

/// One finding. `line` and `column` are 1-based, `column` and `len` count characters; a finding
/// spanning lines (a private key block) has the length of its first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFinding {
    pub line: usize,
    pub column: usize,
    pub len: usize,
    pub kind: LintKind,
    /// What was found, showing at most the first 4 characters of it.
    pub message: String,
}

/// Values under a credential name shorter than this are not judged: placeholders (`changeme`,
/// `[redacted]`) are short, and every secret these systems issue is longer.
const MIN_CREDENTIAL_CHARS: usize = 16;

/// Bits per character (Shannon entropy of the value's own character frequencies) from which a
/// credential value counts as a secret. For 16 random characters the median is 3.2 over hex and
/// 3.75 over base62 (both rise with length: at 32, 3.6 and 4.5); repetitive placeholders fall
/// well below (`changeme-changeme` 2.9, `xxxx…` 0). Readable passwords land around 3.2–3.6 and
/// are reported: under a credential name they are credentials too — known test values go in
/// `allowed`.
const MIN_ENTROPY: f64 = 3.0;

/// Names whose credentials have a scheme (`Bearer …`, `Basic …`), found by that shape instead: a
/// bare value under them is something else — Shopify's transaction `authorization` is the
/// payment processor's reference (`re_3Q95…`), and flagging it would bury real findings.
const AUTH_HEADER_NAMES: [&str; 2] = ["authorization", "proxyauthorization"];

/// Key–value syntaxes where a credential name meets its value: JSON, YAML (also `Name: value`
/// header dumps), form/query/env (`key=value`) and XML elements. Group `k` is the name, `v` the
/// value (YAML values may keep their quotes, stripped later).
static CREDENTIAL_POSITIONS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r#""(?P<k>[^"\\\n]+)"\s*:\s*"(?P<v>(?:[^"\\\n]|\\.)+)""#,
        r#"(?m)^[ \t]*(?:-[ \t]+)?(?P<k>[A-Za-z0-9_.-]+)[ \t]*:[ \t]+(?P<v>"[^"\n]*"|'[^'\n]*'|[^\s#"'][^\n]*?)[ \t]*(?:[ \t]#.*)?$"#,
        r#"(?m)(?:^|[?&;\s])(?P<k>[A-Za-z0-9_.\[\]-]+)=(?P<v>[^&;\s"'<>]+)"#,
        r#"<(?:[A-Za-z0-9_]+:)?(?P<k>[A-Za-z0-9_.-]+)(?:\s[^>]*)?>(?P<v>[^<\n]+)</"#,
    ]
    .iter()
    .map(|p| Regex::new(p).expect("built-in patterns are valid"))
    .collect()
});

/// Credentials and personal data in `text`, in order of position. Values listed in `allowed`
/// (known fake test credentials and addresses) are never reported; `tokens` are the systems' own
/// token shapes.
pub fn lint(text: &str, allowed: &[String], tokens: &TokenShapes) -> Vec<LintFinding> {
    let is_allowed = |value: &str| allowed.iter().any(|a| a == value);
    let mut hits: Vec<(Range<usize>, LintKind, String)> = Vec::new();

    for token in patterns::tokens(text, tokens) {
        let value = &text[token.range.clone()];
        if !is_allowed(value) {
            hits.push((token.range, token.shape.kind, format!("{} `{}`", token.shape.label, preview(value))));
        }
    }
    for (name, range) in credential_values(text) {
        let value = &text[range.clone()];
        if let Some(entropy) = secret_entropy(value).filter(|_| !is_allowed(value)) {
            hits.push((
                range,
                LintKind::CredentialValue,
                format!(
                    "high-entropy value ({entropy:.1} bits/char) under credential name `{name}`: `{}`",
                    preview(value)
                ),
            ));
        }
    }
    url_credentials(text, &is_allowed, &mut hits);
    person_references(text, &is_allowed, &mut hits);
    for range in patterns::phones(text) {
        let number = &text[range.clone()];
        if in_free_text(text, &range) && !super::fake::is_text_phone_fake(number) && !is_allowed(number) {
            hits.push((range, LintKind::PersonalData, format!("phone number: `{}`", preview(number))));
        }
    }
    for (cue, range) in patterns::named_people(text) {
        let name = &text[range.clone()];
        if !super::fake::is_fake_name(name) && !is_allowed(name) {
            hits.push((range, LintKind::PersonName, format!("a person's name after `{cue}`: `{}`", preview(name))));
        }
    }
    for email in EMAIL.find_iter(text) {
        if !patterns::is_test_email(email.as_str()) && !is_allowed(email.as_str()) {
            hits.push((
                email.range(),
                LintKind::Email,
                format!("email address outside the test domains: `{}`", preview(email.as_str())),
            ));
        }
    }

    // One finding per place: a shape wins over the same text as a credential value.
    hits.sort_by_key(|(range, ..)| (range.start, Reverse(range.end)));
    let mut end = 0;
    hits.retain(|(range, ..)| {
        let free = range.start >= end;
        if free {
            end = range.end;
        }
        free
    });

    let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    hits.into_iter()
        .map(|(range, kind, message)| {
            let line = line_starts.partition_point(|&start| start <= range.start);
            let line_start = line_starts[line - 1];
            LintFinding {
                line,
                column: text[line_start..range.start].chars().count() + 1,
                len: text[range].lines().next().unwrap_or_default().chars().count(),
                kind,
                message,
            }
        })
        .collect()
}

type Hits = Vec<(Range<usize>, LintKind, String)>;

/// Credentials in URL queries (`?key=…`), judged as values under a credential name are: a
/// placeholder (`key=harness`) passes.
fn url_credentials(text: &str, is_allowed: &dyn Fn(&str) -> bool, hits: &mut Hits) {
    for (name, range) in patterns::url_credentials(text) {
        let value = &text[range.clone()];
        if secret_entropy(value).is_some() && !is_allowed(value) {
            hits.push((
                range,
                LintKind::CredentialValue,
                format!("credential in a URL query (`{name}=`): `{}`", preview(value)),
            ));
        }
    }
}

/// The `refName` of a reference to a person or customer (NetSuite's `"entity": {"id": …,
/// "refName": …}`), in JSON text.
static PERSON_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(?P<k>[A-Za-z0-9_]+)"\s*:\s*\{[^{}]*?"refName"\s*:\s*"(?P<v>[^"\\]+)""#)
        .expect("built-in pattern is valid")
});

/// A person's name where the redactor fakes one: a `refName` under a person reference that is
/// neither an id nor a name the redactor makes.
fn person_references(text: &str, is_allowed: &dyn Fn(&str) -> bool, hits: &mut Hits) {
    for c in PERSON_REFERENCE.captures_iter(text) {
        let (Some(k), Some(v)) = (c.name("k"), c.name("v")) else { continue };
        let field = fields::normalize(k.as_str());
        let person = fields::classify("refname", Some(&field)) == fields::Field::Personal(fields::Personal::FullName);
        let value = v.as_str();
        if person
            && !value.chars().all(|ch| ch.is_ascii_digit())
            && !super::fake::is_fake_name(value)
            && !is_allowed(value)
        {
            hits.push((
                v.range(),
                LintKind::PersonName,
                format!("a person's name as the refName of `{}`: `{}`", k.as_str(), preview(value)),
            ));
        }
    }
}

/// Characters that end a value in the formats the lint reads: JSON strings (also escaped inside
/// a string), XML text, CSV cells, `key: value` and `key=value` lines.
const VALUE_ENDS: &[char] = &['"', '\\', '<', '>', ',', ';', '\n', '\r', '\t', ':', '=', '|'];

/// Whether `range` sits in free text: the value around it has letters of its own. A phone
/// number that is a whole value is in a phone field, which the redactor fakes in the number's
/// own format (the lint cannot tell that fake from a real number); one inside a note is not.
fn in_free_text(text: &str, range: &Range<usize>) -> bool {
    let start = text[..range.start].rfind(VALUE_ENDS).map_or(0, |i| i + 1);
    let end = text[range.end..].find(VALUE_ENDS).map_or(text.len(), |i| range.end + i);
    text[start..range.start].chars().chain(text[range.end..end].chars()).any(char::is_alphabetic)
}

/// `(name, value range)` for every value under a credential name.
fn credential_values(text: &str) -> Vec<(&str, Range<usize>)> {
    CREDENTIAL_POSITIONS
        .iter()
        .flat_map(|re| re.captures_iter(text))
        .filter_map(|c| {
            let (name, value) = (c.name("k")?, c.name("v")?);
            let quoted = value.as_str().len() >= 2
                && (value.as_str().starts_with('"') || value.as_str().starts_with('\''))
                && value.as_str().ends_with(&value.as_str()[..1]);
            let range = if quoted { value.start() + 1..value.end() - 1 } else { value.range() };
            let normalized = fields::normalize(name.as_str());
            (fields::is_credential(&normalized) && !AUTH_HEADER_NAMES.contains(&normalized.as_str()))
                .then(|| (name.as_str(), range))
        })
        .collect()
}

/// The value's entropy when it looks like a secret: long enough, one word, no template or
/// placeholder syntax (`${SHOPIFY_TOKEN}`, `<your token>`, `[redacted]`), and random enough.
fn secret_entropy(value: &str) -> Option<f64> {
    let mut chars: Vec<char> = value.chars().collect();
    if chars.len() < MIN_CREDENTIAL_CHARS || chars.iter().any(|&c| c.is_whitespace() || "${}<>[]()".contains(c)) {
        return None;
    }
    chars.sort_unstable();
    let n = chars.len() as f64;
    let entropy: f64 = chars.chunk_by(|a, b| a == b).map(|run| run.len() as f64 / n).map(|p| -p * p.log2()).sum();
    (entropy >= MIN_ENTROPY).then_some(entropy)
}

/// The first 4 characters, never the whole secret.
fn preview(value: &str) -> String {
    value.chars().take(4).chain(['…']).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::lint;

    fn shopify_token() -> String {
        format!("shpat_{}", "a1b2c3d4e5f60718".repeat(2))
    }

    #[test]
    fn finds_a_planted_token_where_it_is() {
        let token = shopify_token();
        let text = format!("system: shopify\ncredentials:\n  note: \"é\" {token}\n");
        let findings = lint(&text, &[]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let f = &findings[0];
        assert_eq!((f.line, f.column, f.len, f.kind), (3, 13, token.len(), LintKind::Token));
        assert_eq!(f.message, "Shopify token `shpa…`");
        assert!(!f.message.contains(&token[5..]));
    }

    #[test]
    fn allowed_values_and_test_domains_pass() {
        let token = shopify_token();
        let text = format!(
            "access_token: {token}\nemail: jane@example.co.uk\nother: ops@example.com, x@shop.test\nclient_secret: harness-test-client-secret\n"
        );
        assert_eq!(lint(&text, &[token.clone(), "harness-test-client-secret".into()]), []);
        let kinds: Vec<LintKind> = lint(&text, &[]).iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [LintKind::Token, LintKind::CredentialValue]);
    }

    #[test]
    fn credential_values_in_every_syntax() {
        let secret = "Zq8vR2mK9xL4pT7wB3nY";
        for text in [
            format!(r#"{{"client_secret": "{secret}"}}"#),
            format!("password: '{secret}' # real\n"),
            format!("grant_type=x&client_assertion={secret}&y=1"),
            format!("SHOPIFY_API_SECRET={secret}\n"),
            format!("<password>{secret}</password>"),
            format!("X-Shopify-Access-Token: {secret}\n"),
        ] {
            let findings = lint(&text, &[]);
            assert_eq!(findings.len(), 1, "{text}: {findings:?}");
            assert_eq!(findings[0].kind, LintKind::CredentialValue);
            assert_eq!(findings[0].column, text.find(secret).unwrap() + 1, "{text}");
            assert_eq!(findings[0].len, secret.len());
            assert!(!findings[0].message.contains(&secret[4..]));
        }
        for text in [
            r#""authorization": "re_3Q9500450003072""#,
            "token_type: Zq8vR2mK9xL4pT7wB3nY",
            "password: ${PEOPLEVOX_PASSWORD_VALUE}",
            "password: changeme-changeme",
            "client_secret: \"[redacted]\"",
            "checkout_token: Zq8vR2mK9xL4pT7wB3nY",
        ] {
            assert_eq!(lint(text, &[]), [], "{text}");
        }
    }

    #[test]
    fn other_shapes_and_emails() {
        // The PEM label is put together so secret scanners do not take the fixture for a key.
        let text = format!(
            "Authorization: Bearer abcdefghij0123456789\nkey: -----BEGIN {kind}-----\nMIIE\n-----END {kind}-----\nto: Jane.Doe@gmail.com\n",
            kind = "RSA PRIVATE KEY"
        );
        let found: Vec<(usize, usize, usize, LintKind)> =
            lint(&text, &[]).iter().map(|f| (f.line, f.column, f.len, f.kind)).collect();
        assert_eq!(
            found,
            [(1, 23, 20, LintKind::AuthHeader), (2, 6, 31, LintKind::PrivateKey), (5, 5, 18, LintKind::Email)]
        );
    }

    #[test]
    fn url_keys_and_people_in_references() {
        let text = "{\"order_status_url\": \"https://shop.example/1/orders/ab/authenticate?key=9f8e7d6c5b4a39281706f5e4d3c2\",\n \"entity\": {\"id\": \"7\", \"refName\": \"Tom Example\"},\n \"item\": {\"id\": \"5\", \"refName\": \"Blue Mug\"}, \"customer\": {\"refName\": \"Sam Vance\"}}";
        let found: Vec<(usize, LintKind)> = lint(text, &[]).into_iter().map(|f| (f.line, f.kind)).collect();
        assert_eq!(
            found,
            [(1, LintKind::CredentialValue), (2, LintKind::PersonName)],
            "a fake name and an item's name pass"
        );
        assert!(
            lint("https://shop.example/1/orders/ab/authenticate?key=harness", &[]).is_empty(),
            "a placeholder key passes"
        );
    }
}
