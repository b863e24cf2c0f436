//! What credentials and personal data look like inside free text, shared by the redactor (which
//! replaces them) and the lint (which reports them), so both always agree.

use std::net::IpAddr;
use std::ops::Range;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regex::{Regex, RegexSet};

use super::LintKind;
use super::personal;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in patterns are valid")
}

/// An email address. The top-level domain must be letters, so `package@1.2.3` is not one. No `'`
/// in the local part: SuiteQL quotes literals with it (`WHERE email = 'jane@shop.com'`).
pub(super) static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[\p{L}\p{N}._%+-]+@(?:[\p{L}\p{N}-]+\.)+\p{L}{2,}"));

/// Domains reserved for tests and documentation (RFC 2606 and RFC 6761): `example.<tld>`,
/// `example.co.<cc>` (the fixtures use `example.co.uk`), their subdomains, and the `.test`,
/// `.example`, `.invalid` and `.localhost` top-level domains.
pub(super) fn is_test_domain(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    matches!(
        labels.as_slice(),
        [.., "test" | "example" | "invalid" | "localhost"] | [.., "example", _] | [.., "example", "co", _]
    )
}

pub(super) fn is_test_email(email: &str) -> bool {
    email.rsplit_once('@').is_some_and(|(_, domain)| is_test_domain(domain))
}

/// A recognisable credential format. The secret is capture group 1 (for `Bearer …` the token,
/// not the scheme).
pub(super) struct Shape {
    pub(super) label: &'static str,
    pub(super) kind: LintKind,
    regex: Regex,
    /// A second look where the pattern alone would match ordinary prose.
    confirm: fn(&str) -> bool,
}

/// A credential format one system issues, declared by that system (the harness's own shapes are
/// the vendor-neutral ones below). The secret is capture group 1 of `pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenShape {
    /// What a finding calls it (`Acme token`).
    pub label: &'static str,
    pub pattern: &'static str,
}

/// The systems' token shapes, compiled: looked for before the built-in ones, being the most
/// specific.
pub struct TokenShapes {
    own: Vec<Shape>,
    /// Every shape, own then built-in, with its word boundaries (`\b`) left out: one pass tells
    /// which shapes can match at all, and only those are searched for with their captures. A
    /// Unicode word boundary keeps the regex engine off its fast automaton wherever the text is
    /// not ASCII (a name with an accent, a Norwegian street): each such shape then costs a
    /// hundred times more per file, and the lint reads every file of a run. Leaving an assertion
    /// out only adds matches, so a shape the set rules out has none.
    candidates: RegexSet,
}

impl TokenShapes {
    pub fn new(shapes: &[TokenShape]) -> TokenShapes {
        let own: Vec<Shape> = shapes
            .iter()
            .map(|s| Shape { label: s.label, kind: LintKind::Token, regex: regex(s.pattern), confirm: |_| true })
            .collect();
        let candidates =
            RegexSet::new(own.iter().chain(SHAPES.iter()).map(|s| without_word_boundaries(s.regex.as_str())))
                .expect("built-in and system token patterns are valid");
        TokenShapes { own, candidates }
    }
}

impl Default for TokenShapes {
    fn default() -> Self {
        TokenShapes::new(&[])
    }
}

/// `pattern` without its `\b` assertions (an escaped backslash followed by `b` stays).
fn without_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => {}
            Some(next) => {
                out.push(c);
                out.push(next);
            }
            None => out.push(c),
        }
    }
    out
}

