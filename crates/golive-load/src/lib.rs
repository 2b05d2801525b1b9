//! golive's load engine: k6-style executors, thresholds and metric names, with
//! per-worker HDR histograms merged into a live `Snapshot` once a second.
//!
//! ```no_run
//! # async fn demo(config: golive_load::LoadConfig) -> Result<(), golive_load::LoadError> {
//! let run = golive_load::LoadRun::start(config)?;
//! let mut live = run.snapshots();
//! tokio::spawn(async move {
//!     while live.changed().await.is_ok() {
//!         let s = live.borrow().clone();
//!         println!("p99 {:.2} ms", s.window.latency.p99);
//!     }
//! });
//! let summary = run.wait().await;
//! assert!(summary.thresholds_ok());
//! # Ok(()) }
//! ```

mod arrival;
mod client;
mod closed;
mod config;
mod control;
mod duration;
mod executor;
mod failure;
mod h1;
mod plan;
mod run;
mod stats;
mod summary;
mod threshold;
mod worker;

pub mod cli;

pub use config::{ExecutorKind, FieldError, LoadConfig, RequestSpec, Scenario, Stage};
pub use duration::{GoDuration, format_duration, parse_duration};
pub use run::{HistoryPoint, LoadError, LoadRun, Snapshot, StopHandle, Summary, WindowStats};
pub use stats::{ErrorKind, HistogramBar, LatencyStats};
pub use summary::{ms as format_ms, progress_line};
pub use threshold::{
    Aggregation, Metric, MetricKind, MetricSelector, Operator, TagFilter, ThresholdExpr,
    ThresholdResult, ThresholdSpec, ThresholdState,
};
