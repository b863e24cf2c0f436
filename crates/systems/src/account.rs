//! An account's own record definitions, for `harness schemas import`: what a system whose
//! accounts describe their records (custom fields included) implements ([`AccountSchemas`],
//! behind [`System::account_schemas`]). Finding the records the flows send through it, writing
//! the extensions into the project and reporting stay in the scaffold crate, which knows no system.
//!
//! [`System::account_schemas`]: crate::System::account_schemas

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use harness_core::Diagnostic;
use serde_json::{Map, Value};

use crate::SystemVersion;

/// A system whose accounts describe their own records in a document the harness reads, from a
/// file or fetched from the account.
pub trait AccountSchemas: Send + Sync {
    /// The record types a file of the flows or of the snapshots sends, lower case.
    fn records_sent(&self, text: &str) -> Vec<String>;

    /// The record type a request of the version's endpoint at `path` carries, lower case.
    fn record_at(&self, path: &str) -> Option<String>;

    /// What a user reads for "a record" of the system (`NetSuite record`).
    fn record_noun(&self) -> &'static str;

    /// Where the flows name a record, as a user reads it (`` `/services/rest/record/v1/<record>` ``).
    fn record_path(&self) -> &'static str;

    /// The service that describes records, as a user reads it (`the catalog`).
    fn describer(&self) -> &'static str;

    /// How to have the document describe `record` when it does not.
    fn ask_for(&self, record: &str) -> String;

    /// What an account's base address looks like, for a user who gave something else.
    fn account_url(&self) -> &'static str;

    /// Where, below the account's base address, the document is.
    fn document_path(&self) -> &'static str;

    /// The credentials the authentication method `auth` signs with (empty: no such method).
    fn credentials_for(&self, auth: &str) -> &'static [&'static str];

    /// Ask the account at `base` for the definitions of `records` (reading only), authenticated
    /// with `auth` and the credentials of `account`. The error holds no credential the caller has
    /// not masked.
    fn fetch<'a>(
        &'a self,
        account: Arc<SystemVersion>,
        auth: &'a str,
        base: &'a str,
        records: &'a [String],
    ) -> Pin<Box<dyn Future<Output = Result<String, FetchFailed>> + Send + 'a>>;

    /// Read the document at `path` (shown as it is); not one: an error located in it.
    fn read(&self, path: &Path, text: &str) -> Result<Box<dyn AccountDocument>, Diagnostic>;
}

/// A document of an account's records, read.
pub trait AccountDocument {
    /// Whether it describes the record type `record` (lower case).
    fn describes(&self, record: &str) -> bool;

    /// The extension of `base` (the request schema of `record`, a record it describes, before any
    /// extension) that makes it take every field the record has in this account.
    fn extension(&self, record: &str, base: &Value) -> AccountRecord;
}

/// Why the account did not describe its records, as the system says it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FetchFailed(pub Box<dyn std::error::Error + Send + Sync>);

/// A record type the document describes, ready to extend its request schema.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    /// As the document names it (`salesOrder`).
    pub name: String,
    /// What to lay over the record's request schema (`properties`, `$defs`); empty when the
    /// schema already has every field.
    pub extension: Map<String, Value>,
    /// The custom fields written, record and line fields alike (`custbody_channel`, `item.custcol_gift`).
    pub custom_fields: Vec<String>,
    /// The standard fields the schema lacked and now takes.
    pub added_fields: Vec<String>,
    /// Fields the schema had whose values the account enumerates (a select's ids), now checked.
    pub enumerated: Vec<String>,
}