/// Listed most specific first: where two shapes find the same text, the first one names it
/// (`Bearer eyJ…` is reported as a JSON Web Token).
static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let shape =
        |label, kind, pattern: &str, confirm: fn(&str) -> bool| Shape { label, kind, regex: regex(pattern), confirm };
    let any = |_: &str| true;
    vec![
        shape("GitHub token", LintKind::Token, r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36})\b", any),
        shape("GitHub token", LintKind::Token, r"\b(github_pat_[A-Za-z0-9_]{22,})", any),
        // The key id with its secret, as `id:secret` credentials are written: both go.
        shape("AWS access key pair", LintKind::Token, r"\b((?:AKIA|ASIA)[0-9A-Z]{16}:[A-Za-z0-9/+=]{40})", any),
        shape("AWS access key id", LintKind::Token, r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b", any),
        shape("Slack token", LintKind::Token, r"\b(xox[abpr]-[A-Za-z0-9-]{10,})", any),
        shape(
            "JSON Web Token",
            LintKind::Token,
            r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
            any,
        ),
        // Grouped as printed, or one run of digits; a card network's prefix and the Luhn check
        // tell a card number from an order id.
        shape(
            "card number",
            LintKind::PersonalData,
            r"(?:^|[^\w/.-])((?:\d{4}[ -]){3}\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5}|\d{13,19})(?:$|[^\w.-])",
            personal::card_number,
        ),
        shape(
            "IBAN",
            LintKind::PersonalData,
            r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b",
            personal::iban,
        ),
        // National ids, where they have a shape of their own: a US Social Security number after
        // its label (alone, 3-2-4 digits is also a part number), a UK National Insurance number
        // after its label or spaced as printed on the card.
        shape(
            "Social Security number",
            LintKind::PersonalData,
            r"(?i:\b(?:ssn|social security(?: number| no\.?)?))[\s:#=\\\x22']{0,6}(\d{3}-?\d{2}-?\d{4})\b",
            personal::ssn,
        ),
        shape(
            "National Insurance number",
            LintKind::PersonalData,
            r"(?i:\b(?:nino|ni number|ni no\.?|national insurance(?: number| no\.?)?))[\s:#=\\\x22']{0,6}([A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d])\b",
            personal::nino,
        ),
        shape(
            "National Insurance number",
            LintKind::PersonalData,
            r"\b([A-Z]{2} \d{2} \d{2} \d{2} [A-D])\b",
            personal::nino,
        ),
        // Other national and tax ids have no shape of their own: after their label (passport,
        // tax id/TIN, Aadhaar, India's PAN, Canada's SIN, the Dutch BSN, national id), a value
        // of at least eight letters and digits, four of them digits. One pattern for all: each
        // file of a run is scanned once per shape.
        shape(
            "national id",
            LintKind::PersonalData,
            r"(?i:\b(?:passport(?: number| no\.?)?|tax id(?:entification number)?|tin|aadhaa?r(?: number| no\.?)?|pan(?: number| no\.?| card)?|sin|social insurance number|bsn|burgerservicenummer|national id(?:entity)?(?: number| no\.?)?)\b)[\s:#=\\\x22']{0,6}([A-Za-z0-9](?:[A-Za-z0-9]|[ -]\d){5,19})\b",
            personal::national_id,
        ),
        // The whole block when its end is there (so the redactor removes the key, not just its
        // header); the lint reports the header line.
        shape(
            "private key",
            LintKind::PrivateKey,
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)?)",
            any,
        ),
        // Tokens have digits; "Bearer authentication-tokens" is prose.
        shape("Bearer token", LintKind::AuthHeader, r"(?i:\bbearer)\s+([A-Za-z0-9\-._~+/]{16,}=*)", |t| {
            t.bytes().any(|b| b.is_ascii_digit())
        }),
        // "Basic authentication" is prose; credentials decode to `user:password`.
        shape("Basic credentials", LintKind::AuthHeader, r"(?i:\bbasic)\s+([A-Za-z0-9+/]{8,}={0,2})", |t| {
            STANDARD.decode(t).ok().and_then(|b| String::from_utf8(b).ok()).is_some_and(|s| s.contains(':'))
        }),
    ]
});

pub(super) struct Token<'a> {
    pub(super) range: Range<usize>,
    pub(super) shape: &'a Shape,
}

