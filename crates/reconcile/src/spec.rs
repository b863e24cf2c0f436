//! `reconcile/<name>.yaml` as written: the systems and how to reach them, what to list from each,
//! how records join, which fields and totals must agree, and how late a record may arrive.

use std::collections::BTreeMap;

use harness_core::SystemId;
use harness_syntax::Loc;
use harness_systems::records::ListSpec;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ReconcileFile {
    /// What the check is for, in reports.
    pub description: Option<String>,
    /// How long a record may take to reach a downstream system (`30m`); younger ones are not yet
    /// missing, and one that took longer is reported late. Default 30m.
    pub lag: Option<Loc<String>>,
    /// Each system the check reads, by name: `fixture:` or `url:` with credentials.
    pub systems: BTreeMap<SystemId, ConnectionSpec>,
    /// The system of record: every one of its records should reach each target.
    pub source: SideSpec,
    /// The downstream systems, each joined to the source by key.
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ConnectionSpec {
    /// A folder of recorded listing answers (relative to this file), served on loopback instead
    /// of the live system.
    pub fixture: Option<Loc<String>>,
    /// The live system's base URL (`https://shop.myshopify.com`); requests go to this host only.
    pub url: Option<Loc<String>>,
    /// Its API version (default: the newest the harness knows).
    pub version: Option<Loc<String>>,
    /// The authentication method (default: the system's first, as in flows).
    pub auth: Option<Loc<String>>,
    /// Each credential the method needs, by the name of the environment variable holding it.
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SideSpec {
    pub system: Loc<SystemId>,
    /// What to list (default: the system's orders for the window).
    #[serde(default)]
    pub list: ListSpec,
    /// jq giving a record's join key (`.name`, `.otherrefnum`, `.SalesOrderNumber`).
    pub key: Loc<String>,
    /// jq giving when the record was created (RFC 3339 text or Unix seconds), for lag and lateness.
    pub at: Option<Loc<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct TargetSpec {
    /// Names the relation in reports (default: the system's name).
    pub name: Option<String>,
    pub system: Loc<SystemId>,
    #[serde(default)]
    pub list: ListSpec,
    /// jq giving a record's join key, to match the source's.
    pub key: Loc<String>,
    pub at: Option<Loc<String>>,
    /// Rows sharing a key are one record's lines (Peoplevox `Sales order items`): jq over the
    /// source record giving how many there should be.
    pub lines: Option<Loc<String>>,
    /// Values that must agree record by record.
    #[serde(default)]
    pub fields: Vec<CompareSpec>,
    /// Sums over the window that must agree.
    #[serde(default)]
    pub totals: Vec<CompareSpec>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct CompareSpec {
    pub name: String,
    /// jq over the source record.
    pub source: Loc<String>,
    /// jq over the target record (with `lines:`, over each line; the lines' numbers are summed).
    pub target: Loc<String>,
    /// Largest accepted difference between numbers (default 0.005, half a cent).
    pub tolerance: Option<f64>,
}
