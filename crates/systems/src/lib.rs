//! The systems the harness impersonates, as a registry: built-in Shopify, NetSuite and Peoplevox
//! behind one [`System`] trait, the [`Catalog`] of their recorded versions (system files, request
//! schemas, recordings, stub sets), and the client side built-in flows use to talk to them
//! ([`client`]).

#![allow(clippy::result_large_err)]

mod catalog;
pub mod client;
mod crypto;
mod declared;
mod netsuite;
mod peoplevox;
mod registry;
mod shopify;
mod system;
pub mod tls;

pub use catalog::{CARRIED, Catalog, Endpoint, Listed, Origin, Migrate, Migration, PayloadField, PayloadOffence, Recording, Schema, StubSet, SystemVersion, Violation, endpoint_scope};
pub use registry::Registry;
pub use client::AuthScheme;
pub use system::{Answer, MockSetup, Soap, System, http_answer, webhook_payload};
