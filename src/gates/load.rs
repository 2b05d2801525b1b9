//! `load_thresholds`: the last load result met every threshold. No result is unknown.

use super::{CheckKind, CheckVerdict, Context, Evidence, Status};
use crate::cluster::{ClusterView, WatchKey};
use jiff::Timestamp;

/// `load_thresholds`, whose spec is empty: the plan's `load` section says what to judge.
pub struct LoadThresholds;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ThresholdEvidence {
    pub metric: String,
    pub expr: String,
    /// golive found it met (meaningless while `unknown` says why it could not judge).
    pub ok: bool,
    /// The measured value the threshold was judged on, as shown to the operator.
    pub measured: String,
    /// Why golive could not judge it (`k6 did not export p(99); …`): never a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// k6's own verdict on it, where a k6 summary file records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k6_ok: Option<bool>,
    /// A threshold of the k6 script that the plan does not name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub script_only: bool,
    /// The file is a golive export: its own verdicts (`k6_ok`) are the exporting run's,
    /// not k6's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub golive_export: bool,
}

impl ThresholdEvidence {
    /// golive's word, with k6's where the file holds one: a threshold that k6 found failed
    /// never passes, whatever golive read from the file.
    pub fn status(&self) -> Status {
        if self.k6_ok == Some(false) || (self.unknown.is_none() && !self.ok) {
            Status::Fail
        } else if self.unknown.is_some() {
            Status::Unknown
        } else {
            Status::Pass
        }
    }

    /// Who wrote the file's own verdicts.
    fn writer(&self) -> &'static str {
        if self.golive_export {
            "the exporting run"
        } else {
            "k6"
        }
    }

    /// Where golive's judgement on the file's numbers and k6's own differ, in words.
    pub fn disagreement(&self) -> Option<String> {
        let k6 = self.k6_ok?;
        let word = |ok: bool| if ok { "met" } else { "failed" };
        let who = self.writer();
        match &self.unknown {
            None if k6 != self.ok => Some(format!(
                "golive and {who} disagree: {who} found it {}, golive {} on the file's {}",
                word(k6),
                word(self.ok),
                self.measured
            )),
            Some(_) if !k6 => Some(format!(
                "{who} found it failed; the file holds no number to check"
            )),
            _ => None,
        }
    }

    /// `met (measured 6.98 ms); k6: met`, as evidence shows it.
    pub fn detail(&self) -> String {
        let mut out = match &self.unknown {
            Some(why) => format!("unknown: {why}"),
            None if self.ok => format!("met (measured {})", self.measured),
            None => format!("FAILED (measured {})", self.measured),
        };
        if let Some(k6) = self.k6_ok {
            let who = self.writer();
            out.push_str(&format!("; {who}: {}", if k6 { "met" } else { "FAILED" }));
        }
        if let Some(d) = self.disagreement() {
            out.push_str(&format!("; {d}"));
        }
        if self.script_only && self.golive_export {
            out.push_str(" (the exporting run's own threshold; the plan does not name it)");
        } else if self.script_only {
            out.push_str(" (the k6 script's own threshold; the plan does not name it)");
        }
        out
    }
}

/// Where a load result read from a file came from: what wrote it, when, over how long.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadSource {
    /// `k6 --summary-export`, `k6 handleSummary data`, `golive load --summary-export`.
    pub format: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k6_version: Option<String>,
    /// The run's duration as the file states it (or as its counters imply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// When the file was written (k6's own stamp where it has one, else its mtime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_at: Option<Timestamp>,
    /// The go-live's start, when the file predates it: stale evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_before: Option<Timestamp>,
    /// The headline numbers the file holds (`600 requests · 19.83 req/s · …`).
    pub figures: String,
}

impl LoadSource {
    /// `k6 --summary-export results.json · k6 0.49.0 · run 30.3 s · written 2026-…Z`.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {}", self.format, self.file);
        if let Some(v) = &self.k6_version {
            out.push_str(&format!(" · k6 {v}"));
        }
        if let Some(d) = self.duration_s {
            out.push_str(&format!(" · run {d:.1} s"));
        }
        match self.written_at {
            Some(t) => out.push_str(&format!(
                " · written {}",
                t.round(jiff::Unit::Second).unwrap_or(t)
            )),
            None => out.push_str(" · time written unknown"),
        }
        out
    }
}

