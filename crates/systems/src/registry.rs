//! The systems a project can use, by id: the built-in ones and those the project declares. Adding
//! a built-in system is its folder and one line in `builtin_systems!` (`lib.rs`); a declared one
//! is a system file with an `api:` block (see [`Registry::for_project`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use std::path::Path;

use harness_core::{Diagnostic, SystemId, did_you_mean};
use harness_redact::TokenShape;
use harness_syntax::Loc;

use crate::System;
use crate::catalog::Catalog;
use crate::declared::Declared;

#[derive(Clone)]
pub struct Registry {
    systems: BTreeMap<SystemId, Arc<dyn System>>,
}

impl Registry {
    /// The systems the harness knows by itself.
    pub fn builtin() -> Registry {
        Registry { systems: crate::builtin_systems().into_iter().map(|s| (s.id().clone(), s)).collect() }
    }

    /// The built-in systems and every one the project declares: a system the harness does not
    /// know whose latest version's system file has an `api:` block.
    pub fn for_project(catalog: &Catalog) -> Result<Registry, Vec<Diagnostic>> {
        let mut registry = Registry::builtin();
        let mut errors = Vec::new();
        for name in catalog.systems() {
            let Ok(id) = SystemId::new(&name) else { continue };
            if registry.contains(&id) {
                continue;
            }
            let Some(latest) = catalog.versions(&id).pop() else { continue };
            match catalog.system(&id, &latest) {
                Ok(version) => {
                    if let Some(api) = &version.api {
                        registry.systems.insert(id.clone(), Arc::new(Declared::new(id, api.clone())));
                    }
                }
                Err(mut ds) => errors.append(&mut ds),
            }
        }
        if errors.is_empty() { Ok(registry) } else { Err(errors) }
    }

    pub fn get(&self, id: &SystemId) -> Option<&Arc<dyn System>> {
        self.systems.get(id)
    }

    /// The system `id` names; the caller has checked that it is registered.
    pub fn system(&self, id: &SystemId) -> &Arc<dyn System> {
        self.systems.get(id).unwrap_or_else(|| panic!("system `{id}` was checked to be registered"))
    }

    pub fn contains(&self, id: &SystemId) -> bool {
        self.systems.contains_key(id)
    }

    /// The system a file names at `id`, or an error located there with the nearest name.
    pub fn lookup(&self, id: &Loc<SystemId>, file: &Path, text: &str) -> Result<&Arc<dyn System>, Diagnostic> {
        self.systems.get(&id.value).ok_or_else(|| self.unknown(id, file, text))
    }

    /// "unknown value `shopfy`", pointing at it, with the system it most likely means.
    pub fn unknown(&self, id: &Loc<SystemId>, file: &Path, text: &str) -> Diagnostic {
        let d = id.error(file, text, format!("unknown value `{}`", id.value));
        match did_you_mean(id.as_str(), self.names()) {
            Some(near) => d.label(format!("did you mean `{near}`?")),
            None => d.help(format!(
                "systems: {} (or declare one: an `api:` block in mocks/<system>/<version>/system.yaml)",
                self.names().join(", ")
            )),
        }
    }

