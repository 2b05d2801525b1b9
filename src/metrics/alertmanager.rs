//! Alertmanager's v2 API answers (`/api/v2/alerts`, `/api/v2/status`) and Prometheus's own
//! alert list (`/api/v1/alerts`), read as evidence. Alertmanager 0.25's `/-/ready` always
//! answers 200, so readiness comes from `/api/v2/status`'s `cluster.status`.

use jiff::Timestamp;
use std::collections::BTreeMap;

/// `status.state` of an Alertmanager alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Active,
    Suppressed,
    Unprocessed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub state: AlertState,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
    pub fingerprint: String,
    pub generator_url: String,
}

/// `/api/v2/status`: the cluster's state (`ready`, `settling`, `disabled` for one
/// instance) and the version.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub cluster: String,
    pub version: String,
}

/// Prometheus's view of an alert (`/api/v1/alerts`): pending alerts never reach
/// Alertmanager.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    pub active_at: Option<Timestamp>,
    pub value: String,
}
