//! What an impact analysis finds: severities, affected target fields per scenario and flow, the
//! report, and the traces that tie target fields to the source changes feeding them.

use std::collections::BTreeMap;

use harness_core::SystemId;
use harness_engine::plan::Case;
use harness_engine::snapshot::Change;
use harness_expr::template_field;
use serde::Serialize;

use crate::diff::{FieldChange, VersionDiff};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A request the target rejected, a schema violated, a request no longer sent, a failed run.
    Breaking,
    /// A target field now empty or different.
    DataLoss,
    /// Still works, but the system says the flow uses what it will remove.
    Deprecated,
    /// Differences that carry no business data (the API version in a path, a header).
    Cosmetic,
}

impl Severity {
    /// Whether a finding of this severity stands in the way of the upgrade.
    pub fn blocks(self) -> bool {
        matches!(self, Severity::Breaking | Severity::DataLoss)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::DataLoss => "data loss",
            Severity::Deprecated => "deprecated",
            Severity::Cosmetic => "cosmetic",
        }
    }
}

/// One target field of one scenario affected by the upgrade.
#[derive(Debug, Clone, Serialize)]
pub struct FieldImpact {
    pub system: SystemId,
    /// `POST /services/rest/record/v1/salesOrder`
    pub request: String,
    /// `body.custbody_payment_gateway` (array positions as `[]`).
    pub field: String,
    pub severity: Severity,
    /// `shopify `gateway` removed (webhook orders/create)`, with how it was traced.
    pub causes: Vec<String>,
    /// `"shopify_payments" → null`
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioImpact {
    pub id: String,
    pub file: String,
    pub findings: Vec<FieldImpact>,
    /// Payloads the replay had to migrate because the new version has no recording of them.
    pub migrated: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowImpact {
    pub flow: String,
    pub scenarios: Vec<ScenarioImpact>,
    /// What the flow uses of the upgraded system whose changes between the versions nothing
    /// tells: neither the catalog nor recordings at both versions. The replay cannot see them.
    pub unverified: Vec<Unverified>,
}

/// A topic or endpoint of the upgraded system whose changes between the versions are unknown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unverified {
    /// `webhook refunds/create`, `GET /admin/api/{version}/orders.json`
    pub scope: String,
    /// `not verified: no knowledge of changes to … between A and B`
    pub message: String,
}

impl FlowImpact {
    pub fn worst(&self) -> Option<Severity> {
        self.scenarios.iter().flat_map(|s| &s.findings).map(|f| f.severity).min()
    }

    /// Affected target fields across the flow's scenarios, with their findings.
    pub fn fields(&self) -> BTreeMap<TargetField, Vec<(&ScenarioImpact, &FieldImpact)>> {
        let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for s in &self.scenarios {
            for f in &s.findings {
                out.entry((f.system.clone(), f.request.clone(), f.field.clone())).or_default().push((s, f));
            }
        }
        out
    }
}

/// A target field: `(system, request, field)`.
pub type TargetField = (SystemId, String, String);

#[derive(Debug, Clone, Serialize)]
pub struct ImpactReport {
    pub system: SystemId,
    pub from: String,
    pub to: String,
    pub diff: VersionDiff,
    pub flows: Vec<FlowImpact>,
    /// Unverified topics and endpoints are warnings, not a failed verdict (`--allow-unverified`).
    pub allow_unverified: bool,
}

impl ImpactReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.flows
            .iter()
            .flat_map(|f| &f.scenarios)
            .flat_map(|s| &s.findings)
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Anything breaking or losing data: the upgrade is not clean.
    pub fn blocks_upgrade(&self) -> bool {
        self.count(Severity::Breaking) + self.count(Severity::DataLoss) > 0
    }

    /// Topics and endpoints flows use whose changes nothing tells, counted once per flow.
    pub fn unverified(&self) -> usize {
        self.flows.iter().map(|f| f.unverified.len()).sum()
    }

    /// Whether the run fails: something breaks or loses data, or something the flows use could
    /// not be verified (unless that is allowed). Never "clean" about what it cannot see.
    pub fn fails(&self) -> bool {
        self.blocks_upgrade() || (self.unverified() > 0 && !self.allow_unverified)
    }
}

pub struct ImpactOptions {
    pub system: SystemId,
    pub from: String,
    pub to: String,
    pub jobs: usize,
    /// Report unverified topics and endpoints as warnings instead of failing.
    pub allow_unverified: bool,
}

/// For every case whose trigger comes from the upgraded system: which target fields change when
/// one changed source field is taken away (or renamed) at the old version. Keys: case id, then
/// `(system, field)` → the changes that feed it.
pub(super) type Traced = BTreeMap<(SystemId, String), Vec<FieldChange>>;

/// The system a case's outcome is reported against: its first snapshotted target.
pub(super) fn case_target(case: &Case) -> SystemId {
    case.snapshots.first().map_or_else(|| case.flow.trigger.system.clone(), |s| s.system.clone())
}

/// `body.item.items[].item` for a change inside a request; the request line for a whole request.
pub(super) fn field_key(c: &Change) -> String {
    if c.field.is_empty() { "(request)".to_string() } else { template_field(&c.field) }
}
