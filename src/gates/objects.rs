//! `resource_exists` (any kind, optionally Ready or with a field set) and `job_succeeded`.

use super::json::{condition, condition_text, describe, labels, lookup, name, str_field};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::{ClusterView, JOBS, ResourceType, WatchKey, default_plural};
use crate::plan::{JobCheck, ResourceExistsCheck};
use serde_json::Value;

pub fn resource_type(c: &ResourceExistsCheck) -> ResourceType {
    let plural = c.plural.clone().unwrap_or_else(|| default_plural(&c.kind));
    ResourceType::dynamic(&c.api_version, &c.kind, &plural, c.namespace.is_some())
}

pub fn watch_key(c: &ResourceExistsCheck) -> WatchKey {
    let r = resource_type(c);
    match &c.namespace {
        Some(ns) => WatchKey::namespaced(r, ns),
        None => WatchKey::cluster(r),
    }
}

pub fn resource_exists(
    c: &ResourceExistsCheck,
    view: &ClusterView,
) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "resource_exists";
    let r = resource_type(c);
    let ns = c.namespace.as_deref();
    require_fresh(kind, view, &r, ns, true)?;
    let where_ = ns.map(|n| format!(" in {n}")).unwrap_or_default();
    let wanted = match (&c.name, &c.selector) {
        (Some(n), _) => format!("{} {n}", c.kind),
        (None, Some(s)) => format!("{} labelled {}", c.kind, s.text),
        (None, None) => format!("any {}", c.kind),
    };
    let found: Vec<Value> = view
        .objects(&r, ns)
        .filter(|o| c.name.as_deref().is_none_or(|n| name(o) == n))
        .filter(|o| {
            c.selector
                .as_ref()
                .is_none_or(|s| s.parsed.matches(&labels(o)))
        })
        .collect();
    if found.is_empty() {
        return Ok(
            CheckVerdict::new(kind, Status::Fail, format!("no {wanted}{where_}"))
                .with_evidence(vec![Evidence::new(
                    format!("{}{where_}", r.qualified_name()),
                    format!("no {wanted}"),
                )])
                .with_fix(format!("apply the {} ({})", c.kind, c.api_version)),
        );
    }
    let mut status = Status::Pass;
    let mut evidence = Vec::new();
    let mut faults = Vec::new();
    for o in &found {
        let mut detail = vec!["present".to_string()];
        if c.ready {
            match condition(o, "Ready") {
                Some(cv) if str_field(cv, "status") == "True" => detail.push(condition_text(cv)),
                Some(cv) => {
                    status = Status::Fail;
                    faults.push(format!("{} {}", name(o), condition_text(cv)));
                    detail.push(condition_text(cv));
                }
                None => {
                    status = status.max(Status::Unknown);
                    faults.push(format!("{} has no Ready condition", name(o)));
                    detail.push("no Ready condition".into());
                }
            }
        }
        if let Some(path) = &c.has_path {
            if lookup(o, path).is_some() {
                detail.push(format!("{path} set"));
            } else {
                status = Status::Fail;
                faults.push(format!("{} has no {path}", name(o)));
                detail.push(format!("{path} not set"));
            }
        }
        evidence.push(Evidence::new(describe(o), detail.join("; ")));
    }
    let summary = if faults.is_empty() {
        let names: Vec<&str> = found.iter().map(name).collect();
        let mut text = format!("{} {}{where_}", c.kind, names.join(", "));
        if c.ready {
            text.push_str(" Ready");
        }
        if let Some(path) = &c.has_path {
            text.push_str(&format!(", {path} set"));
        }
        text
    } else {
        faults.join("; ")
    };
    Ok(CheckVerdict::new(kind, status, summary).with_evidence(evidence))
}

pub fn job_succeeded(c: &JobCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "job_succeeded";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &JOBS, Some(ns), false)?;
    let jobs: Vec<Value> = view
        .objects(&JOBS, Some(ns))
        .filter(|j| c.name.as_deref().is_none_or(|n| name(j) == n))
        .filter(|j| {
            c.selector
                .as_ref()
                .is_none_or(|s| s.parsed.matches(&labels(j)))
        })
        .collect();
    if jobs.is_empty() {
        let what = c
            .name
            .clone()
            .or_else(|| c.selector.as_ref().map(|s| s.text.clone()));
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("no Job {} in {ns}", what.unwrap_or_default()),
        ));
    }
    let mut status = Status::Pass;
    let mut evidence = Vec::new();
    for j in &jobs {
        let (s, detail) = if let Some(cv) =
            condition(j, "Complete").filter(|cv| str_field(cv, "status") == "True")
        {
            (Status::Pass, condition_text(cv))
        } else if let Some(cv) =
            condition(j, "Failed").filter(|cv| str_field(cv, "status") == "True")
        {
            (Status::Fail, condition_text(cv))
        } else if j["status"]["succeeded"].as_i64().unwrap_or(0) > 0 {
            (Status::Pass, "succeeded".to_string())
        } else {
            (Status::Unknown, "not finished".to_string())
        };
        status = status.max(s);
        evidence.push(Evidence::new(describe(j), detail));
    }
    let names: Vec<&str> = jobs.iter().map(name).collect();
    let summary = match status {
        Status::Pass => format!("Job {} completed", names.join(", ")),
        Status::Fail => format!("Job {} failed", names.join(", ")),
        _ => format!("Job {} has not completed", names.join(", ")),
    };
    Ok(CheckVerdict::new(kind, status, summary).with_evidence(evidence))
}

impl CheckKind for ResourceExistsCheck {
    const NAME: &'static str = "resource_exists";

    fn watches(&self) -> Vec<WatchKey> {
        vec![watch_key(self)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        resource_exists(self, view)
    }
}

impl CheckKind for JobCheck {
    const NAME: &'static str = "job_succeeded";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(JOBS, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        job_succeeded(self, view)
    }
}
