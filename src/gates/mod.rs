//! Gates: pure functions from (check, cluster view, now) to a verdict with its evidence.
//! Missing, stale, forbidden or undecidable evidence is `unknown`, never `pass`.

mod access;
mod backups;
mod certmanager;
mod config;
mod dns;
pub mod events;
mod expression;
mod images;
pub mod incremental;
mod ingress;
mod json;
pub mod k6;
#[cfg(test)]
mod k6_tests;
mod kind;
pub(crate) mod load;
pub mod load_file;
pub mod monitor;
pub mod netpol;
mod objects;
pub(crate) mod podspec;
mod probes;
mod rbac;
pub mod rollout;
mod scaling;
mod sealed;
mod storage;
mod workloads;

pub use dns::dns_lookups;
pub use kind::{CheckKind, KIND_NAMES};
pub use load::{LoadEvidence, LoadSource, ThresholdEvidence, thresholds as load_verdict};

use crate::cluster::{ClusterView, Freshness, ResourceType, WatchErrorKind, WatchKey};
use crate::plan::{Check, Gate, Plan};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Unknown,
    Fail,
}

impl Status {
    /// Fail outranks unknown outranks warn outranks pass.
    pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Option<Status> {
        statuses.into_iter().max()
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Unknown => "?",
            Status::Fail => "✗",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Unknown => "unknown",
            Status::Fail => "fail",
        }
    }
}

/// One fact a verdict rests on: the object it is about and what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub object: String,
    pub detail: String,
}

