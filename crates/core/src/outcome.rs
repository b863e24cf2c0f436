//! How one record of a trigger ended: what flows report, scenarios expect and reports show.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step succeeded.
    Delivered,
    /// Deliberately skipped, with a reason.
    Filtered,
    /// Could not be delivered; kept with its reason and last response.
    DeadLettered,
    /// Never attempted because the flow stopped before reaching it: a stalled queue.
    NotProcessed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Filtered => "filtered",
            Outcome::DeadLettered => "dead-lettered",
            Outcome::NotProcessed => "not processed",
        }
    }
}
