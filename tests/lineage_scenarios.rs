//! Lineage traces a flow only on the scenarios where it delivers, and says which it left out; the
//! variants it runs are built by the plan like every case (signature by the answering version,
//! the scenario's header overrides kept).

mod common;

use common::{BUNDLED_DAY, bundled_project, harness_on, repo};
use harness::{Project, plan};
use serde_json::Value;

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn a_variant_keeps_the_scenarios_header_overrides_and_is_signed_anew_otherwise() {
    let project = Project::open(&repo()).unwrap();
    let files = [
        repo().join("scenarios/order-service/bad-hmac.yaml"),
        repo().join("scenarios/order-service/simple-order.yaml"),
    ];
    let plan = plan::build(&project, &files).unwrap();
    let [bad, good] = [&plan.cases[0], &plan.cases[1]];
    assert!(bad.id.ends_with("bad-hmac") && good.id.ends_with("simple-order"));

    let mut payload = good.trigger.json.as_deref().unwrap().clone();
    payload["email"] = Value::from("someone.else@example.com");
    for case in [bad, good] {
        let varied = plan.vary(&project, case, &payload).unwrap().expect("a webhook case has a payload");
        assert_eq!(varied.id, case.id);
        assert_eq!(varied.trigger.json.as_deref(), Some(&payload));
        assert_eq!(serde_json::from_slice::<Value>(&varied.trigger.body).unwrap(), payload);
        // Signed and labelled as the case itself is: by the version that answers.
        let version = header(&case.trigger.headers, "X-Shopify-API-Version").unwrap();
        assert_eq!(header(&varied.trigger.headers, "X-Shopify-API-Version"), Some(version));
        let (was, now) = (
            header(&case.trigger.headers, "X-Shopify-Hmac-Sha256"),
            header(&varied.trigger.headers, "X-Shopify-Hmac-Sha256"),
        );
        if case.id.ends_with("bad-hmac") {
            assert_eq!(now, Some("bm90IHRoZSBzaWduYXR1cmU="), "the scenario's own header stays");
        } else {
            assert!(now.is_some() && now != was, "another body, another signature");
        }
        assert_eq!(varied.stubs.len(), case.stubs.len());
    }
}

#[test]
fn lineage_of_the_service_flow_leaves_out_its_bad_signature_scenario_and_says_so() {
    let dir = bundled_project();
    let out = harness_on(
        BUNDLED_DAY,
        dir.path(),
        &["lineage", "--flow", "order-service", "--scenarios", "20", "--json", "-"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lineage: Value = serde_json::from_str(&out.stdout).unwrap();
    let flow = &lineage[0];
    let traced: Vec<&str> = flow["ablated"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(traced.contains(&"order-service/simple-order"), "{traced:?}");
    assert!(!traced.contains(&"order-service/bad-hmac"), "{traced:?}");
    let skipped: Vec<(String, String)> = flow["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["scenario"].as_str().unwrap().into(), s["why"].as_str().unwrap().into()))
        .collect();
    assert!(skipped.contains(&("order-service/bad-hmac".into(), "sends nothing to its targets".into())), "{skipped:?}");
    assert!(
        skipped.contains(&("order-service/crash-mid-order".into(), "expects the flow to fail".into())),
        "{skipped:?}"
    );
    // What the service reads is found by tracing its values into what it sent.
    let fields: Vec<String> = flow["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["system"].as_str().unwrap(), f["field"].as_str().unwrap()))
        .collect();
    for field in ["netsuite body.email", "netsuite body.otherRefNum", "netsuite body.item.items[].quantity"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing from {fields:?}");
    }
}
