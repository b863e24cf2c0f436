//! Personal data inside free text: `lint` reports each planted value where it is, and what
//! `import` writes keeps none of them and lints clean. Every value is planted here and fake: UK
//! drama numbers (Ofcom), names made up for the test, the example shapes of a Social Security
//! and a National Insurance number.

mod common;

use common::{bundled_project, harness, project};
use serde_json::json;

/// Planted values, built from parts so no whole one sits in the source as data.
fn planted() -> [String; 6] {
    [
        ["Tom", "Harhar"].join(" "),
        ["+44 7700", "900461"].join(" "),
        ["020", "7946", "0321"].join(" "),
        ["4 Privet", "Drive"].join(" "),
        ["078", "05", "1120"].join("-"),
        ["tom.harhar", "gmail.com"].join("@"),
    ]
}

fn memo() -> serde_json::Value {
    let [name, mobile, landline, street, ssn, email] = planted();
    json!({"id": "7001", "tranId": "SO7001", "currency": {"id": "1", "refName": "British pound"},
        "memo": format!("Call {name} on {mobile} before 5pm; SSN {ssn}; {email}"),
        "custbody_gift": json!({"to": "Mrs Quenby", "phone": landline, "address1": street}).to_string()})
}

#[test]
fn lint_reports_personal_data_in_free_text_and_csv_address_columns() {
    let p = project(&[]);
    let [name, mobile, landline, street, ssn, _] = planted();
    let dir = p.path().join("mocks/netsuite/2025.1/recorded");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("memo.json"), serde_json::to_string_pretty(&json!({"body": memo()})).unwrap()).unwrap();
    std::fs::write(
        dir.join("pick.csv"),
        format!("Code,Name,Address,Notes\nSO-1001,Blue Mug,\"{street}\",\"ring {landline} first\"\n"),
    )
    .unwrap();
    let out = harness(p.path(), &["lint"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let shown = format!("{}{}", out.stdout, out.stderr);
    for (what, file) in [
        ("a person's name after `Call`: `Tom …`", "memo.json"),
        ("phone number: `+44 …`", "memo.json"),
        ("Social Security number `078-…`", "memo.json"),
        ("a person's name after `Mrs`: `Quen…`", "memo.json"),
        ("phone number: `020 …`", "pick.csv"),
    ] {
        assert!(shown.lines().any(|l| l.contains(file) && l.contains(what)), "{what} in {file}:\n{shown}");
    }
    for whole in [&name, &mobile, &ssn] {
        assert!(!shown.contains(whole.as_str()), "lint shows at most four characters:\n{shown}");
    }
}

#[test]
fn import_replaces_personal_data_in_free_text_and_lints_clean() {
    let p = project(&["fixtures/recording"]);
    std::fs::write(p.path().join("salesorder-7001.json"), memo().to_string()).unwrap();
    let out = harness(p.path(), &["import", "salesorder-7001.json", "--system", "netsuite", "--version", "2025.1"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    std::fs::remove_file(p.path().join("salesorder-7001.json")).unwrap();
    let written =
        std::fs::read_to_string(p.path().join("mocks/netsuite/2025.1/imported/salesorder-7001.json")).unwrap();
    for value in planted().iter().map(String::as_str).chain(["Quenby", "Harhar", "7946 0321", "Privet"]) {
        assert!(!written.contains(value), "{value} in\n{written}");
    }
    assert!(
        written.contains("British pound") && written.contains("before 5pm"),
        "business values and prose stay:\n{written}"
    );
    let lint = harness(p.path(), &["lint"]);
    assert_eq!(lint.code, 0, "what import writes lints clean:\n{}{}", lint.stdout, lint.stderr);
}

/// The bundled project's recordings are prose and business data: none of it may read as personal
/// data (a label inside a word, "since 2024-10", once did).
#[test]
fn the_bundled_project_lints_clean() {
    let p = bundled_project();
    let out = harness(p.path(), &["lint"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
