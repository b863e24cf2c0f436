//! Data loss from answers: a `bind:` reading a path that a stubbed answer lacks is a finding, as
//! a mapping reading a field the trigger lacks is.

mod common;

use common::{harness, project};

#[test]
fn a_bind_reading_what_the_answer_lacks_is_silent_data_loss() {
    let p = project(&[]);
    let flow = p.path().join("flows/orders.yaml");
    let text = std::fs::read_to_string(&flow).unwrap();
    let with_bind = text.replace(
        "      customer_id: .items[0].id\n",
        "      customer_id: .items[0].id\n      channel: .items[0].custcol_does_not_exist\n",
    );
    assert_ne!(with_bind, text);
    std::fs::write(&flow, with_bind).unwrap();
    let out = harness(p.path(), &["run", "--color", "never", "--no-times", "orders/simple"]);
    assert_eq!(out.code, 1, "strict by default: {}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("$channel would be null: step find-customer binds it from the netsuite answer's `items[0].custcol_does_not_exist`"), "{all}");
    assert!(!all.contains("$customer_id would be null"), "a path the answer has is no finding: {all}");

    let lenient = harness(p.path(), &["run", "--color", "never", "--no-times", "--no-strict", "orders/simple"]);
    assert_eq!(lenient.code, 0, "a warning with --no-strict: {}{}", lenient.stdout, lenient.stderr);
}
