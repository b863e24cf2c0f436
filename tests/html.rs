//! The HTML pages of a run and of the analyses (impact, reconcile): self-contained, and what a
//! browser renders of them shows the failing scenario's diff or the analysis's findings (checked
//! in headless Chromium, Debian's `chromium`, which .ci/run installs).

mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_tree, harness, harness_with, project, repo};

/// The DOM Chromium renders from `page` once its script ran; `None` when Chromium is not installed.
fn rendered(page: &Path, profile: &Path) -> Option<String> {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .ok()?;
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_page_is_self_contained_and_renders_the_failing_diff_first() {
    let p = project(&["fixtures/failing"]);
    let out = harness(p.path(), &["run", "--color", "never", "--html", "report/run.html", "--json", "report/run.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let page = p.path().join("report/run.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains(" src=") && !html.contains("<link") && !html.contains("@import"),
        "nothing is fetched:\n{html}"
    );
    assert!(html.find("orders/simple").unwrap() < html.find("orders/unknown-sku").unwrap(), "the failure comes first");
    // The same page from the merged report of the one shard.
    let merged = harness(p.path(), &["merge", "report/run.json", "--html", "report/merged.html"]);
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    assert_eq!(std::fs::read_to_string(p.path().join("report/merged.html")).unwrap(), html);

    let profile = tempfile::tempdir().unwrap();
    let Some(dom) = rendered(&page, profile.path()) else {
        eprintln!("chromium not installed: the rendering check is skipped (.ci/run installs Debian's chromium)");
        return;
    };
    assert!(dom.contains("data-ready=\"yes\""), "the page's script ran:\n{dom}");
    assert!(
        dom.contains(r#"<span class="del">-    "request": "POST /services/rest/record/v1/salesOrder",</span>"#),
        "the diff is rendered:\n{dom}"
    );
    assert!(dom.contains("<span id=\"shown\">2</span>"), "the filter counted the scenarios:\n{dom}");
    let exchange = "<tr><td>netsuite</td><td><code>POST /services/rest/query/v1/suiteql</code></td><td>200</td><td>customer 77</td></tr>";
    assert!(dom.contains(exchange), "the scenario's requests, with what answered them:\n{dom}");
}

/// The page `harness ARGS --html report/page.html` writes in `dir` (exit 1: it has findings), and
/// what Chromium renders of it (`None` without Chromium).
fn analysis_page(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let mut args = args.to_vec();
    args.extend(["--color", "never", "--html", "report/page.html"]);
    let out = harness_with(dir, &args, env);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let page = dir.join("report/page.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains(" src=") && !html.contains("<link") && !html.contains("@import"),
        "nothing is fetched:\n{html}"
    );
    let profile = tempfile::tempdir().unwrap();
    let dom = rendered(&page, profile.path());
    if dom.is_none() {
        eprintln!("chromium not installed: the rendering check is skipped (.ci/run installs Debian's chromium)");
    }
    dom
}

#[test]
fn the_impact_page_renders_each_flows_breaking_fields_with_their_cause() {
    let p = project(&["fixtures/impact"]);
    assert_eq!(harness(p.path(), &["run", "--accept"]).code, 0);
    let Some(dom) = analysis_page(
        p.path(),
        &["impact", "--system", "netsuite", "--from", "2025.1", "--to", "2026.1", "-j", "2"],
        &[],
    ) else {
        return;
    };
    assert!(dom.contains("data-ready=\"yes\""), "the page's script ran:\n{dom}");
    assert!(
        dom.contains("<h1>harness impact netsuite 2025.1 → 2026.1: <span class=\"failed\">failed</span></h1>"),
        "the summary first:\n{dom}"
    );
    assert!(
        dom.contains("netsuite POST /services/rest/record/v1/salesOrder body <span class=\"meta\">orders</span>"),
        "the field, by flow:\n{dom}"
    );
    assert!(dom.contains("<b>breaking</b>: breaking: netsuite request POST /services/rest/record/v1/salesOrder: `memo` removed in 2026.1"), "its cause:\n{dom}");
    assert!(
        dom.contains(
            "<b>not verified</b>: not verified: no knowledge of changes to POST /services/rest/query/v1/suiteql"
        ),
        "what is not verified:\n{dom}"
    );
}

#[test]
fn the_reconcile_page_renders_each_relations_findings_by_join_key() {
    let p = project(&[]);
    std::fs::create_dir_all(p.path().join("reconcile")).unwrap();
    copy_tree(&repo().join("reconcile"), &p.path().join("reconcile"));
    let args = ["reconcile", "--since", "2026-12-06T00:00Z", "--until", "2026-12-07T00:00Z"];
    let Some(dom) = analysis_page(p.path(), &args, &[("HARNESS_NOW", "2026-12-07T08:00:00Z")]) else { return };
    assert!(dom.contains("data-ready=\"yes\""), "the page's script ran:\n{dom}");
    assert!(dom.contains("<b>missing</b>: 1 missing finding(s) in netsuite sales orders</p>\n<pre>netsuite sales orders: missing #1042 in shopify but not in netsuite"), "the missing order by its key:\n{dom}");
    assert!(
        dom.contains(
            "<pre>peoplevox order lines: field differs #1101 lines 2 line(s) in shopify, 1 in peoplevox</pre>"
        ),
        "the differing field by its key:\n{dom}"
    );
}
