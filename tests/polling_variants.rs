//! A variant of a polling flow's case (what impact's and lineage's tracing run) is answered in the
//! encoding of the recorded answer it varies: a SOAP answer (Peoplevox's `GetReportData`) stays a
//! SOAP envelope with its rows as CSV, as the flow reads the recorded one, rather than turning
//! into JSON it cannot read.

mod common;

use common::{available, project};
use harness::{Project, plan};
use serde_json::Value;

#[test]
fn a_variant_of_a_soap_getdata_answer_is_delivered_as_soap() {
    let p = project(&["fixtures/stock"]);
    let project = Project::open(p.path()).unwrap();
    let plan = plan::build(&project, &[p.path().join("scenarios/stock/nightly.yaml")]).unwrap();
    let case = &plan.cases[0];
    let recorded = case.trigger.json.as_deref().expect("the rows read from the recorded answer").clone();
    assert_eq!(recorded["rows"][0]["Item code"], "TEE-M-NAVY");

    // One value changed, one column taken away from a row: what tracing does.
    let mut payload = recorded.clone();
    payload["rows"][0]["Available"] = Value::from("99");
    payload["rows"][2].as_object_mut().unwrap().remove("Available");
    let varied = plan.vary(&project, case, &payload).unwrap().expect("a polling case has a payload");

    let answer = |c: &plan::Case| {
        let stubs = &c.stubs[&harness::SystemId::new("peoplevox").unwrap()];
        let stub = stubs.iter().find(|s| s.name == "trigger").expect("the poll's stub");
        String::from_utf8(stub.responses[0].body.to_vec()).unwrap()
    };
    let body = answer(&varied);
    assert!(body.starts_with("<?xml") && body.contains("<GetReportDataResult>"), "{body}");
    let detail = "<Detail>Item code,Barcode,On hand,Allocated,Available\n\
                  TEE-M-NAVY,5012345000017,14,2,99\nSOCKS-3PK,5012345000024,1,1,0\nHAT-RED,5012345000031,4,0,</Detail>";
    assert!(body.contains(detail), "{body}");
    assert!(answer(case).contains("TEE-M-NAVY,5012345000017,14,2,12\n"), "the case itself is unchanged");
    // The checks see the rows as the flow reads them from that answer.
    let seen = varied.trigger.json.as_deref().unwrap();
    assert_eq!(seen["rows"][0]["Available"], "99");
    assert_eq!(seen["rows"][2]["Available"], "", "a CSV row has every column");
    assert_eq!(seen["total"], recorded["total"]);
}

/// The job itself reads the variant: the varied row's quantity is what it sets in Shopify.
#[test]
fn the_polling_job_reads_a_varied_soap_answer() {
    if !available("python3") {
        eprintln!("skipped: python3 is not available");
        return;
    }
    let p = project(&["fixtures/stock"]);
    let project = Project::open(p.path()).unwrap();
    let plan = plan::build(&project, &[p.path().join("scenarios/stock/nightly.yaml")]).unwrap();
    let case = &plan.cases[0];
    let mut payload = case.trigger.json.as_deref().unwrap().clone();
    payload["rows"][0]["Available"] = Value::from("99");
    let varied = plan.vary(&project, case, &payload).unwrap().unwrap();
    let runs = harness::evaluate(&project, &plan, &[varied], 1, true).unwrap();
    let shopify = harness::SystemId::new("shopify").unwrap();
    let sent: Vec<String> = runs[0]
        .execution
        .exchanges
        .iter()
        .filter(|e| e.system == shopify)
        .map(|e| String::from_utf8_lossy(&e.request.body).into_owned())
        .collect();
    assert!(sent.iter().any(|b| b.contains("\"available\": 99")), "{sent:?}");
}
