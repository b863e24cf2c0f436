//! Recordings from the real systems.
//!
//! - [`proxy`]: `harness record`, a loopback proxy in front of one real system that records every
//!   exchange it forwards;
//! - [`import`]: `harness import`, captured traffic (HAR files, bare bodies and envelopes) brought in;
//! - [`inventory`]: `harness recordings`, every recording with its age, version, status and the
//!   scenarios that use it;
//! - [`drift`]: `harness record --check`, the recorded requests sent again and the live answers
//!   compared field by field, with the flows that read what changed.
//!
//! Everything is redacted before it touches disk, by one [`harness_redact::Redactor`] per
//! session keyed by the project's key (see `key.rs`), so the same real value gets the same fake
//! in every file; a recording that would still hold a credential that was forwarded is not
//! written. Each session writes into `mocks/<system>/<version>/` a recording per exchange and,
//! when asked, a draft stub set and scenario (see [`session`] and `draft.rs`).

mod capture;
mod draft;
pub mod drift;
pub mod import;
pub mod inventory;
mod key;
pub mod proxy;
pub mod session;
mod upstream;
pub mod webhook;
