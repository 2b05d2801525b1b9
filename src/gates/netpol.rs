//! NetworkPolicy checks, evaluated by the golive-netpol analyzer over the live view.
//! The analyzer's model is built once per view revision and shared by every check.

use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::{ClusterView, NAMESPACES, NETWORK_POLICIES, PODS, SERVICES, WatchKey};
use crate::plan::{Check, Direction, Peer};
use golive_netpol::{self as np, EndpointPreference, EndpointSelector, Model, ModelBuilder};
use std::sync::Arc;

const RESOURCES: [crate::cluster::ResourceType; 4] = [NAMESPACES, PODS, NETWORK_POLICIES, SERVICES];

pub fn watches() -> Vec<WatchKey> {
    RESOURCES.iter().map(|r| WatchKey::cluster(*r)).collect()
}

/// The analyzer's model of the live view: one endpoint per running pod.
pub fn model(view: &ClusterView) -> Result<Arc<Model>, String> {
    view.derived_netpol(|| {
        let mut builder = ModelBuilder::new().prefer(EndpointPreference::Pods);
        let mut skipped = Vec::new();
        for resource in RESOURCES {
            for object in view.objects(&resource, None) {
                if let Err(e) = builder.add_value(object, "cluster") {
                    skipped.push(e.to_string());
                }
            }
        }
        if skipped.is_empty() {
            Ok(Arc::new(builder.build()))
        } else {
            Err(skipped.join("; "))
        }
    })
}

/// The plan's selector, parsed when the plan was read, so a typo has a file position.
fn selector(text: Option<&crate::plan::Selector>) -> Result<np::Selector, String> {
    Ok(text.map(|s| s.parsed.clone()).unwrap_or_default())
}

fn endpoint(peer: &Peer) -> Result<EndpointSelector, String> {
    if let Some(cidr) = &peer.cidr {
        return np::ExternalAddr::parse(cidr)
            .map(EndpointSelector::External)
            .map_err(|e| format!("{cidr}: {e}"));
    }
    match (&peer.namespace, &peer.namespace_selector) {
        (Some(ns), None) => Ok(EndpointSelector::Pods {
            namespace: ns.clone(),
            selector: selector(peer.selector.as_ref())?,
        }),
        (None, Some(ns_sel)) if peer.selector.is_none() => {
            Ok(EndpointSelector::Namespaces(selector(Some(ns_sel))?))
        }
        _ => Err("a peer needs `namespace` (with an optional `selector`), `namespace_selector` alone, or `cidr`".into()),
    }
}

fn verdict(kind: &'static str, finding: np::Finding) -> CheckVerdict {
    let status = match finding.status {
        np::Status::Pass => Status::Pass,
        np::Status::Fail => Status::Fail,
        np::Status::Unknown => Status::Unknown,
    };
    let evidence = finding
        .evidence
        .into_iter()
        .map(|line| match line.split_once(": ") {
            Some((object, detail)) if !object.contains(' ') || object.contains('/') => {
                Evidence::new(object, detail)
            }
            _ => Evidence::new("NetworkPolicy analysis", line),
        })
        .collect();
    // The analyzer appends its first explanation to the summary; the evidence has it too.
    let summary = match finding.summary.split_once("; ") {
        Some((head, _)) if finding.summary.len() > 120 => head.to_string(),
        _ => finding.summary,
    };
    let verdict = CheckVerdict::new(kind, status, summary).with_evidence(evidence);
    match finding.fix {
        Some(fix) => verdict.with_fix(fix),
        None => verdict,
    }
}

pub fn evaluate(check: &Check, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let kind = super::kind_name(check);
    for resource in &RESOURCES {
        require_fresh(kind, view, resource, None, false)?;
    }
    let model = model(view).map_err(|e| {
        CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("cannot model the cluster's policies: {e}"),
        )
    })?;
    let unknown = |e: String| CheckVerdict::new(kind, Status::Unknown, e);
    let finding = match check {
        Check::DefaultDeny(c) => {
            let directions: Vec<np::Direction> = c
                .directions
                .iter()
                .map(|d| match d {
                    Direction::Ingress => np::Direction::Ingress,
                    Direction::Egress => np::Direction::Egress,
                })
                .collect();
            np::default_deny(&model, &c.namespace, &directions)
        }
        Check::DnsEgress(c) => {
            let default = np::DnsTarget::default();
            let target = np::DnsTarget {
                namespace: c.dns_namespace.clone(),
                selector: selector(Some(&c.dns_selector)).map_err(unknown)?,
                service: if c.dns_namespace == default.namespace {
                    default.service
                } else {
                    None
                },
            };
            np::dns_egress(&model, &c.namespace, &target)
        }
        Check::Allow(c) | Check::Deny(c) => {
            let from = endpoint(&c.from).map_err(unknown)?;
            let to = endpoint(&c.to).map_err(unknown)?;
            let ports: Vec<np::PortSpec> = c.ports.iter().map(|p| p.0).collect();
            if matches!(check, Check::Allow(_)) {
                np::allow(&model, &from, &to, &ports)
            } else {
                np::deny(&model, &from, &to, &ports)
            }
        }
        _ => return Err(unknown("not a NetworkPolicy check".into())),
    };
    Ok(verdict(kind, finding))
}
