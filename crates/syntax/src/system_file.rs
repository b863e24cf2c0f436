//! The files that describe one system at one API version: `mocks/<system>/<version>/system.yaml`,
//! its shared stub sets, and recorded payloads.

use std::collections::BTreeMap;

use harness_core::SystemId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::loc::Loc;
use crate::stub::StubSpec;

/// `system.yaml`: the harness's own for each version it knows, and a project's, which adds to it
/// or overrides it (or describes a version or system the harness does not know).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SystemFile {
    pub system: Loc<SystemId>,
    pub version: Loc<String>,
    pub description: Option<String>,
    /// Where the description and recordings come from.
    pub provenance: Option<String>,
    /// When the vendor supports this version.
    pub support: Option<Support>,
    /// The fake test account's credentials (`access_token`, `client_id`, ...).
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
    /// Endpoints with their request schemas; every request a flow sends there is validated.
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
    /// The events (webhook topics) the system pushes at this version, which flows triggered by it
    /// may name as `event:` (Shopify's come from its webhook schemas; a project adds to them).
    #[serde(default)]
    pub events: Vec<String>,
    /// Peoplevox import/export templates by name.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateSpec>,
    /// Properties added to request schemas, by schema file: a project's custom fields
    /// (`schemas/salesOrder.schema.json: {properties: {custbody_channel: {type: string}}}`).
    #[serde(default)]
    pub schema_extensions: BTreeMap<String, Value>,
    /// What this version changed since the one before it, as the vendor's changelog says: what
    /// impact analysis reports and `versions add` applies to recordings.
    #[serde(default)]
    pub changes: Vec<KnownChange>,
    /// For a system the harness does not know: how its API behaves, declared.
    pub api: Option<ApiSpec>,
}

