//! The harness's own catalog, built into the binary: for each system and API version its
//! `system.yaml` (rules, endpoints, the fake test account, support window), request schemas and
//! known changes. A project adds to it or overrides it file by file under `mocks/`.

include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));

/// The text of built-in file `system/version/rel`.
pub(crate) fn file(path: &str) -> Option<&'static str> {
    FILES.binary_search_by(|(p, _)| (*p).cmp(path)).ok().map(|i| FILES[i].1)
}

/// Versions of `system` the harness knows by itself.
pub(crate) fn versions(system: &str) -> Vec<&'static str> {
    let prefix = format!("{system}/");
    let mut out: Vec<&'static str> = FILES
        .iter()
        .filter_map(|(p, _)| p.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.strip_suffix("/system.yaml"))
        .filter(|v| !v.contains('/'))
        .collect();
    out.dedup();
    out
}

/// The built-in version a project's `system@version` lays over: the same one, or — for a version
/// newer than any the harness knows — the latest before it, whose rules most likely still hold.
pub(crate) fn base_version(system: &str, version: &str) -> Option<&'static str> {
    versions(system).into_iter().filter(|v| *v <= version).max()
}

/// The built-in file `rel` of `system@version` with the version it comes from: the version's own,
/// else the latest earlier version's — a version's folder holds only what it changed (its
/// `system.yaml`, and schemas that differ from those before it).
pub(crate) fn inherited(system: &str, version: &str, rel: &str) -> Option<(&'static str, &'static str)> {
    let mut versions = versions(system);
    versions.retain(|v| *v <= version);
    versions.into_iter().rev().find_map(|v| file(&format!("{system}/{v}/{rel}")).map(|text| (v, text)))
}

/// Systems the harness has versions of.
pub(crate) fn systems() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = FILES.iter().filter_map(|(p, _)| p.split('/').next()).collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_holds_the_built_in_versions() {
        assert!(FILES.windows(2).all(|w| w[0].0 < w[1].0), "binary search needs the table sorted");
        assert!(versions("shopify").contains(&"2025-01"));
        assert!(file("netsuite/2025.1/system.yaml").is_some_and(|t| t.contains("system: netsuite")));
        assert!(systems().contains(&"peoplevox"));
        assert_eq!(base_version("shopify", "2025-01"), Some("2025-01"));
        assert_eq!(base_version("shopify", "2099-01"), versions("shopify").last().copied());
        assert_eq!(base_version("shopify", "2000-01"), None);
        assert_eq!(base_version("klaviyo", "2025-01-15"), None);
        assert_eq!(
            inherited("netsuite", "2026.2", "schemas/salesOrder.schema.json").map(|(v, _)| v),
            Some("2025.1"),
            "schemas are inherited"
        );
        assert_eq!(inherited("netsuite", "2026.2", "system.yaml").map(|(v, _)| v), Some("2026.2"));
        assert_eq!(
            inherited("shopify", "2022-04", "schemas/graphql-request.schema.json"),
            None,
            "never from a later version"
        );
    }
}
