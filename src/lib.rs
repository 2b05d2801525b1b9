//! golive: a terminal cockpit for taking a service live on Kubernetes.
//!
//! Data flows one way: cluster watchers, the load engine and the runbook journal send
//! messages; one owner applies them to its state; gates are pure functions of that state.

pub mod cluster;
pub mod commands;
pub mod demo;
pub mod dns;
pub mod gates;
pub mod metrics;
pub mod plan;
pub mod probe;
pub mod report;
pub mod runbook;
pub mod text;
pub mod tui;
