//! Reporters: the terminal, JUnit, JSON and Markdown renderings of the event stream of runs and
//! analyses. They render; what passed was decided before the event reached them.

mod json;
mod junit;
mod markdown;
mod output;
mod systems;
mod terminal;

pub use json::{FORMAT, JsonReporter, RunReport, schema as report_schema};
pub use junit::JunitReporter;
pub use markdown::MarkdownReporter;
pub use output::{Destination, write_atomic};
pub use systems::{systems_json, systems_text};
pub use terminal::TerminalReporter;
