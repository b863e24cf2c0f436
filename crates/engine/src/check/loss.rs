//! Data that would be lost silently: a mapping reading a source field the payload lacks, and
//! creates that reached a system twice.

use std::collections::BTreeMap;

use harness_core::Exchange;

use super::{CheckKind, Context, Finding};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let trigger_system = &cx.case.flow.trigger.system;
    for m in &cx.exec.run.missing {
        let mut f = if m.from_answer {
            let mut f = Finding::new(
                CheckKind::DataLoss,
                format!(
                    "{} would be null: step {} binds it from the {} answer's `{}`, which the answer does not have",
                    m.target, m.step, m.system, m.source
                ),
            );
            f.details.push(format!("record {}: a field the stub or recording lacks (renamed, removed, or never recorded) — every use of {} gets null instead of failing", m.record, m.target));
            f
        } else {
            let mut f = Finding::new(
                CheckKind::DataLoss,
                format!(
                    "{} {} would be empty: the mapping reads {trigger_system} `{}`, which the payload does not have",
                    m.system, m.target, m.source
                ),
            );
            f.details.push(format!("record {}, step {}: a renamed or removed source field — the target field arrives empty instead of failing", m.record, m.step));
            f
        };
        f.warning = !cx.strict;
        findings.push(f);
    }
    if cx.case.expect.spec.no_duplicates.unwrap_or(true) {
        check_duplicates(cx, findings);
    }
}

/// Two committed requests creating the same identity: a retried create the system had already
/// carried out.
fn check_duplicates(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let mut seen: BTreeMap<String, Vec<&Exchange>> = BTreeMap::new();
    for e in cx.exec.exchanges.iter().filter(|e| e.request.method == "POST" && cx.accepted(e)) {
        for id in cx.registry.system(&e.system).created_identities(e) {
            seen.entry(id).or_default().push(e);
        }
    }
    for (id, list) in seen.iter().filter(|(_, l)| l.len() > 1) {
        let shown: String = id.chars().take(120).collect();
        let mut f = Finding::new(
            CheckKind::Duplicates,
            format!("{} committed creates of the same record: {shown}", list.len()),
        );
        f.details = list
            .iter()
            .map(|e| format!("request {}: {} → {}", e.seq + 1, e.request.line(), e.response.status))
            .collect();
        f.details.push(
            "a retried create must not duplicate: upsert by external id, or look the record up before creating it"
                .into(),
        );
        findings.push(f);
    }
}
