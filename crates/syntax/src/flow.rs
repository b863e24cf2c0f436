//! Flow files (`flows/<name>.yaml`): the integration under test, as written — a trigger, the
//! systems it writes to, and what runs: declarative `steps` (a built-in flow) or a `command` (an
//! external program). Compiling them is the flows stage's work; this module is only the format.

use std::collections::BTreeMap;
use std::time::Duration;

use harness_core::SystemId;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::delivery::DeliverySpec;
use crate::loc::Loc;
use crate::mapping::Mapping;
use crate::reconcile::ReconcileSpec;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct FlowSpec {
    /// What the flow does, in a sentence.
    pub description: Option<String>,
    pub trigger: FlowTriggerSpec,
    /// Systems the flow writes to.
    #[serde(default)]
    pub targets: Vec<Loc<SystemId>>,
    /// How the flow authenticates to each system (defaults: shopify access-token, netsuite oauth2,
    /// peoplevox session).
    #[serde(default)]
    pub auth: BTreeMap<SystemId, Loc<String>>,
    /// Cross-reference tables, name → CSV (`key,value`) or YAML (mapping) file relative to `flows/`.
    #[serde(default)]
    pub tables: BTreeMap<String, Loc<String>>,
    /// Snapshot redactions: `body.tranDate`, `headers.x-request-id`, `body.item.items[].custcol_sync_id`.
    #[serde(default)]
    pub redact: Vec<String>,
    /// Built-in flow: the steps run for each record.
    pub steps: Option<Loc<Vec<StepSpec>>>,
    /// Retries, timeouts and dead-lettering of a built-in flow.
    pub delivery: Option<DeliverySpec>,
    /// External flow: the program and its arguments, run from the project root.
    pub command: Option<Loc<Vec<Loc<String>>>>,
    /// Service flow: a long-running program the harness starts once and delivers triggers to
    /// over HTTP.
    pub service: Option<crate::service::ServiceSpec>,
    /// Sums and counts that must agree between source and targets in every scenario that expects
    /// the flow to succeed (same form as a scenario's `expect.reconcile`).
    #[serde(default)]
    pub reconcile: Vec<ReconcileSpec>,
    /// External or service flow: environment variables for the program, name → text in which
    /// `{system.url}`, `{system.version}` and `{system.<credential>}` stand for the case's values,
    /// e.g. `NETSUITE_BASE_URL: "{netsuite.url}"`.
    #[serde(default)]
    pub env: BTreeMap<String, Loc<String>>,
    /// External or service flow: the folder the program runs in, relative to the project root (default: the
    /// root); it must be inside the project.
    pub cwd: Option<Loc<String>>,
    /// External or service flow: variables of the harness's own environment the program may also see: names,
    /// or prefixes ending in `*` (`MYAPP_*`). Everything else is withheld.
    #[serde(default)]
    pub pass_env: Vec<Loc<String>>,
    /// `network`: every run of a scenario of this flow is isolated from every network but
    /// loopback (the whole run, as `isolation` in `harness.yaml`).
    pub isolation: Option<crate::project::Isolation>,
    /// External or service flow: run a failed scenario again up to this many times (as
    /// `--retries`, which can ask for more); one that passes then is reported flaky.
    pub retries: Option<u32>,
    /// External flow: wall-clock limit of the program (default: the scenario's timeout).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct FlowTriggerSpec {
    /// The system the trigger comes from.
    pub system: Loc<SystemId>,
    /// Webhook topic (Shopify, e.g. `orders/create`) or Peoplevox event (`TrackingNumberReceived`).
    pub event: Option<Loc<String>>,
    /// Instead of a pushed event, the flow polls: the request it starts with.
    pub fetch: Option<Fetch>,
    /// jq: the records in the trigger payload (default `.`, the payload is one record).
    pub records: Option<Loc<String>>,
    /// jq: a record's key in reports (default: its position).
    pub key: Option<Loc<String>>,
    /// Verify the webhook signature first (default true for systems that sign their webhooks).
    pub verify_signature: Option<bool>,
}

/// The request a polling flow starts with; its recorded answer is the scenario's trigger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Fetch {
    /// Default `GET`.
    #[serde(default = "get")]
    pub method: String,
    /// The path; `{version}` stands for the system's API version.
    pub path: Loc<String>,
    /// Query parameters sent with it.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// The SOAP operation it calls, for a system that speaks SOAP (Peoplevox `GetData`): the
    /// recorded answer is served to that operation only, and its rows are the records.
    pub soap_action: Option<String>,
    /// Follow further pages, the way the system pages (Shopify's `Link` header, NetSuite's
    /// `links`, a declared system's cursor).
    #[serde(default)]
    pub paginate: bool,
}

fn get() -> String {
    "GET".into()
}

impl Fetch {
    pub fn path_for(&self, version: &str) -> String {
        self.path.replace("{version}", version)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct StepSpec {
    /// Names the step in reports and snapshots.
    pub name: Loc<String>,
    /// jq over the record: run the step only when true.
    pub when: Option<Loc<String>>,
    /// Leave the record out, with a reason, when the condition holds.
    pub filter: Option<FilterSpec>,
    /// The HTTP call this step makes.
    pub call: Option<CallSpec>,
    /// Values to keep for later steps: name → jq over the answer's body (`$status`, `$headers` too).
    #[serde(default)]
    pub bind: BTreeMap<String, Loc<String>>,
    /// Non-2xx statuses that are an answer, not a failure (e.g. 404 for "not found yet").
    #[serde(default)]
    pub allow_status: Vec<u16>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct FilterSpec {
    /// jq over the record.
    #[serde(rename = "if")]
    pub condition: Loc<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CallSpec {
    pub system: Loc<SystemId>,
    /// HTTP method (default POST).
    pub method: Option<String>,
    /// Path with jq holes: `/admin/api/{$version}/orders/{.id}.json`.
    pub path: Option<Loc<String>>,
    #[serde(default)]
    pub query: BTreeMap<String, Loc<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Loc<String>>,
    /// JSON body mapping (one jq expression per target field).
    pub body: Option<Mapping>,
    /// GraphQL request: the document and a variables mapping.
    pub graphql: Option<GraphqlSpec>,
    /// SOAP request (systems that speak SOAP, such as Peoplevox).
    pub soap: Option<SoapSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GraphqlSpec {
    pub query: String,
    pub variables: Option<Mapping>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SoapSpec {
    /// `GetData`, `SaveData`, `GetReportData`, ...
    pub operation: Loc<String>,
    /// Elements inside the operation, as a mapping (`getRequest: {TemplateName: '"Despatches"'}`).
    pub params: Option<Mapping>,
    /// For `SaveData`: the template and the CSV rows to save (a mapping yielding objects).
    pub save: Option<SaveSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SaveSpec {
    pub template: String,
    pub rows: Mapping,
    /// Peoplevox action code (0 none, 1 do not allocate, 2 delete).
    #[serde(default)]
    pub action: u8,
}
