//! Prometheus and Alertmanager as evidence for the Monitor phase: what their HTTP APIs
//! answer (`prom`, `alertmanager`: types and the pure reading of their responses) and the
//! client that asks them (`client`). Like the cluster, they are sources: the cockpit's
//! poller and `golive check` turn their answers into [`MetricsEvidence`] that the gates
//! judge without I/O.

pub mod alertmanager;
pub mod client;
pub mod prom;

use jiff::Timestamp;
use std::collections::BTreeMap;

/// What a check's last query answered, kept per check key for the gates.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub at: Timestamp,
    pub answer: Result<prom::QueryAnswer, prom::PromError>,
}

/// Everything the metrics sources said, as the gates read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsEvidence {
    /// Per check key (see `gates::monitor`): the newest answer to each of its queries.
    pub queries: BTreeMap<String, Observation>,
    /// Alertmanager's active alerts and its status, when asked.
    pub alerts: Option<(Timestamp, Result<Vec<alertmanager::Alert>, prom::PromError>)>,
    pub alertmanager_status: Option<Result<alertmanager::Status, prom::PromError>>,
    /// Prometheus's own pending and firing alerts (`/api/v1/alerts`).
    pub prometheus_alerts: Option<Result<Vec<alertmanager::RuleAlert>, prom::PromError>>,
}
