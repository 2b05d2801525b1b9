//! golive: a terminal cockpit for taking a service live on Kubernetes.
//!
//! Data flows one way: cluster watchers, the load engine and the runbook journal send
//! messages; one owner applies them to its state; gates are pure functions of that state.

pub mod cluster;
pub mod commands;
pub mod demo;
pub mod dns;
pub mod gates;
pub mod log;
pub mod metrics;
pub mod plan;
pub mod probe;
pub mod report;
pub mod runbook;
pub mod text;
pub mod tui;

/// `0.1.0 (commit 1a2b3c4d5e6f)`: what `--version`, the log and the journal say golive is.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GOLIVE_COMMIT"),
    ")"
);