/// A REST API with JSON bodies, declared by a project: how requests authenticate, what they must
/// carry, how errors, rate limits and pages look. `{name}` in texts stands for the version's
/// credential `name`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// Every path the API serves starts here (`/api`); other paths answer 404.
    pub base_path: Option<Loc<String>>,
    /// How a request proves who sends it; none when absent.
    pub auth: Option<ApiAuth>,
    /// Headers every request must carry, with these values (`revision: "2025-10-15"`).
    #[serde(default)]
    pub required_headers: BTreeMap<String, Loc<String>>,
    /// The content type of its JSON bodies (default `application/json`).
    pub content_type: Option<String>,
    /// How it words an error.
    pub errors: Option<ApiErrors>,
    /// How it answers when a client goes too fast (the `rate-limited` preset).
    pub rate_limit: Option<ApiRateLimit>,
    /// How a read says where its next page is.
    pub pagination: Option<ApiPagination>,
    /// jq over the body of an accepted POST: what it creates. Two accepted requests creating the
    /// same are a duplicate (default: the whole body).
    pub identity: Option<Loc<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ApiAuth {
    /// `Authorization: Bearer <token>`.
    Bearer { token: Loc<String> },
    /// A header carrying a key: `{name: Authorization, value: "Klaviyo-API-Key {api_key}"}`.
    Header { name: String, value: Loc<String> },
    /// HTTP Basic.
    Basic { username: Loc<String>, password: Loc<String> },
    /// OAuth 2.0 client credentials: a form POST to `token_path` (`client_id`, `client_secret`)
    /// answered with a bearer token lasting `expires_in` (default 1h).
    ClientCredentials {
        token_path: Loc<String>,
        client_id: Loc<String>,
        client_secret: Loc<String>,
        #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
        #[schemars(with = "Option<String>")]
        expires_in: Option<std::time::Duration>,
    },
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiErrors {
    /// The body of an error answer; `{status}`, `{code}`, `{title}`, `{detail}` and `{pointer}`
    /// in its strings are filled in (a string that is only `{status}` becomes the number).
    pub body: Value,
    /// jq reading an error answer's reason, for reports (`.errors[0].detail`).
    pub detail: Option<Loc<String>>,
    /// The status of a request its schema refuses (default 400).
    pub validation_status: Option<u16>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiRateLimit {
    /// Default 429.
    pub status: Option<u16>,
    /// The wait it asks for in `Retry-After` (default 1s).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub retry_after: Option<std::time::Duration>,
    /// The error code it says (default `throttled`).
    pub code: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ApiPagination {
    /// A `Link` header with `rel="next"`.
    LinkHeader,
    /// jq over the body giving the next page's URL (`.links.next`).
    Next(Loc<String>),
}

/// One documented change of a version. Exactly one of `removed`, `renamed`, `required` and
/// `deprecated` says what happened to `path`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnownChange {
    /// What it applies to, as impact reports name it: `webhook orders/create` (`webhook orders/*`
    /// for every order topic), `GET /admin/api/{version}/orders.json`, `request POST …` for
    /// what a client sends; for GraphQL, `mutation inventorySetQuantities` (its arguments and
    /// directives: `input.quantities[].changeFromQuantity`, `@idempotent`) or `type ProductVariant`
    /// (fields of a type; `type Mutation` for the mutations themselves).
    pub scope: Loc<String>,
    /// A field of the payload that is no longer sent (`checkout_id`, `line_items[].sku`).
    pub removed: Option<Loc<String>>,
    /// A field that moved.
    pub renamed: Option<Rename>,
    /// A request field the version now requires (`variables.input.quantities[].changeFromQuantity`).
    pub required: Option<Loc<String>>,
    /// A field still served but on its way out: what to move off before it is removed.
    pub deprecated: Option<Loc<String>>,
    /// The GraphQL input type that holds the field, as the API's errors name it
    /// (`InventoryQuantityInput`).
    pub input_type: Option<String>,
    /// What to use instead (`checkout_token`).
    pub instead: Option<String>,
    /// Where the vendor says so, and how sure it is.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub from: Loc<String>,
    pub to: Loc<String>,
}

impl KnownChange {
    /// What the change says happened, when it says exactly one thing.
    pub fn what(&self) -> Option<ChangeSaid<'_>> {
        let said = [
            self.removed.as_ref().map(ChangeSaid::Removed),
            self.renamed.as_ref().map(ChangeSaid::Renamed),
            self.required.as_ref().map(ChangeSaid::Required),
            self.deprecated.as_ref().map(ChangeSaid::Deprecated),
        ];
        let mut said = said.into_iter().flatten();
        match (said.next(), said.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

/// The one thing a [`KnownChange`] says.
#[derive(Debug, Clone, Copy)]
pub enum ChangeSaid<'a> {
    Removed(&'a Loc<String>),
    Renamed(&'a Rename),
    Required(&'a Loc<String>),
    Deprecated(&'a Loc<String>),
}

/// A version's support window, as the vendor publishes it (`YYYY-MM-DD`, or
/// `YYYY-MM-DDTHH:MM:SSZ` where the vendor names the hour; UTC).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Support {
    pub released: Option<Loc<String>>,
    /// Supported until this date.
    pub until: Option<Loc<String>>,
    /// Still answered until this date; after it, calls for this version are answered by another.
    pub accessible_until: Option<Loc<String>>,
    /// Not yet stable: published for testing only.
    #[serde(default)]
    pub release_candidate: bool,
    /// How sure the dates are and where they come from.
    pub source: Option<String>,
    /// Other dated facts users plan by (`SOAP web services end with 2028.2`).
    #[serde(default)]
    pub notices: Vec<String>,
}

/// Where a version stands on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportStatus {
    ReleaseCandidate,
    Supported {
        until: Option<String>,
    },
    /// Past its support date, still answered.
    Unsupported {
        since: String,
    },
    /// No longer answered as itself: calls get another version's behaviour.
    Inaccessible {
        since: String,
    },
    /// The catalog has no dates for it.
    Unknown,
}

impl Support {
    /// The status at `now` (`2026-12-01T09:30:00Z`).
    pub fn status(&self, now: &str) -> SupportStatus {
        let passed =
            |date: &Option<Loc<String>>| date.as_ref().filter(|d| instant(d).as_str() <= now).map(|d| d.value.clone());
        if let Some(since) = passed(&self.accessible_until) {
            return SupportStatus::Inaccessible { since };
        }
        if let Some(since) = passed(&self.until) {
            return SupportStatus::Unsupported { since };
        }
        if self.release_candidate {
            return SupportStatus::ReleaseCandidate;
        }
        match (&self.released, &self.until) {
            (None, None) => SupportStatus::Unknown,
            (_, until) => SupportStatus::Supported { until: until.as_ref().map(|u| u.value.clone()) },
        }
    }

    /// Dates that are not `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`, with what is wrong.
    pub fn bad_dates(&self) -> impl Iterator<Item = &Loc<String>> {
        [&self.released, &self.until, &self.accessible_until].into_iter().flatten().filter(|d| !is_date(d))
    }
}

/// A date as an instant comparable with RFC 3339 UTC text: a bare date is its midnight.
fn instant(date: &str) -> String {
    if date.len() == 10 { format!("{date}T00:00:00Z") } else { date.to_string() }
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    let time = b.len() == 20
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'Z';
    date && (b.len() == 10 || time)
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct EndpointSpec {
    pub method: String,
    pub path: Loc<String>,
    /// JSON Schema of the request body, relative to the version folder.
    pub request_schema: Option<Loc<String>>,
    /// The body names only the fields it changes (a PATCH): the schema's `required` at its top
    /// level does not apply.
    #[serde(default)]
    pub partial: bool,
    /// When set, this version no longer serves the endpoint; the text says what replaced it.
    pub removed: Option<String>,
    pub description: Option<String>,
    /// A declared system's answer to a request no stub matches (`{status: 202}`).
    pub answer: Option<EndpointAnswer>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointAnswer {
    pub status: Loc<u16>,
    pub body: Option<Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A Peoplevox data template: its columns, which one identifies a row, which must be filled. A
/// report (`report: true`) is read with `GetReportData` only: it has columns, no key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct TemplateSpec {
    #[serde(default)]
    pub key: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub report: bool,
}

/// A shared stub set: `mocks/<system>/<version>/stubs/<name>.yaml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct StubSetFile {
    pub description: Option<String>,
    pub stubs: Vec<StubSpec>,
}

/// A recorded payload with what is known about it: a recording envelope. A payload file may also
/// be the bare body as the system sent it; then only its folder says what it is.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingFile {
    #[serde(default)]
    pub recording: RecordingMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

impl RecordingFile {
    /// The keys an envelope may have.
    pub const KEYS: [&str; 5] = ["recording", "status", "headers", "body", "body_text"];

    /// Whether a JSON object with these keys is an envelope: `recording` among them and nothing
    /// else — a misspelt envelope key still counts, so the typo is reported rather than the whole
    /// envelope taken for a bare body.
    pub fn is_envelope<'a>(keys: impl IntoIterator<Item = &'a str>) -> bool {
        let mut recording = false;
        for key in keys {
            match harness_core::did_you_mean(key, Self::KEYS) {
                Some(known) => recording |= known == "recording",
                None => return false,
            }
        }
        recording
    }
}

/// What a recording says about itself; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingMeta {
    /// When given, it must be the system of the folder the file lives in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemId>,
    /// When given, it must be the version of the folder the file lives in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What was called or delivered: `POST /services/rest/query/v1/suiteql`, `webhook orders/create`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Where the payload comes from and how it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was recorded (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Where it was recorded from (the upstream host, a HAR file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The request it answers, as `harness record` or `import` saw it (redacted): what
    /// `record --check` sends again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RecordedCall>,
}

/// A recorded request: method, path with its query, the headers that shape the answer, and the
/// body (JSON, or text for SOAP and forms).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedCall {
    pub method: String,
    /// With the query string, as sent (`/admin/api/2026-01/orders.json?status=any`).
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_told_from_bare_bodies() {
        assert!(RecordingFile::is_envelope(["recording", "body"]));
        assert!(RecordingFile::is_envelope(["recordng", "body"]), "a typo is still an envelope");
        assert!(!RecordingFile::is_envelope(["status", "body"]), "no `recording`: a bare body");
        assert!(!RecordingFile::is_envelope(["recording", "id", "line_items"]), "other keys: a bare body");
    }

    fn support(until: Option<&str>, accessible: Option<&str>, rc: bool) -> Support {
        let loc = |d: Option<&str>| d.map(|d| Loc::unlocated(d.to_string()));
        Support {
            released: loc(Some("2026-01-01")),
            until: loc(until),
            accessible_until: loc(accessible),
            release_candidate: rc,
            source: None,
            notices: Vec::new(),
        }
    }

    #[test]
    fn support_status_follows_the_dates() {
        let s = support(Some("2027-01-01T15:00:00Z"), Some("2027-01-16T15:00:00Z"), false);
        assert_eq!(
            s.status("2026-12-01T00:00:00Z"),
            SupportStatus::Supported { until: Some("2027-01-01T15:00:00Z".into()) }
        );
        assert_eq!(
            s.status("2027-01-01T15:00:00Z"),
            SupportStatus::Unsupported { since: "2027-01-01T15:00:00Z".into() }
        );
        assert_eq!(
            s.status("2027-02-01T00:00:00Z"),
            SupportStatus::Inaccessible { since: "2027-01-16T15:00:00Z".into() }
        );
        assert_eq!(support(None, None, true).status("2026-12-01T00:00:00Z"), SupportStatus::ReleaseCandidate);
        assert_eq!(
            support(Some("2026-12-01"), None, false).status("2026-12-01T08:00:00Z"),
            SupportStatus::Unsupported { since: "2026-12-01".into() }
        );
    }

    #[test]
    fn support_dates_are_checked() {
        let s = support(Some("2027-1-1"), Some("2027-01-16T15:00Z"), false);
        let bad: Vec<&str> = s.bad_dates().map(|d| d.value.as_str()).collect();
        assert_eq!(bad, ["2027-1-1", "2027-01-16T15:00Z"]);
    }
}