    /// Every registered system, in listing order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn System>> {
        self.systems.values()
    }

    /// The system an exchange with `host` (a port allowed) at `path` went to: the first, in
    /// listing order, that recognises it.
    pub fn recognise(&self, host: &str, path: &str) -> Option<&Arc<dyn System>> {
        let host = host.to_ascii_lowercase();
        let host = host.split(':').next().unwrap_or_default();
        self.all().find(|s| s.recognises(host, path))
    }

    /// The system that sends `text`, a payload on its own: the first, in listing order, that
    /// says it does.
    pub fn sender_of(&self, text: &str) -> Option<&Arc<dyn System>> {
        self.all().find(|s| s.sent(text))
    }

    /// Every system's token shapes, in listing order: what the redactor and the lint look for.
    pub fn token_shapes(&self) -> Vec<TokenShape> {
        self.all().flat_map(|s| s.token_shapes().iter().copied()).collect()
    }

    /// The names of the systems for which `has` holds, sorted.
    pub fn names_where(&self, has: impl Fn(&dyn System) -> bool) -> Vec<&str> {
        self.systems.iter().filter(|(_, s)| has(s.as_ref())).map(|(id, _)| id.as_str()).collect()
    }

    /// Every registered system's name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.systems.keys().map(SystemId::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_is_told_apart_in_listing_order() {
        let registry = Registry::builtin();
        let recognised = |host: &str, path: &str| registry.recognise(host, path).map(|s| s.id().to_string());
        assert_eq!(recognised("ACME.myshopify.com:443", "/x").as_deref(), Some("shopify"));
        assert_eq!(recognised("127.0.0.1:8080", "/admin/api/2026-01/orders.json").as_deref(), Some("shopify"));
        assert_eq!(recognised("1234567.suitetalk.api.netsuite.com", "/x").as_deref(), Some("netsuite"));
        assert_eq!(recognised("qac.peoplevox.net", "/x").as_deref(), Some("peoplevox"));
        assert_eq!(recognised("www.example.org", "/index.html"), None);
        let sender = |text: &str| registry.sender_of(text).map(|s| s.id().to_string());
        assert_eq!(sender(r#"{"order": {"id": 1}, "links": [], "items": []}"#).as_deref(), Some("shopify"));
        assert_eq!(sender(r#"{"links": [], "items": []}"#).as_deref(), Some("netsuite"));
        assert_eq!(sender("<soap:Envelope xmlns=\"http://www.peoplevox.net/\"/>").as_deref(), Some("peoplevox"));
        assert_eq!(sender("[1, 2]"), None);
    }

    #[test]
    fn systems_are_listed_in_the_places_they_declare() {
        let registry = Registry::builtin();
        assert_eq!(registry.all().map(|s| s.id().as_str()).collect::<Vec<_>>(), ["shopify", "netsuite", "peoplevox"]);
        let mut ids: Vec<SystemId> =
            ["acme", "peoplevox", "netsuite", "shopify"].iter().map(|n| SystemId::new(n).unwrap()).collect();
        ids.sort();
        assert_eq!(ids.iter().map(SystemId::as_str).collect::<Vec<_>>(), ["shopify", "netsuite", "peoplevox", "acme"]);
    }

    #[test]
    fn each_system_declares_its_token_shapes() {
        let tokens = harness_redact::TokenShapes::new(&Registry::builtin().token_shapes());
        let token = format!("shpat_{}", "0123456789abcdef".repeat(2));
        let found = harness_redact::lint(&format!("token: {token}\n"), &[], &tokens);
        assert_eq!(found.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(), ["Shopify token `shpa…`"]);
    }

    #[test]
    fn webhooks_signed_by_a_system_verify_with_its_secret() {
        let registry = Registry::builtin();
        let shopify = registry.system(&SystemId::new("shopify").unwrap());
        let version = crate::SystemVersion::for_tests("shopify", "2026-01", &[("app_secret", "app-secret")]);
        let headers = shopify.webhook_headers(&version, "orders/create", b"{\"id\":1}", "e").unwrap();
        assert_eq!(shopify.verify_webhook(&version, &headers, b"{\"id\":1}"), Some(true));
        assert_eq!(shopify.verify_webhook(&version, &headers, b"{\"id\":2}"), Some(false));
        assert_eq!(shopify.verify_webhook(&version, &[], b"{\"id\":1}"), Some(false), "no signature");
        let webhooks = shopify.webhooks().unwrap();
        let topic = headers.iter().find(|(k, _)| k == webhooks.topic_header).map(|(_, v)| v.as_str());
        assert_eq!(topic, Some("orders/create"), "deliveries carry the headers the receiver reads");
        let netsuite = registry.system(&SystemId::new("netsuite").unwrap());
        let version = crate::SystemVersion::for_tests("netsuite", "2026.1", &[]);
        assert_eq!(
            (netsuite.webhooks(), netsuite.verify_webhook(&version, &headers, b"{}")),
            (None, None),
            "signs no deliveries"
        );
    }
}
