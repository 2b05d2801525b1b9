//! NetworkPolicy checks, evaluated by the golive-netpol analyzer over the live view.
//! The analyzer's model is built once per view revision and shared by every check.

use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{ClusterView, NAMESPACES, NETWORK_POLICIES, PODS, SERVICES, WatchKey};
use crate::plan::{DefaultDenyCheck, Direction, DnsEgressCheck, Peer, ReachabilityCheck};
use golive_netpol::{self as np, EndpointPreference, EndpointSelector, Model, ModelBuilder};
use std::sync::Arc;

const RESOURCES: [crate::cluster::ResourceType; 4] = [NAMESPACES, PODS, NETWORK_POLICIES, SERVICES];

/// What the analyzer needs to answer a question about `namespaces`: their pods, services
/// and policies (egress rules live with the source, ingress rules with the destination),
/// and every namespace's labels, which `namespaceSelector` rules match. `None`: a peer
/// selects namespaces by label, so pods anywhere may be part of the answer.
pub fn watches_for(namespaces: Option<&[&str]>) -> Vec<WatchKey> {
    let mut keys = vec![WatchKey::cluster(NAMESPACES)];
    for resource in [PODS, NETWORK_POLICIES, SERVICES] {
        match namespaces {
            None => keys.push(WatchKey::cluster(resource)),
            Some(list) => keys.extend(list.iter().map(|ns| WatchKey::namespaced(resource, ns))),
        }
    }
    keys
}

/// What the analyzer reads of a pod: one endpoint per running pod, with its address,
/// labels and ports.
pub const POD_READS: &[&str] = &[
    "spec.containers.name",
    "spec.containers.ports",
    "spec.initContainers.name",
    "spec.initContainers.ports",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
];

fn pod_reads() -> Vec<crate::cluster::Reads> {
    vec![(PODS, POD_READS)]
}

/// The namespaces a peer's pods live in; `None` when a label selector picks them.
fn peer_namespaces(peer: &Peer) -> Option<Vec<&str>> {
    match (&peer.namespace, &peer.namespace_selector) {
        (Some(ns), _) => Some(vec![ns.as_str()]),
        (None, Some(_)) => None,
        (None, None) => Some(Vec::new()),
    }
}

fn reachability_watches(c: &ReachabilityCheck) -> Vec<WatchKey> {
    match (peer_namespaces(&c.from), peer_namespaces(&c.to)) {
        (Some(mut from), Some(to)) => {
            from.extend(to);
            from.sort_unstable();
            from.dedup();
            watches_for(Some(&from))
        }
        _ => watches_for(None),
    }
}

/// The analyzer's model of the live view: one endpoint per running pod.
pub fn model(view: &ClusterView) -> Result<Arc<Model>, String> {
    view.derived_netpol(|| {
        let mut builder = ModelBuilder::new().prefer(EndpointPreference::Pods);
        let mut skipped = Vec::new();
        for resource in RESOURCES {
            for object in view.objects(&resource, None) {
                let object = &object;
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

/// Runs one analyzer query over the live model, with the freshness every netpol check needs.
fn analyze(
    kind: &'static str,
    view: &ClusterView,
    query: impl FnOnce(&Model) -> Result<np::Finding, String>,
) -> Result<CheckVerdict, CheckVerdict> {
    for resource in &RESOURCES {
        require_fresh(kind, view, resource, None, false)?;
    }
    let unknown = |e: String| CheckVerdict::new(kind, Status::Unknown, e);
    let model =
        model(view).map_err(|e| unknown(format!("cannot model the cluster's policies: {e}")))?;
    let finding = query(&model).map_err(unknown)?;
    Ok(verdict(kind, finding))
}

impl CheckKind for DefaultDenyCheck {
    const NAME: &'static str = "default_deny";

    fn watches(&self) -> Vec<WatchKey> {
        watches_for(Some(&[self.namespace.as_str()]))
    }

    fn reads(&self) -> Vec<crate::cluster::Reads> {
        pod_reads()
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        analyze(Self::NAME, view, |model| {
            let directions: Vec<np::Direction> = self
                .directions
                .iter()
                .map(|d| match d {
                    Direction::Ingress => np::Direction::Ingress,
                    Direction::Egress => np::Direction::Egress,
                })
                .collect();
            Ok(np::default_deny(model, &self.namespace, &directions))
        })
    }
}

impl CheckKind for DnsEgressCheck {
    const NAME: &'static str = "dns_egress";

    fn watches(&self) -> Vec<WatchKey> {
        watches_for(Some(&[
            self.namespace.as_str(),
            self.dns_namespace.as_str(),
        ]))
    }

    fn reads(&self) -> Vec<crate::cluster::Reads> {
        pod_reads()
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        analyze(Self::NAME, view, |model| {
            let default = np::DnsTarget::default();
            let target = np::DnsTarget {
                namespace: self.dns_namespace.clone(),
                selector: selector(Some(&self.dns_selector))?,
                service: if self.dns_namespace == default.namespace {
                    default.service
                } else {
                    None
                },
            };
            Ok(np::dns_egress(model, &self.namespace, &target))
        })
    }
}

/// `allow`: the connection must be allowed by the cluster's policies.
pub struct Allow<'a>(pub &'a ReachabilityCheck);

/// `deny`: the connection must be refused by the cluster's policies.
pub struct Deny<'a>(pub &'a ReachabilityCheck);

fn reachability(
    kind: &'static str,
    c: &ReachabilityCheck,
    view: &ClusterView,
    query: fn(&Model, &EndpointSelector, &EndpointSelector, &[np::PortSpec]) -> np::Finding,
) -> Result<CheckVerdict, CheckVerdict> {
    analyze(kind, view, |model| {
        let from = endpoint(&c.from)?;
        let to = endpoint(&c.to)?;
        let ports: Vec<np::PortSpec> = c.ports.iter().map(|p| p.0).collect();
        Ok(query(model, &from, &to, &ports))
    })
}

impl CheckKind for Allow<'_> {
    const NAME: &'static str = "allow";

    fn watches(&self) -> Vec<WatchKey> {
        reachability_watches(self.0)
    }

    fn reads(&self) -> Vec<crate::cluster::Reads> {
        pod_reads()
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        reachability(Self::NAME, self.0, view, np::allow)
    }
}

impl CheckKind for Deny<'_> {
    const NAME: &'static str = "deny";

    fn watches(&self) -> Vec<WatchKey> {
        reachability_watches(self.0)
    }

    fn reads(&self) -> Vec<crate::cluster::Reads> {
        pod_reads()
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        reachability(Self::NAME, self.0, view, np::deny)
    }
}