/// Every credential shape in `text` (the systems' `own`, then the built-in ones), in order, none
/// overlapping.
pub(super) fn tokens<'a>(text: &str, own: &'a TokenShapes) -> Vec<Token<'a>> {
    let candidates = own.candidates.matches(text);
    let mut found: Vec<Token> = own
        .own
        .iter()
        .chain(SHAPES.iter())
        .enumerate()
        .filter(|(i, _)| candidates.matched(*i))
        .flat_map(|(_, shape)| {
            shape.regex.captures_iter(text).filter_map(move |c| {
                let secret = c.get(1)?;
                (shape.confirm)(secret.as_str()).then(|| Token { range: secret.range(), shape })
            })
        })
        .collect();
    found.sort_by_key(|t| t.range.start);
    let mut end = 0;
    found.retain(|t| {
        let free = t.range.start >= end;
        if free {
            end = t.range.end;
        }
        free
    });
    found
}

/// A phone number as people write one in free text: international (`+44 7911 123456`,
/// `+1-415-867-5309`), national with a trunk `0` or an area code in parentheses
/// (`020 7946 0958`, `(020) 7946-0958`), or North American (`415-867-5309`). Separators are
/// required but in the international form, so a run of digits (an order or record id), a date or
/// an amount is not one; [`phones`] also counts the digits.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:^|[^\w+/.-])(\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(0?\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|0\d{2,4}[ .-]\d{3,4}(?:[ .-]?\d{3,4})?|\d{3}[.-]\d{3}[.-]\d{4})(?:$|[^\w.-])",
    )
});

/// Phone numbers in free text.
pub(super) fn phones(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut at = 0;
    // The pattern consumes one character on each side: search again from the number's end.
    while let Some(c) = PHONE.captures_at(text, at) {
        let Some(number) = c.get(1) else { break };
        let digits = number.as_str().bytes().filter(u8::is_ascii_digit).count();
        let international = number.as_str().starts_with('+');
        if if international { (8..=15).contains(&digits) } else { (9..=12).contains(&digits) } {
            found.push(number.range());
        }
        at = number.end();
    }
    found
}

/// A person named in free text after a title (`Mr Harhar`, `Dr. Jane Doe`) or after a word that
/// is followed by a name (`Call Tom Harhar`, `ask for Jane`, `Attn: Sam Doe`, `c/o`); group `n`
/// is the name. Only capitalised words, at most three.
static NAMED_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:^|[^\w])(?P<w>(?i:mr|mrs|ms|miss|mx|dr)\.?|(?i:call|ask for|speak to|speak with|attn|attention|c/o|dear|contact):?)[ \t]+(?P<n>\p{Lu}[\p{Ll}'’-]+(?:[ \t]\p{Lu}[\p{Ll}'’-]+){0,2})",
    )
});

/// Capitalised words that follow `call`, `contact` and the like in business text and are no one:
/// `Call Customer Services`, `contact Support`, `Dear Customer`.
const NOT_NAMES: &[&str] = &[
    "customer",
    "customers",
    "support",
    "service",
    "services",
    "sales",
    "us",
    "team",
    "office",
    "warehouse",
    "store",
    "shop",
    "center",
    "centre",
    "desk",
    "back",
    "before",
    "after",
    "when",
    "on",
    "if",
    "the",
    "our",
    "your",
    "reception",
    "accounts",
    "courier",
    "driver",
    "carrier",
    "delivery",
    "returns",
    "manager",
    "sir",
    "madam",
    "all",
    "friend",
    "valued",
];

