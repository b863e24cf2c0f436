//! Versions against each other: a scenario run at several versions of a system (`shopify:
//! [2026-01, 2026-04]`) compares what it sent at each version with what it sent at the version
//! before it, field by field. A field the earlier version filled that the later one empties or
//! leaves out is silent data loss the upgrade would bring: it fails the later version's case (so
//! `--accept` refuses it), whatever the approved snapshots say and without running `impact`.

use std::collections::{BTreeMap, HashMap};

use harness_core::{Exchange, SystemId};
use serde_json::Value;

use super::{CheckKind, Finding, Verdict, snapshots::explain};
use crate::plan::Case;
use crate::snapshot;

/// A case: its scenario and the version of each system it ran at.
type CaseKey = (String, Vec<(SystemId, String)>);

/// The snapshots each case produced, kept until the cases at the versions after it are judged.
/// Cases reach it in plan order, where a scenario's versions follow each other.
#[derive(Default)]
pub(crate) struct Ledger {
    produced: HashMap<CaseKey, BTreeMap<SystemId, Value>>,
}

impl Ledger {
    /// Compare `case` with its scenario's case at each earlier version, adding what was lost to
    /// `verdict`, then keep what it produced for the cases after it.
    pub(crate) fn compare(&mut self, case: &Case, exchanges: &[Exchange], verdict: &mut Verdict, strict: bool) {
        let versions: Vec<(SystemId, String)> =
            case.systems.iter().map(|(k, v)| (k.clone(), v.version.clone())).collect();
        for (system, listed) in &case.scenario.spec.systems {
            let mut listed = listed.list();
            if listed.len() < 2 {
                continue;
            }
            listed.sort();
            let Some((at, earlier)) = versions
                .iter()
                .find(|(k, _)| k == system)
                .and_then(|(_, v)| Some((v, listed.iter().take_while(|l| *l != v).last()?)))
            else {
                continue;
            };
            let key: Vec<(SystemId, String)> = versions
                .iter()
                .map(|(k, v)| (k.clone(), if k == system { earlier.clone() } else { v.clone() }))
                .collect();
            let Some(before) = self.produced.get(&(case.scenario.id.clone(), key)) else { continue };
            for result in &verdict.snapshots {
                let Some(old) = before.get(&result.system) else { continue };
                let old = with_version(old, earlier, at);
                let sent: Vec<&Exchange> = exchanges.iter().filter(|e| e.system == result.system).collect();
                let lost: Vec<snapshot::Change> = snapshot::changes(&old, &result.produced.json())
                    .into_iter()
                    .filter(snapshot::Change::emptied)
                    .collect();
                if lost.is_empty() {
                    continue;
                }
                let mut f = Finding::new(
                    CheckKind::Emptied,
                    format!(
                        "{} field(s) sent to {} at {system} {earlier} are empty or missing at {system} {at}",
                        lost.len(),
                        result.system
                    ),
                );
                f.warning = !strict;
                for c in &lost {
                    f.details.push(c.describe());
                    if let Some(source) =
                        explain(c, &result.system, &case.flow.trigger.system, &sent, case.flow.lineage())
                    {
                        f.details.push(format!("    fed by {source}"));
                    }
                }
                verdict.findings.push(f);
            }
        }
        verdict.findings.sort_by_key(|f| f.kind);
        // Only a scenario at several versions of a system has cases after this one to compare
        // with it: kept for every case, the documents of a large run would add up to gigabytes.
        if case.scenario.spec.systems.values().any(|listed| listed.list().len() > 1) {
            let produced = verdict.snapshots.iter().map(|r| (r.system.clone(), r.produced.json())).collect();
            self.produced.insert((case.scenario.id.clone(), versions), produced);
        }
    }
}

/// An earlier version's snapshot with its requests named as at `at`: a path carrying the version
/// (`/admin/api/2026-01/orders.json`) is the same request at the next one.
fn with_version(snapshot: &Value, earlier: &str, at: &str) -> Value {
    let mut out = snapshot.clone();
    for entry in out.as_array_mut().into_iter().flatten() {
        if let Some(Value::String(request)) = entry.get_mut("request") {
            *request = request.replace(earlier, at);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carrying_the_version_are_renamed_and_nothing_else() {
        let old = serde_json::json!([{"request": "POST /admin/api/2026-01/orders.json", "body": {"note": "2026-01"}}]);
        let renamed = with_version(&old, "2026-01", "2026-04");
        assert_eq!(
            renamed,
            serde_json::json!([{"request": "POST /admin/api/2026-04/orders.json", "body": {"note": "2026-01"}}])
        );
    }

    #[test]
    fn a_field_emptied_or_dropped_at_the_later_version_is_lost() {
        let old = serde_json::json!([{"request": "POST /record/v1/salesOrder", "body": {"custbody_shopify_checkout_id": "3001", "memo": "a", "kept": 1}}]);
        let new = serde_json::json!([{"request": "POST /record/v1/salesOrder", "body": {"custbody_shopify_checkout_id": null, "kept": 2}}]);
        let lost: Vec<String> =
            snapshot::changes(&old, &new).into_iter().filter(snapshot::Change::emptied).map(|c| c.field).collect();
        assert_eq!(lost, ["body.custbody_shopify_checkout_id", "body.memo"]);
    }
}
