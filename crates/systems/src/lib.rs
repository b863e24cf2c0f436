//! The systems the harness impersonates, as a registry: built-in Shopify, NetSuite and Peoplevox
//! behind one [`System`] trait, the [`Catalog`] of their recorded versions (system files, request
//! schemas, recordings, stub sets), and the client side built-in flows use to talk to them
//! ([`client`]).

pub mod account;
mod catalog;
pub mod client;
mod crypto;
mod declared;
pub mod records;
mod registry;
mod system;
pub mod tls;

/// Declares the built-in systems' modules and [`builtin_systems`], which makes one of each.
macro_rules! builtin_systems {
    ($($module:ident::$system:ident),* $(,)?) => {
        $(mod $module;)*

        /// A new instance of every built-in system, for [`Registry::builtin`].
        fn builtin_systems() -> Vec<std::sync::Arc<dyn System>> {
            vec![$(std::sync::Arc::new($module::$system::new())),*]
        }
    };
}

// The built-in systems. Each is a folder of its own, `src/<system>/` (its catalog files in its
// `catalog/`), and one line here: everything the harness knows about it is behind the `System`
// trait.
builtin_systems![shopify::Shopify, netsuite::NetSuite, peoplevox::Peoplevox,];

pub use catalog::{
    CARRIED, CARRIED_LIST, Catalog, Endpoint, Listed, Migrate, Migration, Origin, OtherVersion, PayloadField,
    PayloadOffence, Recording, Schema, StubSet, SystemVersion, Violation, carried_line, endpoint_scope,
};
pub use client::{AuthError, AuthScheme};
pub use registry::Registry;
pub use system::{Answer, MockSetup, Soap, StateError, System, Webhooks, http_answer, webhook_payload};
