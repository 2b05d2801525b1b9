//! `deployments_ready` and `pods_ready`.

use super::json::{condition, condition_text, describe, generation, labels, name, str_field};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{ClusterView, DEPLOYMENTS, PODS};
use crate::plan::{DeploymentsCheck, PodsCheck};
use serde_json::Value;

const DEPLOY: &str = "deployments_ready";
const PODS_KIND: &str = "pods_ready";

/// Whether a Deployment has rolled out fully, and the words for it.
fn deployment_state(d: &Value) -> (Status, String) {
    let spec = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &d["status"];
    let available = status["availableReplicas"].as_i64().unwrap_or(0);
    let updated = status["updatedReplicas"].as_i64().unwrap_or(0);
    let observed = status["observedGeneration"].as_i64();
    if let (Some(generation), Some(observed)) = (generation(d), observed)
        && observed < generation
    {
        return (
            Status::Unknown,
            format!(
                "generation {generation} not yet observed by the controller (observed {observed})"
            ),
        );
    }
    if spec == 0 {
        return (Status::Warn, "scaled to 0 replicas".into());
    }
    let counts = format!("{available}/{spec} available, {updated} updated");
    if available >= spec && updated >= spec {
        return (Status::Pass, counts);
    }
    let why = condition(d, "Available")
        .filter(|c| str_field(c, "status") != "True")
        .or_else(|| condition(d, "Progressing").filter(|c| str_field(c, "status") != "True"))
        .map(|c| format!(" — {}", condition_text(c)))
        .unwrap_or_default();
    (Status::Fail, format!("{counts}{why}"))
}

pub fn deployments_ready(
    c: &DeploymentsCheck,
    view: &ClusterView,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(DEPLOY, view, &DEPLOYMENTS, Some(ns), false)?;
    let all: Vec<Value> = view.objects(&DEPLOYMENTS, Some(ns)).collect();
    let mut selected: Vec<&Value> = Vec::new();
    let mut evidence = Vec::new();
    let mut missing = Vec::new();
    for wanted in &c.names {
        match all.iter().find(|d| name(d) == wanted) {
            Some(d) => selected.push(d),
            None => missing.push(wanted.clone()),
        }
    }
    let alternatives = !c.any_of.is_empty() || c.selector.is_some();
    if alternatives {
        let before = selected.len();
        for d in &all {
            let by_name = c.any_of.iter().any(|n| n == name(d));
            let by_label = c
                .selector
                .as_ref()
                .is_some_and(|s| s.parsed.matches(&labels(d)));
            if (by_name || by_label) && !selected.iter().any(|s| name(s) == name(d)) {
                selected.push(d);
            }
        }
        if selected.len() == before {
            let mut wanted: Vec<String> = c.any_of.iter().map(|n| format!("`{n}`")).collect();
            if let Some(s) = &c.selector {
                wanted.push(format!("label {}", s.text));
            }
            missing.push(format!("any of {}", wanted.join(" or ")));
        }
    }
    if c.names.is_empty() && !alternatives {
        selected = all.iter().collect();
        if selected.is_empty() {
            missing.push("any Deployment".into());
        }
    }
    let mut worst = Status::Pass;
    let mut bad = Vec::new();
    for d in &selected {
        let (status, text) = deployment_state(d);
        if status != Status::Pass {
            bad.push(format!("{} {text}", name(d)));
        }
        worst = worst.max(status);
        evidence.push(Evidence::new(describe(d), text));
    }
    for m in &missing {
        evidence.push(Evidence::new(
            format!("Deployment {m} in {ns}"),
            "not found",
        ));
    }
    if !missing.is_empty() {
        let present: Vec<&str> = all.iter().map(name).collect();
        let listed = if present.is_empty() {
            "none".to_string()
        } else {
            present.join(", ")
        };
        return Ok(CheckVerdict::new(
            DEPLOY,
            Status::Fail,
            format!("not found in {ns}: {}", missing.join(", ")),
        )
        .with_evidence(evidence)
        .with_fix(format!("Deployments present in {ns}: {listed}")));
    }
    let summary = if worst == Status::Pass {
        let ready: Vec<String> = selected.iter().map(|d| name(d).to_string()).collect();
        format!(
            "{}/{} available: {}",
            selected.len(),
            selected.len(),
            ready.join(", ")
        )
    } else {
        format!(
            "{} of {} not available: {}",
            bad.len(),
            selected.len(),
            bad.join("; ")
        )
    };
    Ok(CheckVerdict::new(DEPLOY, worst, summary).with_evidence(evidence))
}

/// Why a pod is not Ready, in the words `kubectl describe` would use.
fn pod_problem(p: &Value) -> Option<String> {
    let phase = str_field(&p["status"], "phase");
    let statuses = p["status"]["containerStatuses"].as_array();
    let mut reasons = Vec::new();
    for cs in statuses.into_iter().flatten().chain(
        p["status"]["initContainerStatuses"]
            .as_array()
            .into_iter()
            .flatten(),
    ) {
        if let Some(waiting) = cs["state"]["waiting"].as_object() {
            let reason = waiting
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("Waiting");
            reasons.push(format!("{} {reason}", str_field(cs, "name")));
        } else if let Some(term) = cs["state"]["terminated"].as_object()
            && term.get("exitCode").and_then(Value::as_i64) != Some(0)
        {
            let reason = term
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("Terminated");
            reasons.push(format!("{} {reason}", str_field(cs, "name")));
        }
    }
    if phase == "Pending"
        && let Some(sched) =
            condition(p, "PodScheduled").filter(|c| str_field(c, "status") == "False")
    {
        reasons.push(format!("Pending: {}", condition_text(sched)));
    }
    match condition(p, "Ready") {
        Some(c) if str_field(c, "status") == "True" => None,
        Some(c) if reasons.is_empty() => Some(condition_text(c)),
        None if reasons.is_empty() => Some(format!("phase {phase}, no Ready condition yet")),
        _ => Some(reasons.join(", ")),
    }
}

