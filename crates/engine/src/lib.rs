//! Plan, execute, check: scenario files become [`plan::Case`]s, cases run against mocks on worker
//! threads ([`runner`]), their outcomes are judged ([`check`]) and their snapshots kept
//! ([`snapshot`]), and everything is told to reporters as one stream of [`events`].

pub mod check;
pub mod events;
pub mod execute;
pub mod leaks;
pub mod plan;
pub mod review;
pub mod runner;
pub mod secrets;
pub mod serve;
pub mod snapshot;
mod workers;
