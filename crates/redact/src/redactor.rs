//! Recording-time redaction: credentials out, personal data replaced by consistent fakes.
//!
//! Every format is walked down to its scalar values, each with its path (keys, element names, CSV
//! headers, parameter names). One rule decides what a value at a path becomes — see
//! [`Redactor::scalar`] — so JSON, XML, CSV, forms, query strings and headers are all treated
//! alike. Every credential removed is remembered, and at the end of each call all remembered
//! values are also masked wherever else they appear (in any encoding), so a token echoed in a URL
//! or a note goes too.

mod table;
mod xml;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use regex::Regex;
use serde_json::Value;

use super::REDACTED;
use super::fake::Faker;
use super::fields::{self, Field, Personal};
use super::mask::{MIN_SECRET_CHARS, SecretMask};
use super::patterns::{self, EMAIL, TokenShape, TokenShapes};

/// What to redact beyond the built-in rules, and what to leave alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionConfig {
    /// Values replaced by `[redacted]`: dotted paths such as `customer.note` or
    /// `line_items[].properties[].value`; `*` is any key, `[]` (or `[*]`) any index, `[2]` one
    /// index. A path matches wherever it ends the location of a value (`customer.note` also
    /// matches `order.customer.note`), and a path naming an object or array redacts everything
    /// inside. XML locations are element names (`Envelope.Body.…`); CSV rows add an index
    /// (`CsvData[].Email`); form, query and header locations are the parameter or header name.
    pub extra_paths: Vec<String>,
    /// Field names whose values (and everything inside them) the personal-data rules and the
    /// pattern scan never touch, e.g. `company` to keep company names. Credentials are removed
    /// even here: a recording must never hold one.
    pub keep_fields: Vec<String>,
    /// The systems' own credential formats, found in free text besides the built-in shapes.
    pub token_shapes: Vec<TokenShape>,
}

/// How many values of each kind were replaced. Never the values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redactions {
    pub credentials: usize,
    pub emails: usize,
    pub phones: usize,
    pub names: usize,
    pub streets: usize,
    pub ips: usize,
    /// Values under [`RedactionConfig::extra_paths`].
    pub custom: usize,
}

impl fmt::Display for Redactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { credentials, emails, phones, names, streets, ips, custom } = self;
        write!(
            f,
            "credentials {credentials}, emails {emails}, phones {phones}, names {names}, streets {streets}, ips {ips}, custom {custom}"
        )
    }
}

/// Redacts the traffic of one recording session. Keep one per session so that credentials seen
/// in one exchange (a session id in a response) are removed from the next, and use one key per
/// repository (kept out of it) so every re-recording maps the same people to the same fakes.
pub struct Redactor {
    faker: Faker,
    keep: Vec<String>,
    extra: Vec<Vec<PathPattern>>,
    summary: Redactions,
    /// `(label, value)` of every credential seen: label is the header, field or shape it came
    /// from, for [`leaked`](Self::leaked).
    known: Vec<(String, String)>,
    /// Masks `known`; rebuilt by `finish` when `known` grew.
    mask: SecretMask,
    mask_stale: bool,
    /// The systems' own token shapes ([`RedactionConfig::token_shapes`]).
    tokens: TokenShapes,
}

/// One step of a value's location.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPattern {
    /// Normalised like field names.
    Key(String),
    AnyKey,
    Index(Option<usize>),
}

enum Action {
    Credential,
    Keep,
    Custom,
    Personal(Personal),
    Scan,
}

/// OAuth 1.0 parameters that identify no one and grant nothing; every other value in an
/// `Authorization: OAuth` header (realm, consumer key, token, nonce, signature) is redacted.
const OAUTH_PUBLIC_PARAMS: &[&str] = &["oauth_signature_method", "oauth_timestamp", "oauth_version"];