impl Evidence {
    pub fn new(object: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            object: object.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckVerdict {
    pub kind: &'static str,
    pub status: Status,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl CheckVerdict {
    pub fn new(kind: &'static str, status: Status, summary: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: None,
        }
    }

    pub fn with_evidence(mut self, evidence: Vec<Evidence>) -> Self {
        self.evidence = evidence;
        self
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GateVerdict {
    pub id: String,
    pub title: String,
    pub group: String,
    pub status: Status,
    pub summary: String,
    /// When the oldest piece of cluster evidence behind this verdict was last confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Timestamp>,
    pub checks: Vec<CheckVerdict>,
}

/// What evaluation needs besides the cluster view. Checks read it through its methods,
/// which note what was read ([`Inputs`]), so the cockpit re-judges a gate only when
/// something it read has changed (see [`incremental`]).
#[derive(Debug, Clone, Default)]
pub struct Context {
    now: Timestamp,
    load: Option<LoadEvidence>,
    /// Results of `http`, `sse` and `tcp` probes, from `crate::probe::run_probes`.
    probes: crate::probe::Probes,
    /// Moments of the go-live that checks count from (`warning_events`' `since`).
    moments: Moments,
    /// What Prometheus and Alertmanager answered (the monitoring checks); None where
    /// nothing asks them.
    metrics: Option<std::sync::Arc<crate::metrics::MetricsEvidence>>,
    /// Answers to the `dns_records` lookups, from `crate::dns::resolve_all`.
    dns: crate::dns::DnsAnswers,
    read: std::cell::Cell<Inputs>,
}

/// Which parts of a [`Context`] an evaluation read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inputs {
    pub now: bool,
    pub load: bool,
    pub probes: bool,
    pub moments: bool,
    pub metrics: bool,
    pub dns: bool,
}

impl Context {
    pub fn new(now: Timestamp) -> Self {
        Self {
            now,
            ..Default::default()
        }
    }

    pub fn with_load(mut self, load: Option<LoadEvidence>) -> Self {
        self.load = load;
        self
    }

    pub fn with_probes(mut self, probes: crate::probe::Probes) -> Self {
        self.probes = probes;
        self
    }

    pub fn with_moments(mut self, moments: Moments) -> Self {
        self.moments = moments;
        self
    }

    pub fn with_dns(mut self, dns: crate::dns::DnsAnswers) -> Self {
        self.dns = dns;
        self
    }

    pub fn with_metrics(
        mut self,
        metrics: Option<std::sync::Arc<crate::metrics::MetricsEvidence>>,
    ) -> Self {
        self.metrics = metrics;
        self
    }

    fn note(&self, f: impl FnOnce(&mut Inputs)) {
        let mut read = self.read.get();
        f(&mut read);
        self.read.set(read);
    }

    /// The moment of judging. A check that reads it is re-judged as time passes.
    pub fn now(&self) -> Timestamp {
        self.note(|r| r.now = true);
        self.now
    }

    pub fn load(&self) -> Option<&LoadEvidence> {
        self.note(|r| r.load = true);
        self.load.as_ref()
    }

    pub fn probes(&self) -> &crate::probe::Probes {
        self.note(|r| r.probes = true);
        &self.probes
    }

    pub fn moments(&self) -> &Moments {
        self.note(|r| r.moments = true);
        &self.moments
    }

    pub fn metrics(&self) -> Option<&crate::metrics::MetricsEvidence> {
        self.note(|r| r.metrics = true);
        self.metrics.as_deref()
    }

    /// Answers to the `dns_records` lookups.
    pub fn dns(&self) -> &crate::dns::DnsAnswers {
        self.note(|r| r.dns = true);
        &self.dns
    }

    /// What was read since the last call, and starts counting afresh.
    pub fn take_reads(&self) -> Inputs {
        self.read.take()
    }
}

/// Moments of the go-live, from its journal; empty where none is known (`golive check`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moments {
    /// When the go-live started (the journal's first entry).
    pub started: Option<Timestamp>,
    /// The runbook's phases in order, each with the moment it opened.
    pub phases: Vec<(String, Option<Timestamp>)>,
    /// The deploy moment monitoring compares against (the first rollout golive saw start,
    /// else the Deploy phase's opening; `--deployed-at` headless).
    pub deployed: Option<Timestamp>,
}

/// The plan key of a check's kind (`deployments_ready`).
pub fn kind_name(check: &Check) -> &'static str {
    kind::for_each_kind!(check, |k| kind::name_of(k))
}

/// The watches a check reads from.
pub fn watches(check: &Check) -> Vec<WatchKey> {
    kind::for_each_kind!(check, |k| k.watches())
}

/// The fields `check` reads per resource (see [`CheckKind::reads`]).
pub fn reads(check: &Check) -> Vec<crate::cluster::Reads> {
    kind::for_each_kind!(check, |k| k.reads())
}

/// Every watch the plan needs, as golive runs it: each with the fields kept of its
/// objects (the union over the plan's checks of that resource; whole when any check
/// declared nothing) and the checks that need it.
pub fn plan_watch_specs(plan: &Plan) -> Vec<crate::cluster::Watch> {
    use crate::cluster::{Projection, Watch};
    use std::collections::BTreeMap;
    let keys = plan_watches(plan);
    let mut projections: BTreeMap<ResourceType, Projection> = BTreeMap::new();
    // Per watch: the gates that need it, each with its check kinds.
    let mut why: BTreeMap<&WatchKey, Vec<(String, Vec<&'static str>)>> = BTreeMap::new();
    for gate in &plan.gates {
        for check in &gate.checks {
            let declared = reads(check);
            for key in watches(check) {
                let paths: Vec<&str> = declared
                    .iter()
                    .filter(|(r, _)| *r == key.resource)
                    .flat_map(|(_, paths)| paths.iter().copied())
                    .collect();
                let projection = if declared.iter().any(|(r, _)| *r == key.resource) {
                    Projection::of(paths)
                } else {
                    Projection::whole()
                };
                projections
                    .entry(key.resource)
                    .and_modify(|p| *p = p.union(&projection))
                    .or_insert(projection);
                if let Some(covering) = keys
                    .iter()
                    .find(|k| k.covers(&key.resource, key.namespace.as_deref()))
                {
                    let gates = why.entry(covering).or_default();
                    let at = match gates.iter().position(|(id, _)| *id == gate.id.value) {
                        Some(at) => at,
                        None => {
                            gates.push((gate.id.value.clone(), Vec::new()));
                            gates.len() - 1
                        }
                    };
                    let kinds = &mut gates[at].1;
                    if !kinds.contains(&kind_name(check)) {
                        kinds.push(kind_name(check));
                    }
                }
            }
        }
    }
    keys.iter()
        .map(|key| Watch {
            key: key.clone(),
            projection: std::sync::Arc::new(
                projections.get(&key.resource).cloned().unwrap_or_default(),
            ),
            why: why
                .get(key)
                .into_iter()
                .flatten()
                .map(|(gate, kinds)| format!("{gate} ({})", kinds.join(", ")))
                .collect(),
        })
        .collect()
}

/// Every watch the plan needs, deduplicated; a cluster-wide watch makes the
/// namespaced ones of the same resource redundant.
pub fn plan_watches(plan: &Plan) -> Vec<WatchKey> {
    let all: BTreeSet<WatchKey> = plan
        .gates
        .iter()
        .flat_map(|g| g.checks.iter())
        .flat_map(watches)
        .collect();
    let cluster_wide: BTreeSet<ResourceType> = all
        .iter()
        .filter(|k| k.namespace.is_none())
        .map(|k| k.resource)
        .collect();
    all.into_iter()
        .filter(|k| k.namespace.is_none() || !cluster_wide.contains(&k.resource))
        .collect()
}

/// Unknown (or fail, when the resource is not served) unless the view holds fresh
/// evidence for `resource` in `namespace`.
pub(crate) fn require_fresh(
    kind: &'static str,
    view: &ClusterView,
    resource: &ResourceType,
    namespace: Option<&str>,
    not_served_fails: bool,
) -> Result<(), CheckVerdict> {
    let what = match namespace {
        Some(ns) => format!("{} in {ns}", resource.qualified_name()),
        None => resource.qualified_name(),
    };
    match view.freshness(resource, namespace) {
        Freshness::Fresh => Ok(()),
        Freshness::Pending => Err(CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("waiting for the first list of {what}"),
        )),
        Freshness::NotWatched => Err(CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("{what} is not watched"),
        )),
        Freshness::Failed(error, at) => {
            let status = if error.kind == WatchErrorKind::NotServed && not_served_fails {
                Status::Fail
            } else {
                Status::Unknown
            };
            let summary = match error.kind {
                WatchErrorKind::Forbidden => format!("forbidden to read {what}"),
                WatchErrorKind::NotServed => format!("{what}: not served by this cluster"),
                WatchErrorKind::Unreachable => {
                    format!("stale: cannot reach the API server for {what}")
                }
                WatchErrorKind::Other => format!("stale: watch on {what} failed"),
            };
            Err(
                CheckVerdict::new(kind, status, summary).with_evidence(vec![Evidence::new(
                    what,
                    format!("{} (since {at})", error.message),
                )]),
            )
        }
    }
}

