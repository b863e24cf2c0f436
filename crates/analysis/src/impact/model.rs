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
}

impl ImpactReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.flows.iter().flat_map(|f| &f.scenarios).flat_map(|s| &s.findings).filter(|f| f.severity == severity).count()
    }

    /// Anything breaking or losing data: the upgrade is not clean.
    pub fn blocks_upgrade(&self) -> bool {
        self.count(Severity::Breaking) + self.count(Severity::DataLoss) > 0
    }
}

pub struct ImpactOptions {
    pub system: SystemId,
    pub from: String,
    pub to: String,
    pub jobs: usize,
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