/// `(title or cue, name range)` of people named in free text. Titles name a person whatever
/// follows; the other cues need two words (first and last name), none a business word or a title
/// (in `Dear Mrs Doe` the title names her).
pub(super) fn named_people(text: &str) -> Vec<(String, Range<usize>)> {
    let is_title = |w: &str| {
        matches!(w.trim_end_matches(['.', ':']).to_lowercase().as_str(), "mr" | "mrs" | "ms" | "miss" | "mx" | "dr")
    };
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(c) = NAMED_PERSON.captures_at(text, at) {
        let (Some(cue), Some(name)) = (c.name("w"), c.name("n")) else { break };
        let words: Vec<&str> = name.as_str().split_whitespace().collect();
        let other = |w: &&str| NOT_NAMES.contains(&w.to_lowercase().as_str()) || is_title(w);
        let person = !words.iter().any(other) && (is_title(cue.as_str()) || words.len() >= 2);
        if person {
            found.push((cue.as_str().to_string(), name.range()));
            at = name.end();
        } else {
            // What follows the cue may hold a title of its own.
            at = cue.end();
        }
    }
    found
}

/// A query parameter inside a URL in free text (`…/authenticate?key=…&token=…`).
static URL_QUERY_PARAM: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"[?&](?P<k>[A-Za-z0-9_.-]+)=(?P<v>[^&#\s"'<>\\]+)"#));

/// Query parameters that unlock something on their own: Shopify's order status page `key`, a
/// signed URL's `signature`/`sig`, any `token`; and every parameter named as a credential.
const URL_CREDENTIAL_PARAMS: &[&str] = &["key", "sig", "token", "signature", "accesstoken", "apikey"];

/// `(parameter, value range)` of every credential in a URL's query inside `text`.
pub(super) fn url_credentials(text: &str) -> Vec<(String, Range<usize>)> {
    URL_QUERY_PARAM
        .captures_iter(text)
        .filter_map(|c| {
            let (name, value) = (c.name("k")?.as_str(), c.name("v")?);
            let normal = super::fields::normalize(name);
            let credential = URL_CREDENTIAL_PARAMS.contains(&normal.as_str()) || super::fields::is_credential(&normal);
            (credential && value.as_str() != crate::REDACTED).then(|| (name.to_string(), value.range()))
        })
        .collect()
}

/// A run of characters an IP address is made of, holding at least one separator.
static ADDRESS_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*"));

/// IPv4 and IPv6 addresses in `text`, alone or inside prose, URLs (`//host:port/`), lists
/// (`X-Forwarded-For`) or brackets. A run glued to a word (a `v` before four numbers) is not an address. Version
/// numbers of four parts that happen to be valid addresses are found too (`Chrome/<major>.0.0.0`);
/// the faker leaves network addresses like that one alone.
pub(super) fn addresses(text: &str) -> Vec<(Range<usize>, IpAddr)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    ADDRESS_RUN
        .find_iter(text)
        .filter(|m| m.as_str().bytes().any(|b| b.is_ascii_digit()))
        .filter(|m| {
            !text[..m.start()].chars().next_back().is_some_and(is_word)
                && !text[m.end()..].chars().next().is_some_and(is_word)
        })
        .filter_map(|m| {
            let run = m.as_str();
            let trimmed = run.trim_end_matches(['.', ':']);
            // `a.b.c.d:port`
            let without_port = trimmed.split_once(':').filter(|(host, _)| host.contains('.')).map(|(host, _)| host);
            [run, trimmed].into_iter().chain(without_port).find_map(|candidate| {
                let ip = candidate.parse().ok()?;
                Some((m.start()..m.start() + candidate.len(), ip))
            })
        })
        .collect()
}

