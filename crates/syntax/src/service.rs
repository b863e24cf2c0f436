//! The `service:` of a flow file: an integration that runs as a web service — started once, made
//! ready, and delivered each scenario's trigger over HTTP — and how a scenario says what the
//! service must answer. Running it is the flows stage's work; this module is only the format.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::loc::Loc;

/// `service:` in a flow file. The program's `env:`, `cwd:` and `pass_env:` are the flow's own, as
/// for a `command`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ServiceSpec {
    /// The program that starts the service and its arguments, e.g. `[node, flows/service.js]`.
    /// It listens on the port in `HARNESS_SERVICE_PORT` (`{service.port}` in `env:`).
    pub command: Loc<Vec<Loc<String>>>,
    /// When the service is ready for deliveries (default: its port accepts connections).
    #[serde(default)]
    pub ready: ReadySpec,
    /// How the trigger reaches the service.
    pub deliver: DeliverSpec,
    /// How long the integration must be idle (nothing in flight to the mocks, nothing of the
    /// service's processes running) before a scenario is over (default `200ms`); a scenario's
    /// `settle:` overrides it.
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub settle: Option<Duration>,
    /// `per-run` (default): one instance per job, reused by its scenarios; `per-scenario`: a fresh
    /// instance for every scenario, for services that keep state in memory.
    #[serde(default)]
    pub restart: Restart,
}

/// When a service is ready: exactly one of `tcp`, `http`, `log`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ReadySpec {
    /// Its port accepts connections (the default).
    pub tcp: Option<Loc<bool>>,
    /// A GET of this path answers 2xx, e.g. `/health`.
    pub http: Option<Loc<String>>,
    /// A line of its output matches this regular expression, e.g. `listening`.
    pub log: Option<Loc<String>>,
    /// How long it may take (default `10s`); past it the run fails with the end of its output.
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

/// How the trigger is delivered to the service.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct DeliverSpec {
    /// The path, with `{Param}` holes filled from a Peoplevox callback's parameters:
    /// `/peoplevox/despatch?TrackingNumber={TrackingNumber}`.
    pub path: Loc<String>,
    /// `POST` (default) or `GET`. A POST carries the trigger's body and headers (a Shopify
    /// webhook's, signed with the app secret).
    pub method: Option<Loc<String>>,
    /// `batch` (default): the whole payload in one call; `each`: one call per record of the
    /// trigger's `records`, each signed on its own.
    #[serde(default)]
    pub records: RecordDelivery,
    /// How long the service may take to answer a delivery (default `5s`, as Shopify waits).
    #[serde(default, deserialize_with = "harness_core::duration::deserialize_opt")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Deliveries made again after a 5xx answer or no answer in time, as Shopify retries
    /// (default 2).
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    #[default]
    PerRun,
    PerScenario,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RecordDelivery {
    #[default]
    Batch,
    Each,
}

/// `expect.answer` of a scenario of a service flow: how the service must answer the delivery
/// (by default with a 2xx at the first attempt).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct AnswerExpect {
    /// The status of the last answer, e.g. `401` for a webhook whose signature is wrong.
    pub status: Option<u16>,
    /// Text the last answer's body must contain.
    pub body: Option<String>,
    /// Deliveries made in all, retries included (`3`: two 5xx answers, then a 2xx).
    pub attempts: Option<u32>,
}
