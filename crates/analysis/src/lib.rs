//! Analyses over many runs: the [`impact`] of an API upgrade on every flow, field [`lineage`]
//! (which source fields feed which target fields), and [`coverage`] of what the recordings hold.
//! Each result is an [`AnalysisResult`](harness_engine::events::AnalysisResult) the reporters render.

mod ablation;
pub mod coverage;
pub mod diff;
pub mod impact;
pub mod lineage;
