//! Markdown of an analysis, for a pull-request comment.

use harness_engine::events::{Event, Reporter};

use crate::output::Destination;

/// Writes an analysis's Markdown (for a pull-request comment).
pub struct MarkdownReporter {
    destination: Destination,
}

impl MarkdownReporter {
    pub fn new(destination: Destination) -> Self {
        MarkdownReporter { destination }
    }
}

impl Reporter for MarkdownReporter {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::AnalysisFinished { result } => match result.markdown() {
                Some(text) => self.destination.deliver(&text),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}
