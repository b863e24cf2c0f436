//! How a service answered the deliveries of its trigger: the status and body the scenario
//! expects (by default a 2xx), at the attempt it expects (by default the first: a retried
//! delivery means the service answered 5xx or too slowly, and the system sending webhooks would
//! have retried it).

use super::{CheckKind, Context, Finding};

pub(super) fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let expect = cx.case.expect.spec.answer.clone().unwrap_or_default();
    let attempts = expect.attempts.unwrap_or(1);
    let sender = cx
        .registry
        .get(&cx.case.flow.trigger.system)
        .and_then(|s| s.webhooks())
        .map_or_else(String::new, |w| format!(", as {} retries", w.name));
    for answer in &cx.exec.run.answers {
        let got = answer.status.map_or_else(|| answer.body.clone(), |s| format!("{s}"));
        let status_ok = match (expect.status, answer.status) {
            (Some(want), Some(s)) => s == want,
            (None, Some(s)) => (200..300).contains(&s),
            (_, None) => false,
        };
        if !status_ok {
            let want = expect.status.map_or_else(|| "a 2xx".to_string(), |s| s.to_string());
            let mut f = Finding::new(
                CheckKind::Answer,
                format!("{}: the service answered {got}, expected {want}", answer.request),
            );
            f.details = body_detail(&answer.body);
            findings.push(f);
        }
        if let Some(text) = &expect.body
            && !answer.body.contains(text.as_str())
        {
            let mut f = Finding::new(
                CheckKind::Answer,
                format!("{}: the service's answer does not contain `{text}`", answer.request),
            );
            f.details = body_detail(&answer.body);
            findings.push(f);
        }
        if answer.attempts != attempts {
            let why = if answer.attempts > attempts {
                format!(" (it answered 5xx or not in time, and was delivered it again{sender})")
            } else {
                String::new()
            };
            findings.push(Finding::new(
                CheckKind::Answer,
                format!("{}: delivered {} time(s), expected {attempts}{why}", answer.request, answer.attempts),
            ));
        }
    }
}

fn body_detail(body: &str) -> Vec<String> {
    if body.trim().is_empty() { Vec::new() } else { vec![format!("answer: {}", body.trim())] }
}
