//! `load_thresholds`: the last load result met every threshold. No result is unknown.

use super::{CheckVerdict, Evidence, Status};
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdEvidence {
    pub metric: String,
    pub expr: String,
    pub ok: bool,
    /// The measured value the threshold was judged on, as shown to the operator.
    pub measured: String,
}

/// The outcome of the latest load test, as the gate sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadEvidence {
    pub finished_at: Option<Timestamp>,
    pub running: bool,
    pub thresholds: Vec<ThresholdEvidence>,
    pub requests: u64,
}

pub fn thresholds(load: Option<&LoadEvidence>) -> CheckVerdict {
    let kind = "load_thresholds";
    let Some(load) = load else {
        return CheckVerdict::new(kind, Status::Unknown, "no load test result yet")
            .with_fix("run the plan's load test (`l` in the cockpit, or `golive load --plan`)");
    };
    let evidence: Vec<Evidence> = load
        .thresholds
        .iter()
        .map(|t| Evidence::new(format!("{} {}", t.metric, t.expr), format!("{} (measured {})", if t.ok { "met" } else { "FAILED" }, t.measured)))
        .collect();
    if load.running || load.finished_at.is_none() {
        return CheckVerdict::new(kind, Status::Unknown, "load test still running").with_evidence(evidence);
    }
    if load.requests == 0 {
        return CheckVerdict::new(kind, Status::Fail, "load test sent no requests").with_evidence(evidence);
    }
    let failed: Vec<String> = load
        .thresholds
        .iter()
        .filter(|t| !t.ok)
        .map(|t| format!("{} {} (measured {})", t.metric, t.expr, t.measured))
        .collect();
    if failed.is_empty() {
        CheckVerdict::new(kind, Status::Pass, format!("{} thresholds met over {} requests", load.thresholds.len(), load.requests)).with_evidence(evidence)
    } else {
        CheckVerdict::new(kind, Status::Fail, format!("thresholds failed: {}", failed.join(", "))).with_evidence(evidence)
    }
}