static OAUTH_PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"([A-Za-z0-9_]+)\s*=\s*"([^"]*)""#).expect("valid pattern"));

/// Characters a query or form value must escape to keep its structure; used when the original
/// value was written unescaped (`email=jane@shop.com`).
const QUERY_MINIMAL: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'&').add(b'+').add(b'<').add(b'=').add(b'>').add(b'`');
/// Everything but unreserved characters; used when the original value was percent-encoded.
const QUERY_STRICT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl Redactor {
    /// `key` drives every fake (HMAC-SHA256): the same key gives the same fakes, so keep one per
    /// repository, outside it; a new key gives new fakes for everyone.
    pub fn new(key: [u8; 32], config: RedactionConfig) -> Self {
        Self {
            faker: Faker::new(key),
            keep: config.keep_fields.iter().map(|f| fields::normalize(f)).collect(),
            extra: config.extra_paths.iter().map(|p| parse_path(p)).filter(|p| !p.is_empty()).collect(),
            summary: Redactions::default(),
            known: Vec::new(),
            mask: SecretMask::new([]),
            mask_stale: false,
            tokens: TokenShapes::new(&config.token_shapes),
        }
    }

    /// Credentials out of request or response headers. `Authorization` keeps its scheme
    /// (`Bearer [redacted]`, `Basic [redacted]`, OAuth 1.0 with every parameter name), cookies
    /// keep their names (`session=[redacted]; Path=/`), other credential headers
    /// (`X-Shopify-Access-Token`, `X-Shopify-Hmac-Sha256`, `X-API-Key`, …) become `[redacted]`,
    /// and the rest are scanned like any value (`X-Forwarded-For` addresses).
    pub fn headers(&mut self, headers: &mut [(String, String)]) {
        for (name, value) in headers.iter_mut() {
            let label = name.to_ascii_lowercase();
            let redacted = match fields::normalize(name).as_str() {
                "authorization" | "proxyauthorization" => self.authorization(&label, value),
                "cookie" => self.cookies(&label, value, false),
                "setcookie" => self.cookies(&label, value, true),
                _ => self.scalar(&[Seg::Key(name)], value),
            };
            if let Some(redacted) = redacted {
                *value = redacted;
            }
        }
        self.finish();
        for (_, value) in headers.iter_mut() {
            if let Cow::Owned(masked) = self.mask_known(value) {
                *value = masked;
            }
        }
    }

    /// A raw query string (without `?`) redacted by parameter name and value, in the same order
    /// and encoding style; untouched parameters stay byte for byte.
    pub fn query(&mut self, query: &str) -> String {
        let redacted = self.pairs(query);
        self.finish();
        self.mask_known(&redacted).into_owned()
    }

    /// A body redacted according to its content type: JSON (`…json`, `…+json`), XML/SOAP
    /// (`…xml`), `application/x-www-form-urlencoded`, `text/csv`; other types are sniffed (`{`,
    /// `[`, `<`) and otherwise treated as text. A body that does not parse as its type is treated
    /// as text: emails, addresses and token shapes are still replaced, known credentials still
    /// removed. Bytes that are not UTF-8 are read lossily; a body with nothing to redact is
    /// returned unchanged.
    pub fn body(&mut self, content_type: &str, body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(body);
        let redacted = match Format::of(content_type, &text) {
            Format::Json => self.json_text(&text),
            Format::Xml => self.xml(&text),
            Format::Form => Some(self.pairs(&text)).filter(|r| *r != *text),
            Format::Csv => self.table(&text, &[]),
            Format::Text => self.scan(&text),
        };
        self.finish();
        let redacted = redacted.map_or(Cow::Borrowed(&*text), Cow::Owned);
        match self.mask_known(&redacted) {
            Cow::Borrowed(_) if matches!(redacted, Cow::Borrowed(_)) => body.to_vec(),
            masked => masked.into_owned().into_bytes(),
        }
    }

    /// A parsed JSON document redacted in place.
    pub fn json(&mut self, value: &mut Value) {
        self.walk_json(value, &mut Vec::new());
        self.finish();
        self.mask_json(value);
    }

    /// What this redactor has replaced so far.
    pub fn summary(&self) -> Redactions {
        self.summary
    }

    /// The labels (header, field or token kind, e.g. `authorization`, `SessionId`) of the
    /// credentials this redactor has seen that still occur in `text`, raw or encoded. Empty when
    /// `text` is safe to write.
    pub fn leaked(&self, text: &str) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for owner in self.mask.owners_in(text) {
            let label = &self.known[owner].0;
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        labels
    }

    /// What the value at `path` becomes, or `None` when it stays. The order matters: credentials
    /// go whatever the configuration says, `keep_fields` then shield a field from everything
    /// else, `extra_paths` come before the built-in personal fields.
    fn scalar(&mut self, path: &[Seg], value: &str) -> Option<String> {
        match self.action(path) {
            Action::Credential => {
                let label = path.iter().rev().find_map(Seg::key).unwrap_or("credential");
                self.credential(label, value)
            }
            Action::Keep => None,
            Action::Custom => (!value.is_empty() && value != REDACTED).then(|| {
                self.summary.custom += 1;
                REDACTED.to_string()
            }),
            Action::Personal(kind) => {
                let fake = self.faker.personal(kind, value)?;
                match kind {
                    Personal::Phone => self.summary.phones += 1,
                    Personal::Street => self.summary.streets += 1,
                    Personal::FirstName | Personal::LastName | Personal::FullName => self.summary.names += 1,
                }
                Some(fake)
            }
            // A JSON document held in a string (a note attribute, a custom field) is redacted as
            // the document it is, field by field.
            Action::Scan if value.trim_start().starts_with(['{', '[']) => self.json_text(value),
            Action::Scan => self.scan(value),
        }
    }

    fn action(&self, path: &[Seg]) -> Action {
        let mut keys = path.iter().rev().filter_map(Seg::key).map(fields::normalize);
        let field = keys.next().unwrap_or_default();
        let parent = keys.find(|k| !fields::CONNECTION_WRAPPERS.contains(&k.as_str()));
        let class = fields::classify(&field, parent.as_deref());
        if class == Field::Credential {
            Action::Credential
        } else if !self.keep.is_empty()
            && path.iter().filter_map(Seg::key).any(|k| self.keep.contains(&fields::normalize(k)))
        {
            Action::Keep
        } else if self.extra.iter().any(|pattern| matches_within(pattern, path)) {
            Action::Custom
        } else if let Field::Personal(kind) = class {
            Action::Personal(kind)
        } else {
            Action::Scan
        }
    }

    fn credential(&mut self, label: &str, value: &str) -> Option<String> {
        if value.trim().is_empty() || value == REDACTED {
            return None;
        }
        if !fields::is_single_use(&fields::normalize(label)) {
            self.remember(label, value);
        }
        self.summary.credentials += 1;
        Some(REDACTED.to_string())
    }

    fn remember(&mut self, label: &str, value: &str) {
        let value = value.trim();
        if value.chars().count() >= MIN_SECRET_CHARS
            && !value.contains(REDACTED)
            && !self.known.iter().any(|(_, v)| v == value)
        {
            self.known.push((label.to_string(), value.to_string()));
            self.mask_stale = true;
        }
    }

    /// Token shapes, emails outside the test domains, phone numbers, people named after a title or
    /// a cue (`Mr …`, `call …`) and public IP addresses inside free text.
    fn scan(&mut self, text: &str) -> Option<String> {
        let mut edits = Vec::new();
        let tokens: Vec<_> =
            patterns::tokens(text, &self.tokens).into_iter().map(|t| (t.range, t.shape.label)).collect();
        for (range, label) in tokens {
            self.remember(label, &text[range.clone()]);
            self.summary.credentials += 1;
            edits.push((range, REDACTED.to_string()));
        }
        let free = |edits: &[(Range<usize>, String)], range: &Range<usize>| {
            edits.iter().all(|(e, _)| e.end <= range.start || range.end <= e.start)
        };
        self.url_credentials(text, &mut edits);
        for email in EMAIL.find_iter(text) {
            if !patterns::is_test_email(email.as_str()) && free(&edits, &email.range()) {
                self.summary.emails += 1;
                edits.push((email.range(), self.faker.email(email.as_str())));
            }
        }
        for range in patterns::phones(text) {
            let number = &text[range.clone()];
            if free(&edits, &range)
                && !super::fake::is_text_phone_fake(number)
                && let Some(fake) = self.faker.phone_in_text(number)
            {
                self.summary.phones += 1;
                edits.push((range, fake));
            }
        }
        for (_, range) in patterns::named_people(text) {
            let name = &text[range.clone()];
            let kind = if name.contains(char::is_whitespace) { Personal::FullName } else { Personal::LastName };
            if free(&edits, &range)
                && !super::fake::is_fake_name(name)
                && let Some(fake) = self.faker.personal(kind, name)
            {
                self.summary.names += 1;
                edits.push((range, fake));
            }
        }
        for (range, ip) in patterns::addresses(text) {
            if let Some(fake) = self.faker.ip(ip).filter(|_| free(&edits, &range)) {
                self.summary.ips += 1;
                edits.push((range, fake.to_string()));
            }
        }
        (!edits.is_empty()).then(|| patterns::splice(text, edits))
    }

    /// Credentials in the query of URLs inside free text (`order_status_url`'s `key=`), removed
    /// and then looked for everywhere else.
    fn url_credentials(&mut self, text: &str, edits: &mut Vec<(Range<usize>, String)>) {
        for (name, range) in patterns::url_credentials(text) {
            if edits.iter().all(|(e, _)| e.end <= range.start || range.end <= e.start) {
                self.remember(&name, &text[range.clone()]);
                self.summary.credentials += 1;
                edits.push((range, REDACTED.to_string()));
            }
        }
    }

    /// Rebuilds the mask when new credentials were seen. Every public entry point ends with it,
    /// so [`leaked`](Self::leaked) always knows them all.
    fn finish(&mut self) {
        if self.mask_stale {
            self.mask = SecretMask::new(self.known.iter().map(|(_, v)| v.clone()));
            self.mask_stale = false;
        }
    }

    fn mask_known<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let (masked, count) = self.mask.mask_counting(text);
        self.summary.credentials += count;
        masked
    }

    /// Returns whether anything changed.
    fn walk_json<'v>(&mut self, value: &'v mut Value, path: &mut Vec<Seg<'v>>) -> bool {
        match value {
            Value::Object(map) => {
                let mut changed = false;
                for (key, child) in map {
                    path.push(Seg::Key(key));
                    changed |= self.walk_json(child, path);
                    path.pop();
                }
                changed
            }
            Value::Array(items) => {
                let mut changed = false;
                for (i, child) in items.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    changed |= self.walk_json(child, path);
                    path.pop();
                }
                changed
            }
            Value::String(s) => match self.scalar(path, s) {
                Some(new) => {
                    *s = new;
                    true
                }
                None => false,
            },
            // A number under a credential or custom path becomes the placeholder string; a
            // number is never free text worth scanning.
            Value::Number(n) => {
                let replaced = match self.action(path) {
                    Action::Scan | Action::Keep => None,
                    _ => self.scalar(path, &n.to_string()),
                };
                match replaced {
                    Some(new) => {
                        *value = Value::String(new);
                        true
                    }
                    None => false,
                }
            }
            Value::Bool(_) | Value::Null => false,
        }
    }

    fn mask_json(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(masked) = self.mask_known(s) {
                    *s = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_json(v)),
            Value::Bool(_) | Value::Number(_) | Value::Null => {}
        }
    }

    /// The redacted JSON text, pretty-printed when the original spanned lines (keys come out
    /// sorted); `None` when nothing changed, and scanned as text when it is not JSON.
    fn json_text(&mut self, text: &str) -> Option<String> {
        let Ok(mut value) = serde_json::from_str::<Value>(text) else {
            return self.scan(text);
        };
        self.walk_json(&mut value, &mut Vec::new())
            .then(|| if text.trim().contains('\n') { format!("{value:#}") } else { value.to_string() })
    }

    /// `a=1&b=2` pairs, for query strings and form bodies alike.
    fn pairs(&mut self, text: &str) -> String {
        let pairs: Vec<String> = text.split('&').map(|pair| self.pair(pair)).collect();
        pairs.join("&")
    }

    /// Decoded as servers do (`+` is a space), re-encoded in the original's style: escaped
    /// throughout if it was, spaces as `+` if it used them.
    fn pair(&mut self, raw: &str) -> String {
        let Some((raw_key, raw_value)) = raw.split_once('=') else {
            return raw.to_string();
        };
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_decode_str(&s).decode_utf8().map(Cow::into_owned).unwrap_or(s)
        };
        match self.scalar(&[Seg::Key(&decode(raw_key))], &decode(raw_value)) {
            Some(redacted) => {
                let set = if raw_value.contains('%') { QUERY_STRICT } else { QUERY_MINIMAL };
                let encoded = utf8_percent_encode(&redacted, set).to_string();
                let plus_for_space = raw_value.contains('+') && !raw_value.contains("%20");
                format!("{raw_key}={}", if plus_for_space { encoded.replace("%20", "+") } else { encoded })
            }
            None => raw.to_string(),
        }
    }

    fn authorization(&mut self, label: &str, value: &str) -> Option<String> {
        let trimmed = value.trim();
        let Some((scheme, credentials)) = trimmed.split_once(char::is_whitespace) else {
            return self.credential(label, trimmed);
        };
        let credentials = credentials.trim();
        if credentials == REDACTED {
            return None;
        }
        if scheme.eq_ignore_ascii_case("oauth") {
            return Some(format!("{scheme} {}", self.oauth(credentials)));
        }
        if scheme.eq_ignore_ascii_case("basic")
            && let Some((_, password)) = STANDARD
                .decode(credentials)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .as_deref()
                .and_then(|s| s.split_once(':'))
        {
            self.remember(label, password);
        }
        self.credential(label, credentials).map(|redacted| format!("{scheme} {redacted}"))
    }

    /// OAuth 1.0 parameters: names and layout kept, values redacted but for the public ones.
    /// Only the consumer key and token are remembered: the signature and nonce are single-use,
    /// and the realm (a NetSuite account id) also appears in ordinary data.
    fn oauth(&mut self, params: &str) -> String {
        let mut edits = Vec::new();
        for c in OAUTH_PARAM.captures_iter(params) {
            let (Some(name), Some(value)) = (c.get(1).map(|m| m.as_str()), c.get(2)) else {
                continue;
            };
            if OAUTH_PUBLIC_PARAMS.contains(&name) || value.as_str() == REDACTED {
                continue;
            }
            let normalized = fields::normalize(name);
            if fields::is_credential(&normalized) && !fields::is_single_use(&normalized) {
                let decoded = percent_decode_str(value.as_str()).decode_utf8_lossy().into_owned();
                self.remember(name, &decoded);
            }
            self.summary.credentials += 1;
            edits.push((value.range(), REDACTED.to_string()));
        }
        patterns::splice(params, edits)
    }

    /// `Cookie: a=1; b=2` keeps the names; `Set-Cookie: a=1; Path=/; HttpOnly` redacts only the
    /// first pair, the rest being attributes.
    fn cookies(&mut self, label: &str, value: &str, set_cookie: bool) -> Option<String> {
        let mut changed = false;
        let parts: Vec<String> = value
            .split(';')
            .enumerate()
            .map(|(i, part)| match part.split_once('=') {
                Some((name, v)) if (i == 0 || !set_cookie) && !v.trim().is_empty() && v.trim() != REDACTED => {
                    self.remember(label, v);
                    self.summary.credentials += 1;
                    changed = true;
                    format!("{name}={REDACTED}")
                }
                _ => part.to_string(),
            })
            .collect();
        changed.then(|| parts.join(";"))
    }
}

