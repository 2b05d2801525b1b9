//! The plan's specs for watching the deploy itself: `rollout` (the rolling update of
//! Deployments, StatefulSets and DaemonSets) and `warning_events` (Warning events on the
//! service's objects since a moment of the go-live).

use super::model::Selector;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A workload kind whose rollout golive follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 3] = [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
    ];

    /// The name kubectl takes (`deployment/backend`).
    pub fn kubectl(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        })
    }
}

fn all_kinds() -> Vec<WorkloadKind> {
    WorkloadKind::ALL.to_vec()
}

/// `rollout`: every selected workload rolled out completely at its current generation,
/// as `kubectl rollout status` judges it, and no pod of the new revision broken.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutCheck {
    pub namespace: String,
    /// Workloads by name; with neither `names` nor `selector`, every workload of `kinds`.
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub selector: Option<Selector>,
    #[serde(default = "all_kinds")]
    pub kinds: Vec<WorkloadKind>,
}

/// The moment from which `warning_events` counts: `golive` (the go-live's start) or
/// `phase NAME` (when that runbook phase opened; by default the Deploy phase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    Golive,
    Phase(String),
}

impl Default for Since {
    fn default() -> Self {
        Since::Phase("Deploy".into())
    }
}

impl Since {
    /// The runbook phase this names among `phases`: the same name (any case), else the
    /// first whose name contains it (`Deploy` finds `Deploy services`).
    pub fn phase<'a>(&self, phases: impl IntoIterator<Item = &'a str> + Clone) -> Option<&'a str> {
        let Since::Phase(wanted) = self else {
            return None;
        };
        let wanted = wanted.to_lowercase();
        phases
            .clone()
            .into_iter()
            .find(|p| p.to_lowercase() == wanted)
            .or_else(|| {
                phases
                    .into_iter()
                    .find(|p| p.to_lowercase().contains(&wanted))
            })
    }
}

impl<'de> Deserialize<'de> for Since {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let text = text.trim();
        if text == "golive" {
            return Ok(Since::Golive);
        }
        match text.strip_prefix("phase ") {
            Some(name) if !name.trim().is_empty() => Ok(Since::Phase(name.trim().to_string())),
            _ => Err(serde::de::Error::custom(format!(
                "`since` is `golive` or `phase NAME`, not `{text}`"
            ))),
        }
    }
}

impl Serialize for Since {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Since::Golive => s.serialize_str("golive"),
            Since::Phase(name) => s.serialize_str(&format!("phase {name}")),
        }
    }
}

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Since::Golive => f.write_str("the go-live's start"),
            Since::Phase(name) => write!(f, "phase {name} opened"),
        }
    }
}

/// `warning_events`: no Warning event on the namespace's pods, ReplicaSets, workloads and
/// HPAs since a moment of the go-live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WarningEventsCheck {
    pub namespace: String,
    #[serde(default)]
    pub since: Since,
    /// Only these reasons count (`BackOff`, `FailedScheduling`, ...); empty: every reason.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Reasons that never count.
    #[serde(default)]
    pub ignore: Vec<String>,
}
