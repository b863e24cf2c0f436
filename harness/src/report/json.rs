//! A JSON report of the whole run, for tools.

use std::io::Write;

use super::{Event, Reporter};

pub struct JsonReporter<W: Write> {
    out: W,
}

impl<W: Write> JsonReporter<W> {
    pub fn new(out: W) -> Self {
        JsonReporter { out }
    }
}

impl<W: Write> Reporter for JsonReporter<W> {
    fn report(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        if let Event::Finished { summary } = event {
            let value = serde_json::json!({
                "passed": summary.passed(),
                "failed": summary.failed(),
                "total": summary.cases.len(),
                "duration_ms": summary.duration.as_millis() as u64,
                "cases": summary.cases,
            });
            serde_json::to_writer_pretty(&mut self.out, &value)?;
            writeln!(self.out)?;
            self.out.flush()?;
        }
        Ok(())
    }
}
