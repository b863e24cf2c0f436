//! Late traffic: requests that reached a service's mocks after the scenario they belong to had
//! ended and been judged. They are answered 503 and kept, and fail the scenario that runs next on
//! the same service (the one that ended is already reported), naming the one they came after:
//! its snapshot lacks them, and a settle window shorter than the service's own timers shows here.

use super::{CheckKind, Context, Finding};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    for late in &cx.exec.run.late {
        let mut f = Finding::new(CheckKind::Late, format!("{}: `{}` arrived {} ms after the scenario `{}` ended", late.system, late.request, late.after.as_millis(), late.scenario));
        f.details.push(format!("the service was still working on `{}` when it was judged: its settle window is shorter than the service's own waits (raise `settle:`)", late.scenario));
        findings.push(f);
    }
}
