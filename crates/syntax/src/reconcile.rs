//! Reconciliations as written, in a scenario's `expect.reconcile` or a flow's `reconcile:`.

use harness_core::SystemId;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::loc::Loc;

/// A reconciliation: jq over the source payload on one side, jq over what a target received on
/// the other; they must agree within the tolerance.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ReconcileSpec {
    /// Names the check in reports.
    pub name: String,
    /// jq over the trigger payload.
    pub source: Loc<String>,
    /// jq over the target's traffic: an array of `{method, path, query, body, status, accepted}`,
    /// one per request (`accepted`: the system took it — 2xx, and for Peoplevox ResponseId 0).
    pub target: Loc<String>,
    /// Which system's traffic `target` reads.
    pub system: Loc<SystemId>,
    /// Largest accepted difference (default 0.005, half a cent).
    pub tolerance: Option<f64>,
}
