//! Whose a request is, when a service's previous scenario may still be sending while the next one
//! runs (a timer of the service's own, longer than the settle window). Each scenario's trigger has
//! distinctive values: its text values of four characters or more with a digit or an `@` (ids,
//! order names, e-mails, SKUs), that the other scenario's trigger does not hold. A request of the
//! running scenario that holds (as a whole word) one of the previous scenario's distinctive values
//! and none of its own is the previous one's late traffic: taken out of this scenario's traffic
//! and failing the previous one. One holding values of both cannot be told apart: it stays, and
//! fails both. Once the previous scenario is seen sending during this one, this one's requests
//! that hold no value of either trigger (a token call) cannot be told apart either: they fail
//! this scenario, so neither verdict rests on a guess.

use std::collections::BTreeSet;
use std::time::Instant;

use harness_core::Exchange;
use harness_mock::{Arrival, ExchangeLog, LateRequest};
use serde_json::Value;

use crate::TriggerInput;

/// A scenario's trigger as its traffic is told apart.
pub(super) struct Marks {
    pub(super) id: String,
    /// Everything of the trigger as text: its body and parameters.
    text: String,
    values: BTreeSet<String>,
}

/// Requests listed in a doubt, at most.
const LISTED: usize = 3;

impl Marks {
    pub(super) fn of(id: &str, input: &TriggerInput) -> Marks {
        let mut values = BTreeSet::new();
        if let Some(json) = &input.json {
            leaves(json, &mut values);
        }
        values.extend(input.params.values().filter(|v| distinctive(v)).cloned());
        let params = input.params.values().map(String::as_str).collect::<Vec<_>>().join("\n");
        Marks { id: id.to_string(), text: format!("{}\n{params}", String::from_utf8_lossy(&input.body)), values }
    }

    /// Its values that `other`'s trigger does not hold.
    fn apart_from<'a>(&'a self, other: &Marks) -> Vec<&'a str> {
        self.values.iter().map(String::as_str).filter(|v| !holds(&other.text, v)).collect()
    }
}

/// What a scenario's run found of the previous one's traffic.
#[derive(Default)]
pub(super) struct Sorted {
    /// The previous scenario's requests (taken out of this one's log), and those of unknown owner.
    pub(super) late: Vec<LateRequest>,
    /// Why this scenario's own verdict cannot be trusted, one line each.
    pub(super) doubts: Vec<String>,
}

/// Sort the requests `log` holds (this scenario's, `now`, which started at `started`) from those
/// of `before`, which ended at `ended` on the same service.
pub(super) fn sort(log: &ExchangeLog, before: &Marks, ended: Instant, now: &Marks, started: Instant) -> Sorted {
    let (theirs, ours) = (before.apart_from(now), now.apart_from(before));
    if theirs.is_empty() {
        return Sorted::default();
    }
    let owner = |e: &Exchange| {
        let text = text(e);
        let find = |values: &[&str]| values.iter().find(|v| holds(&text, v)).map(|v| v.to_string());
        (find(&theirs), find(&ours))
    };
    let mut sorted = Sorted::default();
    let after = |e: &Exchange| (started + e.at).saturating_duration_since(ended);
    let late = |e: &Exchange, arrival| LateRequest {
        scenario: before.id.clone(),
        system: e.system.clone(),
        request: e.request.line(),
        after: after(e),
        arrival,
    };
    let mut unmarked = Vec::new();
    log.inspect(|all| {
        for e in all {
            match owner(e) {
                (Some(carries), Some(theirs)) => {
                    sorted.doubts.push(format!(
                        "{}: `{}` holds `{carries}` of the trigger of `{}` (which ran before on this service, and was still sending) and `{theirs}` of this one's: whose it is cannot be told",
                        e.system,
                        e.request.line(),
                        before.id
                    ));
                    let during = now.id.clone();
                    sorted.late.push(late(e, Arrival::Ambiguous { during, carries, theirs }));
                }
                (None, None) => unmarked.push(format!("{}: `{}`", e.system, e.request.line())),
                _ => {}
            }
        }
    });
    let taken = log.extract(|e| matches!(owner(e), (Some(_), None)));
    for e in &taken {
        let carries = owner(e).0.expect("picked for it");
        sorted.late.push(late(e, Arrival::During { during: now.id.clone(), carries }));
    }
    if !taken.is_empty() && !unmarked.is_empty() {
        let more = unmarked.len().saturating_sub(LISTED);
        unmarked.truncate(LISTED);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        sorted.doubts.push(format!(
            "`{}`, which ran before on this service, was still sending while this scenario ran: {}{more} hold no value of either trigger, and whose they are cannot be told",
            before.id,
            unmarked.join(", ")
        ));
    }
    sorted.late.sort_by_key(|l| l.after);
    sorted
}