/// The outcome of the latest load test, as the gate sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadEvidence {
    pub finished_at: Option<Timestamp>,
    pub running: bool,
    pub thresholds: Vec<ThresholdEvidence>,
    pub requests: u64,
    /// Set when the result was read from a summary file rather than run by golive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<LoadSource>,
}

/// The `load_thresholds` verdict for the latest load evidence.
pub fn thresholds(load: Option<&LoadEvidence>) -> CheckVerdict {
    let kind = "load_thresholds";
    let Some(load) = load else {
        return CheckVerdict::new(kind, Status::Unknown, "no load test result yet")
            .with_fix("run the plan's load test (`l` in the cockpit, or `golive load --plan`)");
    };
    let line =
        |t: &ThresholdEvidence| Evidence::new(format!("{} {}", t.metric, t.expr), t.detail());
    let mut evidence: Vec<Evidence> = Vec::new();
    match &load.source {
        // From a file: what did not pass first (a short listing shows it), then where the
        // numbers came from, then what passed.
        Some(source) => {
            let passed = |t: &&ThresholdEvidence| t.status() == Status::Pass;
            evidence.extend(load.thresholds.iter().filter(|t| !passed(t)).map(line));
            evidence.push(Evidence::new("source", source.describe()));
            evidence.push(Evidence::new("figures", source.figures.clone()));
            evidence.extend(load.thresholds.iter().filter(passed).map(line));
        }
        None => evidence.extend(load.thresholds.iter().map(line)),
    }
    if load.running || load.finished_at.is_none() {
        return CheckVerdict::new(kind, Status::Unknown, "load test still running")
            .with_evidence(evidence);
    }
    if let Some(source) = load.source.as_ref().filter(|s| s.stale_before.is_some()) {
        let started = source
            .stale_before
            .map(|t| t.to_string())
            .unwrap_or_default();
        let written = match source.written_at {
            Some(t) => format!("was written {t}"),
            None => "has no time it was written".into(),
        };
        return CheckVerdict::new(
            kind,
            Status::Unknown,
            format!(
                "stale evidence: {} {written}, before this go-live started ({started})",
                source.file
            ),
        )
        .with_evidence(evidence)
        .with_fix("run the load test again now and pass the new file");
    }
    let of = |status: Status| -> Vec<&ThresholdEvidence> {
        load.thresholds
            .iter()
            .filter(|t| t.status() == status)
            .collect()
    };
    let failed: Vec<String> = of(Status::Fail)
        .iter()
        .map(|t| {
            let mut why = match &t.unknown {
                Some(why) => why.clone(),
                None => format!("measured {}", t.measured),
            };
            if let Some(d) = t.disagreement() {
                why.push_str(&format!("; {d}"));
            }
            format!("{} {} ({why})", t.metric, t.expr)
        })
        .collect();
    if !failed.is_empty() {
        return CheckVerdict::new(
            kind,
            Status::Fail,
            format!("thresholds failed: {}", failed.join(", ")),
        )
        .with_evidence(evidence);
    }
    if load.requests == 0 {
        return CheckVerdict::new(kind, Status::Fail, "load test sent no requests")
            .with_evidence(evidence);
    }
    let undecided: Vec<String> = of(Status::Unknown)
        .iter()
        .map(|t| {
            format!(
                "{} {} ({})",
                t.metric,
                t.expr,
                t.unknown.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    if !undecided.is_empty() {
        return CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("thresholds undecided: {}", undecided.join(", ")),
        )
        .with_evidence(evidence)
        .with_fix("export the missing statistics (k6's summaryTrendStats) and run again");
    }
    if load.thresholds.is_empty() && load.source.is_some() {
        return CheckVerdict::new(
            kind,
            Status::Unknown,
            "nothing to judge: the file holds no thresholds and the plan names none",
        )
        .with_evidence(evidence)
        .with_fix("add thresholds to the plan's load: section");
    }
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
}

pub(crate) fn measured(metric: &str, value: Option<f64>) -> String {
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
            ..ThresholdEvidence::default()
        });
        self
    }

    /// Evidence from a finished (or running) run of the load engine.
    pub fn from_summary(summary: &golive_load::Summary, finished_at: Option<Timestamp>) -> Self {
        let s = &summary.snapshot;
        LoadEvidence {
            source: None,
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
                    ..ThresholdEvidence::default()
                })
                .collect(),
        }
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
