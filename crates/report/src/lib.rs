//! Reporters: the terminal, JUnit, JSON, HTML, Markdown and job-summary renderings of the event stream of runs and
//! analyses. They render; what passed was decided before the event reached them.

mod html;
mod json;
mod junit;
mod markdown;
mod merge;
mod output;
mod summary;
mod systems;
mod terminal;

pub use html::{HtmlReporter, page as html_page};
pub use json::{CaseJson, FORMAT, JsonReporter, PlanJson, RunReport, RunStatus, ShareJson, schema as report_schema};
pub use junit::{JunitError, JunitReporter, run_junit};
pub use markdown::MarkdownReporter;
pub use merge::{MergeError, merge, merge_files};
pub use output::{Destination, write_atomic};
pub use summary::{
    LIMIT as SUMMARY_LIMIT, Links, SummaryReporter, append as append_summary, markdown as summary_markdown,
};
pub use systems::{systems_json, systems_text};
pub use terminal::TerminalReporter;
