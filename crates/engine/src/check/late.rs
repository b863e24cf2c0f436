//! Late traffic: requests that reached a service's mocks after the scenario they belong to had
//! ended. They fail that scenario, whose verdict the run reports only once its late window has
//! closed (the runner): what arrived before the next scenario on the service started (answered
//! 503), what the next one received carrying the ended one's distinctive values (taken out of its
//! traffic, so its snapshot lacks them), what came after the last scenario the service ran. A
//! request that cannot be told apart fails the scenario it may belong to as well (the run's
//! doubts). Here: what the run of the case itself found of its own (an earlier attempt's traffic).

use harness_mock::{Arrival, LateRequest};

use super::{CheckKind, Context, Finding};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let run = &cx.exec.run;
    findings.extend(run.late.iter().filter(|l| l.scenario == cx.case.id).map(finding));
    findings.extend(run.doubts.iter().map(|d| Finding::new(CheckKind::Late, d.clone())));
}

/// The finding a late request makes in the scenario it fails.
pub(crate) fn finding(late: &LateRequest) -> Finding {
    let when = match &late.arrival {
        Arrival::Between => "before the next scenario on its service started".to_string(),
        Arrival::AfterLast => "after the last scenario its service ran".to_string(),
        Arrival::During { during, carries } => {
            format!("while `{during}` ran on its service; it holds `{carries}`, of this scenario's trigger only")
        }
        Arrival::Ambiguous { during, carries, theirs } => format!(
            "while `{during}` ran on its service; it holds `{carries}` of this scenario's trigger and `{theirs}` of `{during}`'s: whose it is cannot be told"
        ),
    };
    let mut f = Finding::new(
        CheckKind::Late,
        format!(
            "{}: `{}` arrived {} ms after the scenario ended ({when})",
            late.system,
            late.request,
            late.after.as_millis()
        ),
    );
    f.details.push(
        "the service was still working on this scenario when it was judged: its settle window is shorter than the service's own waits (raise `settle:`)"
            .to_string(),
    );
    f
}

/// The finding of a case whose late window was still open when the run was interrupted: what its
/// service might still have sent for it was not waited for, so its verdict is not complete — it
/// fails (and is not accepted) rather than pass on half the evidence.
pub(crate) fn cut_short(signal: &str) -> Finding {
    let mut f = Finding::new(
        CheckKind::Late,
        format!("not judged to the end: {signal} stopped the run while its service could still send traffic for it"),
    );
    f.details.push(
        "its late window (until the next scenario on its service ended, or the run's end) was cut short; the findings above are what was known then — run it again to judge it".to_string(),
    );
    f
}
