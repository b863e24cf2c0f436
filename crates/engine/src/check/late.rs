//! Late traffic: requests that reached a service's mocks after the scenario they belong to had
//! ended and been judged. They are answered 503 and kept, and fail the scenario that runs next on
//! the same service (the one that ended is already reported), naming the one they came after:
//! its snapshot lacks them, and a settle window shorter than the service's own timers shows here.
//! What arrives after a job's last case fails that case itself, at the end of the run.

use harness_mock::LateRequest;

use super::{CheckKind, Context, Finding};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    findings.extend(cx.exec.run.late.iter().map(finding));
}

/// The finding a late request makes, in whichever scenario reports it.
pub(crate) fn finding(late: &LateRequest) -> Finding {
    let mut f = Finding::new(
        CheckKind::Late,
        format!(
            "{}: `{}` arrived {} ms after the scenario `{}` ended",
            late.system,
            late.request,
            late.after.as_millis(),
            late.scenario
        ),
    );
    f.details.push(format!("the service was still working on `{}` when it was judged: its settle window is shorter than the service's own waits (raise `settle:`)", late.scenario));
    f
}