fn restarts(p: &Value) -> i64 {
    p["status"]["containerStatuses"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["restartCount"].as_i64()).sum())
        .unwrap_or(0)
}

/// Pods that ran to completion (Jobs, one-off pods) are not expected to be Ready.
/// A failed pod of a Job is the Job's business (its retries and backoff), not the service's.
fn finished(p: &Value) -> bool {
    let owned_by_job = p["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|o| o.iter().any(|r| r["kind"].as_str() == Some("Job")));
    match str_field(&p["status"], "phase") {
        "Succeeded" => true,
        "Failed" => owned_by_job,
        _ => false,
    }
}

/// Healthy pods listed one by one in the evidence; beyond this they are counted. Every
/// pod with a problem is listed.
pub const HEALTHY_LISTED: usize = 20;
/// Names in a summary line; beyond this, a count.
const SUMMARY_NAMES: usize = 5;

fn first_few(names: &[String], sep: &str) -> String {
    let shown = names.len().min(SUMMARY_NAMES);
    let mut text = names[..shown].join(sep);
    if names.len() > shown {
        text.push_str(&format!(" (+{} more)", names.len() - shown));
    }
    text
}

pub fn pods_ready(c: &PodsCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(PODS_KIND, view, &PODS, Some(ns), false)?;
    // One pass, one pod parsed at a time: a namespace may hold thousands.
    let pods = view
        .objects(&PODS, Some(ns))
        .filter(|p| {
            c.selector
                .as_ref()
                .is_none_or(|s| s.parsed.matches(&labels(p)))
        })
        .filter(|p| !finished(p));
    let mut evidence = Vec::new();
    let mut not_ready = Vec::new();
    let mut restarting = Vec::new();
    let mut total = 0usize;
    let mut healthy_unlisted = 0usize;
    for p in pods {
        total += 1;
        let r = restarts(&p);
        match pod_problem(&p) {
            Some(problem) => {
                let text = format!("not Ready: {problem}; {r} restarts");
                not_ready.push(format!("{} {problem}", name(&p)));
                evidence.push(Evidence::new(describe(&p), text));
            }
            None if r > i64::from(c.max_restarts) => {
                restarting.push(format!("{} ({r} restarts)", name(&p)));
                evidence.push(Evidence::new(
                    describe(&p),
                    format!("Ready, but {r} restarts"),
                ));
            }
            None if total - not_ready.len() - restarting.len() > HEALTHY_LISTED => {
                healthy_unlisted += 1;
            }
            None => evidence.push(Evidence::new(describe(&p), format!("Ready, {r} restarts"))),
        }
    }
    if healthy_unlisted > 0 {
        evidence.push(Evidence::new(
            format!("Pods in {ns}"),
            format!(
                "and {healthy_unlisted} more Ready, restarts within {}",
                c.max_restarts
            ),
        ));
    }
    if total == 0 {
        let which = c
            .selector
            .as_ref()
            .map(|s| format!(" matching {}", s.text))
            .unwrap_or_default();
        return Ok(CheckVerdict::new(
            PODS_KIND,
            Status::Unknown,
            format!("no running pods{which} in {ns}"),
        ));
    }
    let verdict = if !not_ready.is_empty() {
        CheckVerdict::new(
            PODS_KIND,
            Status::Fail,
            format!(
                "{}/{total} pods not Ready: {}",
                not_ready.len(),
                first_few(&not_ready, "; ")
            ),
        )
    } else if !restarting.is_empty() {
        CheckVerdict::new(
            PODS_KIND,
            Status::Warn,
            format!(
                "{total}/{total} Ready; restarting: {}",
                first_few(&restarting, ", ")
            ),
        )
    } else {
        CheckVerdict::new(
            PODS_KIND,
            Status::Pass,
            format!("{total}/{total} pods Ready"),
        )
    };
    Ok(verdict.with_evidence(evidence))
}

impl CheckKind for DeploymentsCheck {
    const NAME: &'static str = "deployments_ready";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(DEPLOYMENTS, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        deployments_ready(self, view)
    }
}

/// What `pods_ready` reads of a pod besides its identity: phase, conditions and the
/// containers' states and restarts.
pub const POD_READS: &[&str] = &[
    "status.phase",
    "status.reason",
    "status.message",
    "status.conditions.type",
    "status.conditions.status",
    "status.conditions.reason",
    "status.conditions.message",
    "status.containerStatuses.name",
    "status.containerStatuses.ready",
    "status.containerStatuses.restartCount",
    "status.containerStatuses.state",
    "status.initContainerStatuses.name",
    "status.initContainerStatuses.ready",
    "status.initContainerStatuses.restartCount",
    "status.initContainerStatuses.state",
];

impl CheckKind for PodsCheck {
    const NAME: &'static str = "pods_ready";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(PODS, &self.namespace)]
    }

    fn reads(&self) -> Vec<crate::cluster::Reads> {
        vec![(PODS, POD_READS)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        pods_ready(self, view)
    }
}
