//! Gates: pure functions from (check, cluster view, now) to a verdict with its evidence.
//! Missing, stale, forbidden or undecidable evidence is `unknown`, never `pass`.

mod access;
mod certmanager;
mod config;
mod expression;
mod ingress;
mod json;
mod load;
pub mod netpol;
mod objects;
mod podspec;
mod probes;
mod scaling;
mod sealed;
mod storage;
mod workloads;

pub use load::{LoadEvidence, ThresholdEvidence, thresholds as load_verdict};

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

/// What evaluation needs besides the cluster view.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub now: Timestamp,
    pub load: Option<LoadEvidence>,
    /// Results of `http`, `sse` and `tcp` probes, from `crate::probe::run_probes`.
    pub probes: crate::probe::Probes,
}

pub fn kind_name(check: &Check) -> &'static str {
    match check {
        Check::ClusterAccess(_) => "cluster_access",
        Check::DeploymentsReady(_) => "deployments_ready",
        Check::PodsReady(_) => "pods_ready",
        Check::ClusterIssuersReady(_) => "cluster_issuers_ready",
        Check::IssuersReady(_) => "issuers_ready",
        Check::CertificatesReady(_) => "certificates_ready",
        Check::SealingKey(_) => "sealing_key",
        Check::DefaultDeny(_) => "default_deny",
        Check::DnsEgress(_) => "dns_egress",
        Check::Allow(_) => "allow",
        Check::Deny(_) => "deny",
        Check::LoadThresholds(_) => "load_thresholds",
        Check::SecretExists(_) => "secret_exists",
        Check::ConfigValue(_) => "config_value",
        Check::IngressTls(_) => "ingress_tls",
        Check::PodSecurity(_) => "pod_security",
        Check::ResourcesSet(_) => "resources_set",
        Check::Hpa(_) => "hpa",
        Check::Pdb(_) => "pdb",
        Check::PvcAccess(_) => "pvc_access",
        Check::ResourceExists(_) => "resource_exists",
        Check::InitContainerSucceeded(_) => "init_container_succeeded",
        Check::JobSucceeded(_) => "job_succeeded",
        Check::Http(_) => "http",
        Check::Sse(_) => "sse",
        Check::Tcp(_) => "tcp",
        Check::Expression(_) => "expression",
    }
}

/// The watches a check reads from.
pub fn watches(check: &Check) -> Vec<WatchKey> {
    use crate::cluster::*;
    match check {
        Check::ClusterAccess(_) | Check::LoadThresholds(_) => vec![],
        Check::DeploymentsReady(d) => vec![WatchKey::namespaced(DEPLOYMENTS, &d.namespace)],
        Check::PodsReady(p) => vec![WatchKey::namespaced(PODS, &p.namespace)],
        Check::ClusterIssuersReady(_) => vec![WatchKey::cluster(CLUSTER_ISSUERS)],
        Check::IssuersReady(i) => vec![WatchKey::namespaced(ISSUERS, &i.namespace)],
        Check::CertificatesReady(c) => vec![WatchKey::namespaced(CERTIFICATES, &c.namespace)],
        Check::SealingKey(s) => vec![WatchKey::namespaced(SECRETS, &s.namespace)],
        Check::DefaultDeny(_) | Check::DnsEgress(_) | Check::Allow(_) | Check::Deny(_) => {
            netpol::watches()
        }
        Check::SecretExists(s) => vec![WatchKey::namespaced(SECRETS, &s.namespace)],
        Check::ConfigValue(c) => {
            let mut keys: Vec<WatchKey> =
                expression::source_watches(&c.source(), &CONFIG_MAPS, &DEPLOYMENTS)
                    .into_iter()
                    .collect();
            if c.names_secret {
                keys.push(WatchKey::namespaced(SECRETS, &c.namespace));
            }
            keys
        }
        Check::IngressTls(i) => vec![
            WatchKey::namespaced(INGRESSES, &i.namespace),
            WatchKey::namespaced(SECRETS, &i.namespace),
            WatchKey::namespaced(CERTIFICATES, &i.namespace),
        ],
        Check::PodSecurity(w) | Check::ResourcesSet(w) => {
            vec![WatchKey::namespaced(DEPLOYMENTS, &w.namespace)]
        }
        Check::Hpa(h) => vec![WatchKey::namespaced(HPAS, &h.namespace)],
        Check::Pdb(p) => vec![
            WatchKey::namespaced(DEPLOYMENTS, &p.namespace),
            WatchKey::namespaced(PDBS, &p.namespace),
            WatchKey::namespaced(HPAS, &p.namespace),
        ],
        Check::PvcAccess(p) => vec![
            WatchKey::namespaced(PVCS, &p.namespace),
            WatchKey::cluster(STORAGE_CLASSES),
        ],
        Check::ResourceExists(r) => vec![objects::watch_key(r)],
        Check::InitContainerSucceeded(i) => vec![
            WatchKey::namespaced(DEPLOYMENTS, &i.namespace),
            WatchKey::namespaced(PODS, &i.namespace),
        ],
        Check::JobSucceeded(j) => vec![WatchKey::namespaced(JOBS, &j.namespace)],
        Check::Http(_) | Check::Sse(_) | Check::Tcp(_) => vec![],
        Check::Expression(e) => e
            .values
            .values()
            .flat_map(expression::value_watches)
            .collect(),
    }
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
    let kind = kind_name(check);
    let result = match check {
        Check::ClusterAccess(_) => Ok(access::cluster_access(view)),
        Check::DeploymentsReady(c) => workloads::deployments_ready(c, view),
        Check::PodsReady(c) => workloads::pods_ready(c, view),
        Check::ClusterIssuersReady(c) => certmanager::cluster_issuers(c, view),
        Check::IssuersReady(c) => certmanager::issuers(c, view),
        Check::CertificatesReady(c) => certmanager::certificates(c, view, ctx.now),
        Check::SealingKey(c) => sealed::sealing_key(c, view, ctx.now),
        Check::DefaultDeny(_) | Check::DnsEgress(_) | Check::Allow(_) | Check::Deny(_) => {
            netpol::evaluate(check, view)
        }
        Check::LoadThresholds(_) => Ok(load::thresholds(ctx.load.as_ref())),
        Check::SecretExists(c) => config::secret_exists(c, view, ctx.now),
        Check::ConfigValue(c) => config::config_value(c, view),
        Check::IngressTls(c) => ingress::ingress_tls(c, view),
        Check::PodSecurity(c) => podspec::pod_security(c, view),
        Check::ResourcesSet(c) => podspec::resources_set(c, view),
        Check::Hpa(c) => scaling::hpa(c, view),
        Check::Pdb(c) => scaling::pdb(c, view),
        Check::PvcAccess(c) => storage::pvc_access(c, view),
        Check::ResourceExists(c) => objects::resource_exists(c, view),
        Check::InitContainerSucceeded(c) => podspec::init_container_succeeded(c, view),
        Check::JobSucceeded(c) => objects::job_succeeded(c, view),
        Check::Http(c) => probes::http(c, check, &ctx.probes, ctx.now),
        Check::Sse(c) => probes::sse(c, check, &ctx.probes, ctx.now),
        Check::Tcp(c) => probes::tcp(c, check, &ctx.probes, ctx.now),
        Check::Expression(c) => expression::expression(c, view),
    };
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
mod tests;

#[cfg(test)]
mod volundr_tests;
