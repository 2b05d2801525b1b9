//! cert-manager: ClusterIssuers, Issuers and Certificates by their `Ready` condition.

use super::json::{
    condition, condition_text, describe, format_age, generation, name, str_field, timestamp,
};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{CERTIFICATES, CLUSTER_ISSUERS, ClusterView, ISSUERS, ResourceType};
use crate::plan::{CertificatesCheck, IssuersCheck, NamespacedIssuersCheck};
use jiff::Timestamp;
use serde_json::Value;

/// The `Ready` condition read as cert-manager means it: True passes, False fails,
/// absent, `Unknown` or not yet observed for this generation cannot be decided.
fn ready(obj: &Value) -> (Status, String) {
    let Some(c) = condition(obj, "Ready") else {
        return (Status::Unknown, "no Ready condition yet".into());
    };
    if let (Some(generation), Some(observed)) = (generation(obj), c["observedGeneration"].as_i64())
        && observed < generation
    {
        return (
            Status::Unknown,
            format!("Ready condition is for generation {observed}, object is at {generation}"),
        );
    }
    match str_field(c, "status") {
        "True" => (Status::Pass, condition_text(c)),
        "False" => (Status::Fail, condition_text(c)),
        _ => (Status::Unknown, condition_text(c)),
    }
}

fn issuers_verdict(
    kind: &'static str,
    view: &ClusterView,
    resource: &ResourceType,
    namespace: Option<&str>,
    names: &[String],
) -> Result<CheckVerdict, CheckVerdict> {
    require_fresh(kind, view, resource, namespace, true)?;
    let all: Vec<Value> = view.objects(resource, namespace).collect();
    let mut evidence = Vec::new();
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    if names.is_empty() {
        selected = all.iter().collect();
    } else {
        for n in names {
            match all.iter().find(|o| name(o) == n) {
                Some(o) => selected.push(o),
                None => missing.push(n.clone()),
            }
        }
    }
    let where_ = namespace.map(|n| format!(" in {n}")).unwrap_or_default();
    if selected.is_empty() && missing.is_empty() {
        return Ok(
            CheckVerdict::new(kind, Status::Fail, format!("no {}{where_}", resource.kind))
                .with_fix(format!(
                    "create a {} (cert-manager cannot issue certificates without one)",
                    resource.kind
                )),
        );
    }
    let mut worst = Status::Pass;
    let mut bad = Vec::new();
    for o in &selected {
        let (status, text) = ready(o);
        worst = worst.max(status);
        if status != Status::Pass {
            let short = condition(o, "Ready")
                .map(|c| str_field(c, "status").to_string())
                .unwrap_or_else(|| "no condition".into());
            bad.push(format!("{} {short}", name(o)));
        }
        evidence.push(Evidence::new(describe(o), text));
    }
    for m in &missing {
        worst = Status::Fail;
        bad.push(format!("{m} not found"));
        evidence.push(Evidence::new(format!("{} {m}", resource.kind), "not found"));
    }
    let summary = if bad.is_empty() {
        format!("{}/{} Ready", selected.len(), selected.len())
    } else {
        bad.join(", ")
    };
    Ok(CheckVerdict::new(kind, worst, summary).with_evidence(evidence))
}

pub fn cluster_issuers(c: &IssuersCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    issuers_verdict(
        "cluster_issuers_ready",
        view,
        &CLUSTER_ISSUERS,
        None,
        &c.names,
    )
}

pub fn issuers(
    c: &NamespacedIssuersCheck,
    view: &ClusterView,
) -> Result<CheckVerdict, CheckVerdict> {
    issuers_verdict(
        "issuers_ready",
        view,
        &ISSUERS,
        Some(&c.namespace),
        &c.names,
    )
}

pub fn certificates(
    c: &CertificatesCheck,
    view: &ClusterView,
    now: Timestamp,
) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "certificates_ready";
    let ns = c.namespace.as_str();
    let mut verdict = issuers_verdict(kind, view, &CERTIFICATES, Some(ns), &c.names)?;
    let fail_secs = c.fail_within.0.as_secs() as i64;
    let warn_secs = c.warn_within.0.as_secs() as i64;
    let mut expiring = Vec::new();
    for cert in view.objects(&CERTIFICATES, Some(ns)) {
        let cert = &cert;
        if !c.names.is_empty() && !c.names.iter().any(|n| n == name(cert)) {
            continue;
        }
        let Some(not_after) = timestamp(&cert["status"]["notAfter"]) else {
            if ready(cert).0 == Status::Pass {
                verdict.status = verdict.status.max(Status::Unknown);
                expiring.push(format!("{} has no status.notAfter", name(cert)));
            }
            continue;
        };
        let left = not_after.as_second() - now.as_second();
        let (status, text) = if left <= 0 {
            (
                Status::Fail,
                format!("expired {} ago ({not_after})", format_age(-left)),
            )
        } else if left <= fail_secs {
            (
                Status::Fail,
                format!(
                    "expires in {} ({not_after}), within {}",
                    format_age(left),
                    c.fail_within
                ),
            )
        } else if left <= warn_secs {
            (
                Status::Warn,
                format!(
                    "expires in {} ({not_after}), within {}",
                    format_age(left),
                    c.warn_within
                ),
            )
        } else {
            (
                Status::Pass,
                format!("valid for {} (until {not_after})", format_age(left)),
            )
        };
        if status != Status::Pass {
            expiring.push(format!("{} {text}", name(cert)));
        }
        verdict.status = verdict.status.max(status);
        verdict.evidence.push(Evidence::new(describe(cert), text));
    }
    if !expiring.is_empty() {
        if verdict.summary.ends_with("Ready") {
            verdict.summary = expiring.join(", ");
        } else {
            verdict.summary = format!("{}; {}", verdict.summary, expiring.join(", "));
        }
    }
    Ok(verdict)
}

impl CheckKind for IssuersCheck {
    const NAME: &'static str = "cluster_issuers_ready";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::cluster(CLUSTER_ISSUERS)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        cluster_issuers(self, view)
    }
}

impl CheckKind for NamespacedIssuersCheck {
    const NAME: &'static str = "issuers_ready";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(ISSUERS, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        issuers(self, view)
    }
}

impl CheckKind for CertificatesCheck {
    const NAME: &'static str = "certificates_ready";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(CERTIFICATES, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        certificates(self, view, ctx.now())
    }
}
