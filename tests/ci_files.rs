//! The CI files `init` writes: each installs the example program's runtime, runs two shares with
//! a merge job, publishes the JUnit report, and is valid against its CI's published schema.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BUNDLED_DAY, harness_on};

/// `check-jsonschema --builtin-schema SCHEMA FILE` (the schemas GitHub and GitLab publish, as the
/// package carries them); `None` when the tool is not installed.
fn schema_check(schema: &str, file: &Path) -> Option<(bool, String)> {
    let out = Command::new("check-jsonschema").args(["--builtin-schema", schema]).arg(file).output().ok()?;
    Some((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

#[test]
fn generated_ci_installs_the_runtime_shards_merges_and_matches_the_published_schemas() {
    for (language, github_runtime, gitlab_runtime) in [
        ("node", "actions/setup-node@v4", "apt-get install -y -qq --no-install-recommends nodejs"),
        ("python", "actions/setup-python@v5", "--no-install-recommends python3"),
    ] {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join(".git")).unwrap();
        // The files are written whatever the first run finds (its runtime may be missing here).
        let init = harness_on(BUNDLED_DAY, repo.path(), &["init", "--language", language]);
        assert!(init.code == 0 || init.code == 1, "{}{}", init.stdout, init.stderr);
        let github_file = repo.path().join(".github/workflows/harness.yml");
        let gitlab_file = repo.path().join(".gitlab-ci.yml");
        let github = std::fs::read_to_string(&github_file).unwrap();
        let gitlab = std::fs::read_to_string(&gitlab_file).unwrap();
        assert!(github.contains(github_runtime) && gitlab.contains(gitlab_runtime), "{language}:\n{github}\n{gitlab}");
        assert!(github.contains("share: [1, 2]") && github.contains("--partition ${{ matrix.share }}/2"), "{github}");
        assert!(
            github.contains("harness merge harness-share-*.json --junit harness-junit.xml")
                && github.contains("mikepenz/action-junit-report@v5"),
            "{github}"
        );
        assert!(
            github.contains("key: harness-${{ runner.os }}-${{ env.HARNESS_VERSION }}"),
            "the binary is cached: {github}"
        );
        assert!(gitlab.contains("parallel: 2") && gitlab.contains("--partition auto"), "{gitlab}");
        assert!(
            gitlab.contains("harness merge harness-share-*.json --junit harness-junit.xml")
                && gitlab.contains("junit: harness-junit.xml"),
            "{gitlab}"
        );
        assert!(
            gitlab.contains("snapshots/**/*.snap.new") && github.contains("snapshots/**/*.snap.new"),
            "pending snapshots are kept"
        );
        assert!(
            gitlab.contains("- harness.html") && github.contains("            harness.html"),
            "the HTML page is kept"
        );
        for (schema, file) in [("vendor.github-workflows", &github_file), ("vendor.gitlab-ci", &gitlab_file)] {
            match schema_check(schema, file) {
                Some((valid, output)) => assert!(valid, "{language}: {} against {schema}:\n{output}", file.display()),
                // .ci/run installs it; without it, the rest of this test still ran.
                None => {
                    eprintln!("check-jsonschema not installed: the schema check of the generated CI files is skipped")
                }
            }
        }
    }
}
