//! `load_thresholds`: the last load result met every threshold. No result is unknown.

use super::{CheckKind, CheckVerdict, Context, Evidence, Status};
use crate::cluster::{ClusterView, WatchKey};
use jiff::Timestamp;

/// `load_thresholds`, whose spec is empty: the plan's `load` section says what to judge.
pub struct LoadThresholds;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdEvidence {
    pub metric: String,
    pub expr: String,
    pub ok: bool,
    /// The measured value the threshold was judged on, as shown to the operator.
    pub measured: String,
}

/// The outcome of the latest load test, as the gate sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadEvidence {
    pub finished_at: Option<Timestamp>,
    pub running: bool,
    pub thresholds: Vec<ThresholdEvidence>,
    pub requests: u64,
}

/// The `load_thresholds` verdict for the latest load evidence.
pub fn thresholds(load: Option<&LoadEvidence>) -> CheckVerdict {
    let kind = "load_thresholds";
    let Some(load) = load else {
        return CheckVerdict::new(kind, Status::Unknown, "no load test result yet")
            .with_fix("run the plan's load test (`l` in the cockpit, or `golive load --plan`)");
    };
    let evidence: Vec<Evidence> = load
        .thresholds
        .iter()
        .map(|t| {
            Evidence::new(
                format!("{} {}", t.metric, t.expr),
                format!(
                    "{} (measured {})",
                    if t.ok { "met" } else { "FAILED" },
                    t.measured
                ),
            )
        })
        .collect();
    if load.running || load.finished_at.is_none() {
        return CheckVerdict::new(kind, Status::Unknown, "load test still running")
            .with_evidence(evidence);
    }
    let failed: Vec<String> = load
        .thresholds
        .iter()
        .filter(|t| !t.ok)
        .map(|t| format!("{} {} (measured {})", t.metric, t.expr, t.measured))
        .collect();
    if failed.is_empty() && load.requests == 0 {
        return CheckVerdict::new(kind, Status::Fail, "load test sent no requests")
            .with_evidence(evidence);
    }
    if failed.is_empty() {
        CheckVerdict::new(
            kind,
            Status::Pass,
            format!(
                "{} thresholds met over {} requests",
                load.thresholds.len(),
                load.requests
            ),
        )
        .with_evidence(evidence)
    } else {
        CheckVerdict::new(
            kind,
            Status::Fail,
            format!("thresholds failed: {}", failed.join(", ")),
        )
        .with_evidence(evidence)
    }
}

fn measured(metric: &str, value: Option<f64>) -> String {
    match value {
        None => "no samples".into(),
        Some(v)
            if metric.starts_with("http_req_duration")
                || metric.starts_with("http_req_waiting") =>
        {
            format!("{v:.1} ms")
        }
        Some(v) => format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
    }
}

impl LoadEvidence {
    /// A run that ended early, or never ended, did not run the planned test: it carries a
    /// failing `run completed as planned` entry, so it can never pass.
    pub fn ended_early(mut self, why: &str) -> Self {
        self.running = false;
        self.thresholds.push(ThresholdEvidence {
            metric: "run".into(),
            expr: "completed as planned".into(),
            ok: false,
            measured: format!("ended early: {why}"),
        });
        self
    }

    /// Evidence from a finished (or running) run of the load engine.
    pub fn from_summary(summary: &golive_load::Summary, finished_at: Option<Timestamp>) -> Self {
        let s = &summary.snapshot;
        LoadEvidence {
            finished_at,
            running: !s.finished && finished_at.is_none(),
            requests: s.http_reqs,
            thresholds: s
                .thresholds
                .iter()
                .map(|t| ThresholdEvidence {
                    metric: t.metric.clone(),
                    expr: t.expr.clone(),
                    ok: t.ok(),
                    measured: measured(&t.metric, t.value),
                })
                .collect(),
        }
    }

    /// Evidence from a `golive load --summary-export` file, so `check` can judge the
    /// `load_thresholds` gate in CI. The file's modification time stands for when it finished.
    pub fn from_export_json(
        json: &serde_json::Value,
        finished_at: Timestamp,
    ) -> Result<Self, String> {
        let thresholds = json["thresholds"]
            .as_object()
            .ok_or("no `thresholds` object: is this a `golive load --summary-export` file?")?;
        let mut out = Vec::new();
        for (metric, list) in thresholds {
            for t in list.as_array().into_iter().flatten() {
                out.push(ThresholdEvidence {
                    metric: metric.clone(),
                    expr: t["expr"].as_str().unwrap_or("?").to_string(),
                    ok: t["ok"].as_bool().unwrap_or(false),
                    measured: measured(metric, t["value"].as_f64()),
                });
            }
        }
        let evidence = LoadEvidence {
            finished_at: Some(finished_at),
            running: false,
            requests: json["metrics"]["http_reqs"]["count"].as_u64().unwrap_or(0),
            thresholds: out,
        };
        // A run stopped with Ctrl-C or by abortOnFail did not run the planned test.
        Ok(match json["state"]["aborted"].as_str() {
            Some(why) => evidence.ended_early(why),
            None => evidence,
        })
    }
}

impl CheckKind for LoadThresholds {
    const NAME: &'static str = "load_thresholds";

    fn watches(&self) -> Vec<WatchKey> {
        vec![]
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        Ok(thresholds(ctx.load()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(aborted: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "metrics": {"http_reqs": {"count": 500, "rate": 100.0}},
            "thresholds": {"http_req_duration": [{"expr": "p(95)<200", "ok": true, "value": 3.1}]},
            "state": {"duration_ms": 5000, "aborted": aborted, "thresholds_ok": true}
        })
    }

    #[test]
    fn an_exported_run_that_completed_and_met_its_thresholds_passes() {
        let at = Timestamp::from_second(1_800_000_000).expect("timestamp");
        let e = LoadEvidence::from_export_json(&export(serde_json::Value::Null), at).expect("ok");
        assert_eq!(thresholds(Some(&e)).status, Status::Pass);
    }

    #[test]
    fn an_exported_run_stopped_early_never_passes_even_with_its_thresholds_met() {
        let at = Timestamp::from_second(1_800_000_000).expect("timestamp");
        let e =
            LoadEvidence::from_export_json(&export("stopped on request".into()), at).expect("ok");
        let v = thresholds(Some(&e));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.summary.contains("stopped on request"), "{}", v.summary);
    }
}
