//! Prometheus and Alertmanager as evidence for the Monitor phase: what their HTTP APIs
//! answer (`prom`, `alertmanager`: types and the pure reading of their responses) and the
//! client that asks them (`client`). Like the cluster, they are sources: the cockpit's
//! poller and `golive check` turn their answers into [`MetricsEvidence`] that the gates
//! judge without I/O.

pub mod alertmanager;
pub mod client;
pub mod poll;
pub mod prom;

use jiff::Timestamp;
use std::collections::BTreeMap;

/// What a check's last query answered, kept per check key for the gates.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub at: Timestamp,
    pub answer: Result<prom::QueryAnswer, prom::PromError>,
}

/// One evaluation of a monitored check: good, bad, or not decidable, with the value.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Good(f64),
    Bad(f64),
    Undecided(String),
}

/// The pre-deploy baseline of a query, captured once and journaled.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaselineValue {
    pub query: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The mean over the window.
    pub value: f64,
    pub samples: usize,
}

/// An alert golive saw firing.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSeen {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub starts_at: Option<Timestamp>,
    pub last_seen: Timestamp,
}

/// Everything the metrics sources said, as the gates read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsEvidence {
    /// Per query text: the newest answer.
    pub queries: BTreeMap<String, Observation>,
    /// Per check key: every evaluation this session, oldest first (for `for`, the chart
    /// and the report).
    pub history: BTreeMap<String, Vec<(Timestamp, Outcome)>>,
    /// Per check key: the pre-deploy baseline, once captured.
    pub baselines: BTreeMap<String, BaselineValue>,
    /// Per check key: why its baseline could not be captured (no data before the deploy,
    /// Prometheus unreachable), shown where the relative comparison would be.
    pub baseline_errors: BTreeMap<String, String>,
    /// Per check key: why a headless run could not read its past (the range query over
    /// the last `for`, or since the deploy, failed).
    pub history_errors: BTreeMap<String, String>,
    /// Every alert seen firing this session (not silenced or inhibited), by fingerprint:
    /// its name, labels, when it started and when golive last saw it.
    pub alert_log: BTreeMap<String, AlertSeen>,
    /// Prometheus's readiness and version, Alertmanager's, as last asked.
    pub prometheus_version: Option<Result<String, prom::PromError>>,
    /// Alertmanager's active alerts and its status, when asked.
    pub alerts: Option<(Timestamp, Result<Vec<alertmanager::Alert>, prom::PromError>)>,
    pub alertmanager_status: Option<Result<alertmanager::Status, prom::PromError>>,
    /// Prometheus's own pending and firing alerts (`/api/v1/alerts`).
    pub prometheus_alerts: Option<Result<Vec<alertmanager::RuleAlert>, prom::PromError>>,
    /// Alertmanager's address for people, where it is reached directly: firing alerts get
    /// a link to silence them there.
    pub alertmanager_url: Option<String>,
}

impl MetricsEvidence {
    /// `Prometheus 2.42.0 ready · Alertmanager 0.25.0, cluster disabled`, or what is wrong
    /// with each, as the cluster's context and server are shown.
    pub fn sources_line(&self) -> String {
        let prometheus = match &self.prometheus_version {
            Some(Ok(v)) => format!("Prometheus {v} ready"),
            Some(Err(e)) => format!("Prometheus: {e}"),
            None => "Prometheus not asked".to_string(),
        };
        match &self.alertmanager_status {
            Some(Ok(s)) => format!(
                "{prometheus} · Alertmanager {}, cluster {}",
                s.version, s.cluster
            ),
            Some(Err(e)) => format!("{prometheus} · Alertmanager: {e}"),
            None => prometheus,
        }
    }
}

/// One round of answers from the poller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsUpdate {
    pub at: Timestamp,
    /// (query text, answer)
    pub queries: Vec<(String, Result<prom::QueryAnswer, prom::PromError>)>,
    pub alerts: Option<Result<Vec<alertmanager::Alert>, prom::PromError>>,
    pub alertmanager_status: Option<Result<alertmanager::Status, prom::PromError>>,
    pub prometheus_alerts: Option<Result<Vec<alertmanager::RuleAlert>, prom::PromError>>,
    pub prometheus_version: Option<Result<String, prom::PromError>>,
    pub alertmanager_url: Option<String>,
}

/// How many evaluations a check's history keeps: four hours at the 15 s minimum.
pub const HISTORY_LIMIT: usize = 4 * 60 * 4;