/// `text` with each range replaced. Ranges are applied in order of their start; one overlapping
/// an earlier one is dropped.
pub(super) fn splice(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        if range.start < at {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn test_domains() {
        for domain in [
            "example.com",
            "example.net",
            "example.org",
            "example.fr",
            "example.co.uk",
            "shop.example.com",
            "x.test",
            "x.example",
            "x.invalid",
            "x.localhost",
            "EXAMPLE.COM",
        ] {
            assert!(is_test_domain(domain), "{domain}");
        }
        for domain in ["gmail.com", "myexample.com", "example.com.evil.org", "shop.co.uk", "co.uk"] {
            assert!(!is_test_domain(domain), "{domain}");
        }
    }

    #[test]
    fn emails_in_text() {
        let found: Vec<&str> = EMAIL
            .find_iter("SELECT id FROM customer WHERE email = 'jane+vip@shop.co.uk'; cc zoë@exämple.de. v@1.2.3")
            .map(|m| m.as_str())
            .collect();
        assert_eq!(found, ["jane+vip@shop.co.uk", "zoë@exämple.de"]);
    }

    #[test]
    fn token_shapes() {
        let shopify = format!("shpat_{}", "0123456789abcdef".repeat(2));
        let own = TokenShapes::new(&[crate::tests::SHOPIFY_TOKEN]);
        let text = format!(
            "a {shopify} b Bearer abcdefghijklmnop1234 c Basic dXNlcjpwYXNzd29yZA== d Basic authentication e Bearer authentication-tokens"
        );
        let found: Vec<(&str, &str)> =
            tokens(&text, &own).iter().map(|t| (t.shape.label, &text[t.range.clone()])).collect();
        assert_eq!(
            found,
            [
                ("Shopify token", shopify.as_str()),
                ("Bearer token", "abcdefghijklmnop1234"),
                ("Basic credentials", "dXNlcjpwYXNzd29yZA==")
            ]
        );
        let jwt = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(tokens(jwt, &own).iter().map(|t| t.shape.label).collect::<Vec<_>>(), ["JSON Web Token"]);
    }

    #[test]
    fn word_boundaries_are_left_out_of_the_candidates_only() {
        assert_eq!(without_word_boundaries(r"(?i:\bbearer)\s+\\b\\\bx\b"), r"(?i:bearer)\s+\\b\\x");
        // A shape next to a non-ASCII letter, where a Unicode word boundary decides: the
        // candidates let it through, the shape's own pattern still judges.
        let own = TokenShapes::new(&[crate::tests::SHOPIFY_TOKEN]);
        let text = "Æ Bearer abcdefghijklmnop1234 ÅGB82WEST12345698765432 GB82WEST12345698765432 ø";
        let found: Vec<&str> = tokens(text, &own).iter().map(|t| &text[t.range.clone()]).collect();
        assert_eq!(found, ["abcdefghijklmnop1234", "GB82WEST12345698765432"]);
    }

    #[test]
    fn addresses_in_text() {
        let v4 = Ipv4Addr::new(81, 2, 69, 160);
        let v6 = Ipv6Addr::new(0x2a00, 0x1450, 0x4009, 0x81f, 0, 0, 0, 0x200e);
        let text =
            format!("from {v4}, via [{v6}]:443 and http://{v4}:8080/x at {v4}. not v{v4} nor 12:30:00 nor 1.2.3");
        let found: Vec<String> = addresses(&text).into_iter().map(|(r, ip)| format!("{}={ip}", &text[r])).collect();
        assert_eq!(found, [format!("{v4}={v4}"), format!("{v6}={v6}"), format!("{v4}={v4}"), format!("{v4}={v4}")]);
    }

    #[test]
    fn splice_drops_overlaps() {
        assert_eq!(splice("abcdef", vec![(3..4, "D".into()), (0..2, "AB".into()), (1..3, "x".into())]), "ABcDef");
    }

    #[test]
    fn credentials_in_url_queries() {
        let text = "see https://shop.example/1/orders/ab12/authenticate?key=9f8e7d6c5b4a&utm=mail and /x?a=1&signature=s1g&page=2";
        let found: Vec<(String, &str)> = url_credentials(text).into_iter().map(|(k, r)| (k, &text[r])).collect();
        assert_eq!(found, [("key".to_string(), "9f8e7d6c5b4a"), ("signature".to_string(), "s1g")]);
        assert!(url_credentials("https://x.example/?key=[redacted]").is_empty());
    }
}
