//! Flows, the integrations under test, behind one driver interface ([`FlowDriver`]): built-in
//! declarative flows and external programs. The engine never asks which kind a flow is: it asks
//! the driver what it needs (which systems it may call, whether its time is virtual, what its
//! mapping says feeds each target field) and runs it.

mod builtin;
mod command;
pub mod driver;
mod flow;
mod outcome;
mod policy;
mod program;
mod reconcile;
mod service;
mod source;
mod trigger;

pub use driver::{CaseContext, FlowDriver, FlowInstance, JobContext, MappedField, PrepareError, Traffic};
pub use flow::{Flow, FlowKind, LoadedFlows, flow_names, load_flows};
pub use outcome::{DeliveryAnswer, FlowRun, MissingField, RecordOutcome, RunStatus, Wait};
pub use policy::DeliveryPolicy;
pub use program::kill_running_programs;
pub use reconcile::Reconcile;
pub use trigger::{FlowTrigger, Record, RecordSplit, SplitError, TriggerInput};
