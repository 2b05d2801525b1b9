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

/// The namespaces whose pods, services and policies a check's question involves, read
/// off its watches: `None` when it watches pods everywhere (a `namespace_selector` peer).
/// A model of just those namespaces gives the same answer as one of the whole view, and
/// pods that other gates watch (thousands, in a big cluster) are not modelled for it.
pub fn scope_of(watches: &[WatchKey]) -> Option<Vec<String>> {
    let mut namespaces = Vec::new();
    for key in watches.iter().filter(|k| k.resource == PODS) {
        namespaces.push(key.namespace.clone()?);
    }
    namespaces.sort_unstable();
    namespaces.dedup();
    Some(namespaces)
}

/// The analyzer's model of the live view: one endpoint per running pod, over `scope`'s
/// namespaces (every watched namespace when `None`); Namespaces are always all read,
/// since `namespaceSelector` rules match their labels.
pub fn model(view: &ClusterView, scope: Option<&[String]>) -> Result<Arc<Model>, String> {
    view.derived_netpol(scope, &RESOURCES, || {
        let mut builder = ModelBuilder::new().prefer(EndpointPreference::Pods);
        let mut skipped = Vec::new();
        let mut add = |object: serde_json::Value| {
            if let Err(e) = builder.add_value(&object, "cluster") {
                skipped.push(e.to_string());
            }
        };
        for resource in RESOURCES {
            match scope {
                Some(namespaces) if resource.namespaced => {
                    for ns in namespaces {
                        view.objects(&resource, Some(ns)).for_each(&mut add);
                    }
                }
                _ => view.objects(&resource, None).for_each(&mut add),
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

/// Runs one analyzer query over the live model of the namespaces `watches` name, with
/// the freshness every netpol check needs.
fn analyze(
    kind: &'static str,
    view: &ClusterView,
    watches: &[WatchKey],
    query: impl FnOnce(&Model) -> Result<np::Finding, String>,
) -> Result<CheckVerdict, CheckVerdict> {
    let scope = scope_of(watches);
    for resource in &RESOURCES {
        match &scope {
            Some(namespaces) if resource.namespaced => {
                for ns in namespaces {
                    require_fresh(kind, view, resource, Some(ns), false)?;
                }
            }
            _ => require_fresh(kind, view, resource, None, false)?,
        }
    }
    let unknown = |e: String| CheckVerdict::new(kind, Status::Unknown, e);
    let model = model(view, scope.as_deref())
        .map_err(|e| unknown(format!("cannot model the cluster's policies: {e}")))?;
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
        analyze(Self::NAME, view, &self.watches(), |model| {
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
        analyze(Self::NAME, view, &self.watches(), |model| {
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
    analyze(kind, view, &reachability_watches(c), |model| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterEvent, Stored};
    use crate::gates::test_views::synced;
    use serde_json::{Value, json};

    fn namespace(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}})
    }

    fn pod(ns: &str, name: &str, ip: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
               "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
               "status": {"phase": "Running", "podIP": ip}})
    }

    fn objects() -> Vec<Value> {
        vec![
            namespace("gravl-staging"),
            namespace("load-00"),
            pod("gravl-staging", "api", "10.0.0.1"),
            pod("load-00", "filler", "10.0.9.1"),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "deny-all", "namespace": "gravl-staging"},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ]
    }

    fn check() -> DefaultDenyCheck {
        DefaultDenyCheck {
            namespace: "gravl-staging".into(),
            directions: vec![Direction::Ingress, Direction::Egress],
        }
    }

    fn at() -> jiff::Timestamp {
        "2026-12-04T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_check_models_only_the_namespaces_it_asks_about() {
        let c = check();
        let mut keys = c.watches();
        // Another gate watches a big namespace's pods.
        keys.push(WatchKey::namespaced(PODS, "load-00"));
        let view = synced(&keys, &objects(), at());
        let scope = scope_of(&c.watches());
        assert_eq!(scope.as_deref(), Some(&["gravl-staging".to_string()][..]));
        let model = model(&view, scope.as_deref()).unwrap();
        let names: Vec<&str> = model.endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["gravl-staging/api"]);
        // Every namespace is still known, for namespaceSelector rules.
        assert!(model.namespace("load-00").is_some());
        // The whole view's model has the other pod: `golive netpol` asks for it.
        let all = super::model(&view, None).unwrap();
        assert_eq!(all.endpoints.len(), 2);

        // The verdict is the one the check gives when nobody watches load-00.
        let alone = synced(&c.watches(), &objects(), at());
        let ctx = Context::new(at());
        let shown = |v: Result<CheckVerdict, CheckVerdict>| format!("{v:?}");
        assert_eq!(
            shown(c.evaluate(&view, &ctx)),
            shown(c.evaluate(&alone, &ctx))
        );
        assert_eq!(c.evaluate(&view, &ctx).unwrap().status, Status::Fail);
    }

    #[test]
    fn a_change_outside_the_scope_keeps_the_model_and_one_inside_rebuilds_it() {
        let c = check();
        let mut keys = c.watches();
        keys.push(WatchKey::namespaced(PODS, "load-00"));
        let mut view = synced(&keys, &objects(), at());
        let scope = scope_of(&c.watches());
        let first = model(&view, scope.as_deref()).unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &model(&view, scope.as_deref()).unwrap()
        ));

        view.apply(
            ClusterEvent::Applied {
                key: WatchKey::namespaced(PODS, "load-00"),
                object: Stored::new(&pod("load-00", "filler-2", "10.0.9.2")),
            },
            at(),
        );
        let outside = model(&view, scope.as_deref()).unwrap();
        assert!(
            Arc::ptr_eq(&first, &outside),
            "a load-00 pod rebuilt the model"
        );

        view.apply(
            ClusterEvent::Applied {
                key: WatchKey::namespaced(PODS, "gravl-staging"),
                object: Stored::new(&pod("gravl-staging", "worker", "10.0.0.2")),
            },
            at(),
        );
        let inside = model(&view, scope.as_deref()).unwrap();
        assert!(!Arc::ptr_eq(&first, &inside));
        assert_eq!(inside.endpoints.len(), 2);
    }

    #[test]
    fn a_namespace_selector_peer_models_every_watched_namespace() {
        let keys = watches_for(None);
        assert_eq!(scope_of(&keys), None);
        let view = synced(&keys, &objects(), at());
        assert_eq!(model(&view, None).unwrap().endpoints.len(), 2);
    }
}
