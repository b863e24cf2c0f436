//! The words every stage of the harness shares, at the bottom of its layers: which system
//! (`SystemId`), what was exchanged with a mock (`Exchange`, `RecordedRequest`, `MockResponse`,
//! `Fault`), how records end (`Outcome`), time (`duration`, the virtual `clock`), the codecs the
//! mocked protocols share (`encoding`, `xml`, `csv_text`), and how problems in the user's files
//! are shown (`diagnostic`) and the library's errors (`error`).

pub mod budget;
pub mod clock;
pub mod csv_text;
pub mod diagnostic;
pub mod duration;
pub mod encoding;
pub mod error;
pub mod exchange;
pub mod files;
pub mod outcome;
pub mod style;
pub mod system_id;
pub mod xml;

pub use diagnostic::{Diagnostic, Diagnostics, SourceSpan, did_you_mean};
pub use error::Error;
pub use exchange::{Exchange, Fault, MockResponse, RecordedRequest, find_header, set_header};
pub use outcome::Outcome;
pub use style::Style;
pub use system_id::SystemId;
