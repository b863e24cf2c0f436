//! Writing a project's files: `harness init` lays out a working project in a repository, and
//! `harness versions add` makes a new API-version folder from an old one, its recordings migrated
//! by the changes the catalog knows. Neither ever overwrites a file. `harness schemas import
//! SYSTEM` writes the account's own record definitions as the project's schema extensions,
//! replacing only what an earlier import wrote.

mod account_schemas;
mod files;
mod init;
mod json_edit;
mod new_version;

pub use account_schemas::{ImportedSchemas, SchemaImport, Source, import_schemas};
pub use files::Written;
pub use init::{InitOptions, InitReport, Language, init};
pub use new_version::{AddedVersion, add_version};
