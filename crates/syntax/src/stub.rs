//! Stubs as written in scenario files (`mocks.<system>.stubs`) and shared stub sets
//! (`mocks/<system>/<version>/stubs/<name>.yaml`): which requests they answer and how, call by call.

use std::collections::BTreeMap;

use harness_core::Fault;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::loc::Loc;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct StubSpec {
    /// Shown in reports and snapshots; defaults to the method and path.
    pub name: Option<String>,
    /// Which requests this stub answers.
    #[serde(rename = "match")]
    pub matcher: MatchSpec,
    /// The answer, every time.
    pub respond: Option<ResponseSpec>,
    /// One answer per call, in order; the last one repeats.
    pub sequence: Option<Loc<Vec<ResponseSpec>>>,
    /// Answer only the first N matching requests; later ones fall through to the next stub or
    /// the system's own behaviour.
    pub times: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct MatchSpec {
    /// HTTP method; any when absent.
    pub method: Option<String>,
    /// Exact path, a template with `{name}` segments (`/record/v1/customer/{id}`), or a regular
    /// expression after `~` (`~^/admin/api/[^/]+/orders\.json$`). `{version}` stands for the
    /// scenario's API version of the system. Any path when absent: a SOAP service answers on one
    /// endpoint, and `soap_action` tells its operations apart.
    #[serde(default = "any_path")]
    pub path: Loc<String>,
    /// Query parameters that must be present with these values.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Headers that must be present with these values (names are case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON the body must contain (objects match by subset, arrays and scalars exactly).
    pub body: Option<Value>,
    /// Text the raw body must contain.
    pub body_contains: Option<String>,
    /// GraphQL: the operation name (`mutation inventorySet(...)` or `operationName`).
    pub graphql_operation: Option<String>,
    /// GraphQL: variables the request must contain (subset match).
    pub graphql_variables: Option<Value>,
    /// SOAP: the operation, as named by the `SOAPAction` header (`GetData`, `SaveData`, ...).
    pub soap_action: Option<String>,
}

/// The regular expression every path matches.
fn any_path() -> Loc<String> {
    Loc::unlocated("~".to_string())
}

impl MatchSpec {
    /// A match on method and path alone.
    pub fn route(method: Option<&str>, path: &str) -> MatchSpec {
        MatchSpec { method: method.map(str::to_string), path: Loc::unlocated(path.to_string()), ..MatchSpec::default() }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
pub struct ResponseSpec {
    /// HTTP status; default the recording's, else 200.
    pub status: Option<Loc<u16>>,
    /// Headers added to (or replacing) the recording's.
    #[serde(default)]
    pub headers: BTreeMap<String, Loc<String>>,
    /// A recorded response, relative to `mocks/<system>/<version>/`.
    pub file: Option<Loc<String>>,
    /// An inline JSON body.
    pub body: Option<Loc<Value>>,
    /// An inline non-JSON body (XML, CSV, a truncated document).
    pub body_text: Option<Loc<String>>,
    /// A canned answer of the system: `rate-limited`, `unauthorized`, `server-error`, ...
    /// (see the README for each system's list).
    pub preset: Option<Loc<String>>,
    /// How long the answer takes (`2s`). Built-in flows see it on a virtual clock.
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub delay: Option<std::time::Duration>,
    /// A network fault instead of a clean answer.
    pub fault: Option<Fault>,
}