pub fn evaluate_check(check: &Check, view: &ClusterView, ctx: &Context) -> CheckVerdict {
    let (kind, result) = kind::for_each_kind!(check, |k| (kind::name_of(k), k.evaluate(view, ctx)));
    let mut verdict = result.unwrap_or_else(|v| v);
    verdict.kind = kind;
    verdict
}

pub fn evaluate_gate(gate: &Gate, view: &ClusterView, ctx: &Context) -> GateVerdict {
    let checks: Vec<CheckVerdict> = gate
        .checks
        .iter()
        .map(|c| evaluate_check(c, view, ctx))
        .collect();
    let status = Status::worst(checks.iter().map(|c| c.status)).unwrap_or(Status::Unknown);
    let summary = if status == Status::Pass {
        join_summaries(checks.iter())
    } else {
        join_summaries(checks.iter().filter(|c| c.status == status))
    };
    let as_of = gate
        .checks
        .iter()
        .flat_map(watches)
        .filter_map(|k| view.as_of(&k.resource, k.namespace.as_deref()))
        .min();
    GateVerdict {
        id: gate.id.value.clone(),
        title: gate.title.clone(),
        group: gate.group.clone(),
        status,
        summary,
        as_of,
        checks,
    }
}

/// Distinct check summaries joined with "; ", at most three, then a count of the rest.
fn join_summaries<'a>(checks: impl Iterator<Item = &'a CheckVerdict>) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for c in checks {
        if !distinct.contains(&c.summary.as_str()) {
            distinct.push(&c.summary);
        }
    }
    let shown = distinct.len().min(3);
    let mut text = distinct[..shown].join("; ");
    if distinct.len() > shown {
        text.push_str(&format!(" (+{} more)", distinct.len() - shown));
    }
    text
}

/// GO, NO-GO or UNKNOWN over a set of gate verdicts, with the reason in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Go,
    NoGo,
    Unknown,
}

impl Verdict {
    /// `GO`, `NO-GO`, `UNKNOWN`: how banners and reports write it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

pub fn overall(gates: &[GateVerdict]) -> (Verdict, String) {
    let ids = |s: Status| -> Vec<&str> {
        gates
            .iter()
            .filter(|g| g.status == s)
            .map(|g| g.id.as_str())
            .collect()
    };
    let failing = ids(Status::Fail);
    let unknown = ids(Status::Unknown);
    let plural = |n: usize| if n == 1 { "gate" } else { "gates" };
    if !failing.is_empty() {
        (
            Verdict::NoGo,
            format!(
                "{} {} failing: {}",
                failing.len(),
                plural(failing.len()),
                failing.join(", ")
            ),
        )
    } else if !unknown.is_empty() {
        (
            Verdict::Unknown,
            format!(
                "{} {} undecided: {}",
                unknown.len(),
                plural(unknown.len()),
                unknown.join(", ")
            ),
        )
    } else if gates.is_empty() {
        (Verdict::Unknown, "the plan has no gates".into())
    } else {
        let warn = ids(Status::Warn);
        if warn.is_empty() {
            (Verdict::Go, format!("all {} gates pass", gates.len()))
        } else {
            (
                Verdict::Go,
                format!(
                    "all gates pass; {} with warnings: {}",
                    warn.len(),
                    warn.join(", ")
                ),
            )
        }
    }
}

#[cfg(test)]
mod test_views;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod volundr_tests;

#[cfg(test)]
mod projection_tests;

#[cfg(test)]
mod rbac_tests;

#[cfg(test)]
mod operations_tests;
