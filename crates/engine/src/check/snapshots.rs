//! Snapshots: what reached each target against the approved snapshot, field by field, each
//! changed field explained by the source path that feeds it, and fields that went empty.

use harness_core::{Exchange, SystemId};
use harness_expr::{path_text, template_field};
use harness_flows::MappedField;

use super::{CheckKind, Context, Finding, SnapshotResult, SnapshotState};
use crate::snapshot::{self, Change, Snapshot, canonical};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) -> Vec<SnapshotResult> {
    let (case, exchanges, strict) = (cx.case, &cx.exec.exchanges, cx.strict);
    let source_system = &case.flow.trigger.system;
    let lineage = case.flow.lineage();
    let mut out = Vec::new();
    // Records delivered concurrently arrive in any order: their snapshot lists requests by content.
    let concurrent = case.flow.driver.unordered(&case.policy);
    let silent = nothing_sent(cx, findings);
    for slot in &case.snapshots {
        let mut sent: Vec<&Exchange> = exchanges.iter().filter(|e| e.system == slot.system).collect();
        // An empty snapshot of a target is never approved: silence is expected or it is a failure.
        if slot.approved.is_none() && silent.contains(&&slot.system) {
            continue;
        }
        if concurrent {
            sent.sort_by_cached_key(|e| canonical::entries(&[e], &case.redact, cx.registry).to_string());
        }
        let json = canonical::entries(&sent, &case.redact, cx.registry);
        let system_label = case.systems.get(&slot.system).map_or_else(|| slot.system.to_string(), |s| s.label());
        let description = format!("requests {} sent to {system_label}", case.flow.name);
        let produced = Snapshot::new(&case.scenario.display, &description, &slot.system, &json);
        let (state, changes) = match &slot.approved {
            None => (SnapshotState::New, Vec::new()),
            Some(approved) if approved.body == produced.body => (SnapshotState::Matches, Vec::new()),
            Some(approved) => match approved.json() {
                // Written differently (by hand, say) but the same document.
                approved if approved == json => (SnapshotState::Matches, Vec::new()),
                approved => (SnapshotState::Changed, snapshot::changes(&approved, &json)),
            },
        };
        match state {
            SnapshotState::Matches => {}
            SnapshotState::New => {
                let mut f = Finding::new(
                    CheckKind::Snapshot,
                    format!(
                        "new snapshot for {system_label}: {} ({} request(s)); review it and accept",
                        slot.display,
                        sent.len()
                    ),
                );
                f.diff = Some(produced.body.clone());
                findings.push(f);
            }
            SnapshotState::Changed => {
                let mut f = Finding::new(
                    CheckKind::Snapshot,
                    format!("what reached {system_label} changed ({} field(s)): {}", changes.len(), slot.display),
                );
                for c in changes.iter().take(40) {
                    f.details.push(c.describe());
                    if let Some(source) = explain(c, &slot.system, source_system, &sent, lineage) {
                        f.details.push(format!("    fed by {source}"));
                    }
                }
                if changes.len() > 40 {
                    f.details.push(format!("… and {} more", changes.len() - 40));
                }
                f.diff = slot.approved.as_ref().map(|a| snapshot::line_diff(&a.body, &produced.body, false));
                findings.push(f);
                let emptied: Vec<&Change> = changes.iter().filter(|c| c.emptied()).collect();
                if !emptied.is_empty() {
                    let mut d = Finding::new(
                        CheckKind::Emptied,
                        format!(
                            "{} field(s) sent to {system_label} were filled in the approved snapshot and are now empty",
                            emptied.len()
                        ),
                    );
                    d.warning = !strict;
                    for c in emptied {
                        d.details.push(c.describe());
                        if let Some(source) = explain(c, &slot.system, source_system, &sent, lineage) {
                            d.details.push(format!("    fed by {source}"));
                        }
                    }
                    findings.push(d);
                }
            }
        }
        out.push(SnapshotResult { system: slot.system.clone(), state, produced, changes });
    }
    out
}

/// The flow's targets that received nothing. Each fails the scenario unless it expects that: every
/// record filtered, the flow failing, or a request count of 0 for the target.
fn nothing_sent<'a>(cx: &Context<'a>, findings: &mut Vec<Finding>) -> Vec<&'a SystemId> {
    let case = cx.case;
    let spec = &case.expect.spec;
    let mut silent = Vec::new();
    for target in case.flow.targets.iter().filter(|t| case.systems.contains_key(*t)) {
        if cx.exec.exchanges.iter().any(|e| &e.system == target) {
            continue;
        }
        silent.push(target);
        let counted_zero =
            spec.requests.iter().any(|r| r.system.value == *target && (r.count == Some(0) || r.max == Some(0)));
        // A flow that failed is red already; silence is news only when all else looks green.
        if spec.expects_delivery() && !counted_zero && cx.exec.run.succeeded() {
            let mut f =
                Finding::new(CheckKind::NothingSent, format!("{target} received nothing, though the flow sends to it"));
            f.details.push(
                "if that is what this scenario is about, say so: `outcome: filtered`, or a request count of 0 for it"
                    .into(),
            );
            findings.push(f);
        }
    }
    silent
}

/// The source paths that feed a changed target field, from the flow's mapping.
pub(super) fn explain(
    change: &Change,
    system: &SystemId,
    source_system: &SystemId,
    sent: &[&Exchange],
    lineage: &[MappedField],
) -> Option<String> {
    let step = sent.get(change.entry).and_then(|e| e.step.clone())?;
    let field = template_field(&change.field);
    let best = lineage
        .iter()
        .filter(|(s, k, l)| {
            *s == step
                && k == system
                && (field == l.target
                    || field.starts_with(&format!("{}.", l.target))
                    || field.starts_with(&format!("{}[", l.target)))
        })
        .max_by_key(|(_, _, l)| l.target.len())?;
    let reads: Vec<String> = best
        .2
        .reads
        .iter()
        .map(|r| match r.var.as_deref() {
            None | Some("record") => format!("{source_system} `{}`", path_text(&r.segs)),
            Some(var) => format!(
                "`${var}{}` (bound by an earlier step)",
                if r.segs.is_empty() { String::new() } else { format!(".{}", path_text(&r.segs)) }
            ),
        })
        .collect();
    if reads.is_empty() {
        return None;
    }
    Some(format!("{} (step {step}, field {})", reads.join(", "), best.2.target))
}
