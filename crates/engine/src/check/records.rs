//! How the records ended: as the scenario expects each, none vanished (conservation), dead letters,
//! credential refreshes, and the waits before retries.

use std::collections::BTreeMap;

use harness_core::Outcome;

use super::{CheckKind, Context, Finding};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let (case, run) = (cx.case, &cx.exec.run);
    let spec = &case.expect.spec;
    let by_key: BTreeMap<&str, _> = run.records.iter().map(|r| (r.key.as_str(), r)).collect();
    for (key, want) in &spec.records {
        match by_key.get(key.as_str()) {
            None => findings.push(Finding::new(
                CheckKind::Records,
                format!("record {key}: expected {}, but the flow never reported it", want.outcome().as_str()),
            )),
            Some(got) if got.outcome != want.outcome() => {
                let mut f = Finding::new(
                    CheckKind::Records,
                    format!("record {key}: expected {}, got {}", want.outcome().as_str(), got.outcome.as_str()),
                );
                f.details.extend(got.reason.clone());
                findings.push(f);
            }
            Some(got) => {
                if let Some(text) = want.reason()
                    && !got.reason.as_deref().unwrap_or("").contains(text)
                {
                    findings.push(Finding::new(
                        CheckKind::Records,
                        format!(
                            "record {key}: reason `{}` does not mention `{text}`",
                            got.reason.as_deref().unwrap_or("")
                        ),
                    ));
                }
            }
        }
    }

    // Conservation: every record is delivered, dead-lettered or filtered with a reason.
    // A flow that reports its records itself may forget one: the trigger says which it holds.
    let expected_keys: Vec<String> = match &case.trigger.json {
        Some(payload) if !case.flow.driver.accounts_for_every_record() && !run.records.is_empty() => {
            case.flow.trigger.split.keys(payload)
        }
        _ => Vec::new(),
    };
    let vanished: Vec<String> = expected_keys.iter().filter(|k| !by_key.contains_key(k.as_str())).cloned().collect();
    let unprocessed: Vec<&str> =
        run.records.iter().filter(|r| r.outcome == Outcome::NotProcessed).map(|r| r.key.as_str()).collect();
    let unexplained: Vec<&str> = run
        .records
        .iter()
        .filter(|r| r.outcome == Outcome::Filtered && r.reason.as_deref().is_none_or(str::is_empty))
        .map(|r| r.key.as_str())
        .collect();
    let expected_unprocessed = |k: &str| spec.records.get(k).is_some_and(|r| r.outcome() == Outcome::NotProcessed);
    let lost: Vec<String> = vanished
        .into_iter()
        .chain(unprocessed.iter().filter(|k| !expected_unprocessed(k)).map(|k| k.to_string()))
        .chain(unexplained.iter().map(|k| k.to_string()))
        .collect();
    if !lost.is_empty() {
        let delivered = run.records.iter().filter(|r| r.outcome == Outcome::Delivered).count();
        let dead = run.records.iter().filter(|r| r.outcome == Outcome::DeadLettered).count();
        let filtered = run.records.iter().filter(|r| r.outcome == Outcome::Filtered).count();
        let total = run.records.len().max(expected_keys.len());
        let mut f = Finding::new(
            CheckKind::Conservation,
            format!(
                "{} of {total} records vanished (neither delivered, dead-lettered nor filtered with a reason): {}",
                lost.len(),
                lost.join(", ")
            ),
        );
        f.details
            .push(format!("records in: {total}; delivered {delivered}, dead-lettered {dead}, filtered {filtered}"));
        findings.push(f);
    }

    if let Some(dl) = &spec.dead_letters {
        let dead: Vec<_> = run.records.iter().filter(|r| r.outcome == Outcome::DeadLettered).collect();
        if let Some(n) = dl.count
            && dead.len() != n
        {
            let mut f = Finding::new(CheckKind::DeadLetters, format!("expected {n} dead letters, got {}", dead.len()));
            f.details = dead.iter().map(|r| format!("{}: {}", r.key, r.reason.as_deref().unwrap_or(""))).collect();
            findings.push(f);
        }
        if let Some(text) = &dl.reason {
            for r in dead.iter().filter(|r| !r.reason.as_deref().unwrap_or("").contains(text.as_str())) {
                findings.push(Finding::new(
                    CheckKind::DeadLetters,
                    format!(
                        "dead letter {}: reason `{}` does not mention `{text}`",
                        r.key,
                        r.reason.as_deref().unwrap_or("")
                    ),
                ));
            }
        }
    }

    for (system, want) in &spec.refreshes {
        let got = run.refreshes.get(system).copied().unwrap_or(0);
        if got != *want {
            findings.push(Finding::new(
                CheckKind::Refreshes,
                format!("expected {want} {system} credential refreshes, got {got}"),
            ));
        }
    }

    for w in &spec.waits {
        let matching: Vec<_> = run
            .waits
            .iter()
            .filter(|x| {
                x.system == w.system.value
                    && x.before_attempt == w.before_attempt
                    && w.record.as_ref().is_none_or(|r| *r == x.record)
            })
            .collect();
        let describe = harness_core::duration::format;
        if matching.is_empty() {
            let mut f = Finding::new(
                CheckKind::Waits,
                format!("expected a wait before {} attempt {}, but there was none", w.system, w.before_attempt),
            );
            f.details = run
                .waits
                .iter()
                .map(|x| {
                    format!(
                        "{} {} before attempt {}: waited {} ({})",
                        x.record,
                        x.system,
                        x.before_attempt,
                        describe(x.duration),
                        x.reason
                    )
                })
                .collect();
            findings.push(f);
            continue;
        }
        for x in matching {
            if w.at_least.is_some_and(|min| x.duration < min) || w.at_most.is_some_and(|max| x.duration > max) {
                let bounds = match (w.at_least, w.at_most) {
                    (Some(a), Some(b)) => format!("between {} and {}", describe(a), describe(b)),
                    (Some(a), None) => format!("at least {}", describe(a)),
                    (None, Some(b)) => format!("at most {}", describe(b)),
                    (None, None) => String::new(),
                };
                findings.push(Finding::new(
                    CheckKind::Waits,
                    format!(
                        "{} waited {} before attempt {} ({}); expected {bounds}",
                        w.system,
                        describe(x.duration),
                        x.before_attempt,
                        x.reason
                    ),
                ));
            }
        }
    }
}