/// What a request says, as its values are looked for: its path and query (also decoded) and body.
fn text(e: &Exchange) -> String {
    let r = &e.request;
    let decoded = harness_core::encoding::decode(&format!("{}?{}", r.path, r.query));
    format!("{}?{}\n{decoded}\n{}", r.path, r.query, String::from_utf8_lossy(&r.body))
}

/// A value that names one record rather than a kind of thing: four characters or more, with a
/// digit or an `@`.
fn distinctive(value: &str) -> bool {
    value.chars().count() >= 4 && value.chars().any(|c| c.is_ascii_digit() || c == '@')
}

fn leaves(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if distinctive(s) => {
            into.insert(s.clone());
        }
        Value::Number(n) if distinctive(&n.to_string()) => {
            into.insert(n.to_string());
        }
        Value::Array(items) => items.iter().for_each(|v| leaves(v, into)),
        Value::Object(fields) => fields.values().for_each(|v| leaves(v, into)),
        _ => {}
    }
}

/// Whether `text` holds `value` as a whole word: not inside a longer number or name.
fn holds(text: &str, value: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(value).any(|(at, _)| {
        let (before, after) = (text[..at].chars().next_back(), text[at + value.len()..].chars().next());
        let joined_before = word(before) && value.starts_with(char::is_alphanumeric);
        let joined_after = word(after) && value.ends_with(char::is_alphanumeric);
        !joined_before && !joined_after
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn input(json: Value) -> TriggerInput {
        TriggerInput {
            body: bytes::Bytes::from(json.to_string()),
            json: Some(std::sync::Arc::new(json)),
            headers: Vec::new(),
            params: Default::default(),
            times: 1,
        }
    }

    fn request(log: &ExchangeLog, path: &str, body: &str) {
        log.push(super::super::testing::exchange(path, body, Duration::from_millis(40)));
    }

    #[test]
    fn values_match_whole_words_only() {
        assert!(holds("ref SHOPIFY-1001 x", "1001") && holds("{\"name\":\"#1001\"}", "#1001"));
        assert!(!holds("11001", "1001") && !holds("10012", "1001") && !holds("x#10012", "#1001"));
        assert!(distinctive("#1001") && distinctive("a@b.c") && !distinctive("paid") && !distinctive("123"));
    }

    #[test]
    fn the_previous_scenarios_request_is_taken_out_and_an_ambiguous_one_fails_both() {
        let a = Marks::of(
            "a",
            &input(serde_json::json!({"name": "#1001", "email": "ann@example.org", "currency": "EUR2"})),
        );
        let b = Marks::of(
            "b",
            &input(serde_json::json!({"name": "#1002", "email": "bob@example.org", "currency": "EUR2"})),
        );
        let log = ExchangeLog::new();
        request(&log, "/despatches", "<reference>#1001</reference>");
        request(&log, "/salesOrder", "{\"externalId\": \"#1002\", \"currency\": \"EUR2\"}");
        request(&log, "/both", "#1001 and bob@example.org");
        request(&log, "/token", "grant");
        let (ended, started) = (Instant::now(), Instant::now() + Duration::from_millis(300));
        let sorted = sort(&log, &a, ended, &b, started);
        let kept: Vec<String> = log.take().into_iter().map(|e| e.request.path).collect();
        assert_eq!(kept, ["/salesOrder", "/both", "/token"], "only what holds a's values alone leaves b's traffic");
        assert_eq!(sorted.late.len(), 2);
        assert_eq!(sorted.late[0].scenario, "a");
        assert!(sorted.late[0].after >= Duration::from_millis(340));
        assert!(
            sorted.late.iter().any(|l| matches!(&l.arrival, Arrival::During { carries, .. } if carries == "#1001"))
        );
        assert!(
            sorted
                .late
                .iter()
                .any(|l| matches!(&l.arrival, Arrival::Ambiguous { theirs, .. } if theirs == "bob@example.org"))
        );
        assert_eq!(sorted.doubts.len(), 2, "{:?}", sorted.doubts);
        assert!(sorted.doubts[1].contains("`POST /token`"), "{:?}", sorted.doubts);
    }

    #[test]
    fn without_the_previous_scenarios_values_everything_stays() {
        let a = Marks::of("a", &input(serde_json::json!({"name": "#1001"})));
        let b = Marks::of("b", &input(serde_json::json!({"name": "#1002"})));
        let log = ExchangeLog::new();
        request(&log, "/token", "grant");
        request(&log, "/salesOrder", "#1002");
        let sorted = sort(&log, &a, Instant::now(), &b, Instant::now());
        assert!(sorted.late.is_empty() && sorted.doubts.is_empty());
        assert_eq!(log.take().len(), 2);
    }
}