impl<'a> Seg<'a> {
    fn key(&self) -> Option<&'a str> {
        match *self {
            Seg::Key(k) => Some(k),
            Seg::Index(_) => None,
        }
    }
}

enum Format {
    Json,
    Xml,
    Form,
    Csv,
    Text,
}

impl Format {
    fn of(content_type: &str, text: &str) -> Self {
        let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if mime.ends_with("json") || mime.contains("+json") {
            Format::Json
        } else if mime.ends_with("xml") || mime.contains("+xml") {
            Format::Xml
        } else if mime == "application/x-www-form-urlencoded" {
            Format::Form
        } else if mime == "text/csv" {
            Format::Csv
        } else {
            match text.trim_start().chars().next() {
                Some('{' | '[') => Format::Json,
                Some('<') => Format::Xml,
                _ => Format::Text,
            }
        }
    }
}

/// `line_items[].properties[*].value` → key, any index, key, any index, key.
fn parse_path(path: &str) -> Vec<PathPattern> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let mut pieces = part.split('[');
        match pieces.next().unwrap_or_default() {
            "" => {}
            "*" => segs.push(PathPattern::AnyKey),
            name => segs.push(PathPattern::Key(fields::normalize(name))),
        }
        segs.extend(pieces.map(|index| PathPattern::Index(index.trim_end_matches(']').trim().parse().ok())));
    }
    segs
}

/// Whether `pattern` ends `path` or any of its ancestors' paths.
fn matches_within(pattern: &[PathPattern], path: &[Seg]) -> bool {
    (pattern.len()..=path.len()).any(|end| {
        pattern.iter().zip(&path[end - pattern.len()..end]).all(|(p, s)| match (p, s) {
            (PathPattern::Key(k), Seg::Key(key)) => *k == fields::normalize(key),
            (PathPattern::AnyKey, Seg::Key(_)) => true,
            (PathPattern::Index(wanted), Seg::Index(i)) => wanted.is_none_or(|w| w == *i),
            _ => false,
        })
    })
}

#[cfg(test)]
mod business_tests;
#[cfg(test)]
mod tests;
