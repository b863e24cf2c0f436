//! Impact analysis before an API upgrade: which flows, scenarios and target fields a new version
//! of a system breaks, why, and how badly.

mod analysis;
mod diff;
pub mod lineage;
pub mod report;

pub use analysis::{FieldImpact, FlowImpact, ImpactOptions, ImpactReport, ScenarioImpact, Severity, analyse};
pub use diff::{ChangeKind, FieldChange, VersionDiff, diff, endpoint_scope, parse_path};
