//! The cluster DNS: where its pods run, the ports they really listen on, and the
//! `dns_egress` gate that every pod of a namespace can reach them.

use std::collections::BTreeSet;

use crate::eval::{self, Explanation, IpMatch};
use crate::finding::{EVIDENCE_LIMIT, Finding, Status, push_counted};
use crate::model::{Endpoint, Model, NAMESPACE_NAME_LABEL, Peer};
use crate::port::{PortRef, PortSpec, Protocol};
use crate::selector::Selector;
use crate::suggestion::suggest_label;

/// Where the cluster DNS runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTarget {
    pub namespace: String,
    pub selector: Selector,
    /// The Service in front of the DNS pods; its targetPort is the real pod port.
    pub service: Option<String>,
}

impl Default for DnsTarget {
    fn default() -> Self {
        Self {
            namespace: "kube-system".to_string(),
            selector: Selector::labels([("k8s-app", "kube-dns")]),
            service: Some("kube-dns".to_string()),
        }
    }
}

/// The DNS pods found in a model and the ports they really listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTargets {
    pub endpoints: Vec<Endpoint>,
    pub udp_port: u16,
    pub tcp_port: u16,
    /// Where the ports came from, for evidence.
    pub port_source: String,
}

/// Finds the DNS pods and their real ports (Service targetPort, then container
/// ports named `dns`/`dns-tcp`, then 53).
pub fn find_dns(model: &Model, target: &DnsTarget) -> Result<DnsTargets, String> {
    let endpoints: Vec<Endpoint> = model
        .endpoints_in(&target.namespace)
        .filter(|e| target.selector.matches(&e.labels))
        .cloned()
        .collect();
    if endpoints.is_empty() {
        return Err(format!(
            "no pod or workload in {} matches {}",
            target.namespace, target.selector
        ));
    }
    let service = model.services.iter().find(|s| {
        s.namespace == target.namespace
            && (target.service.as_deref() == Some(s.name.as_str())
                || s.selector.as_ref().is_some_and(|sel| {
                    !sel.is_empty()
                        && endpoints
                            .iter()
                            .any(|e| sel.iter().all(|(k, v)| e.labels.get(k) == Some(v)))
                }))
    });
    let named = |name: &str, protocol: Protocol| {
        endpoints
            .iter()
            .flat_map(|e| e.ports.iter())
            .find(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
            .map(|p| p.port)
    };
    let mut source = Vec::new();
    let mut resolve = |protocol: Protocol, fallback_name: &str| -> u16 {
        if let Some(svc) = service
            && let Some(sp) = svc
                .ports
                .iter()
                .find(|p| p.protocol == protocol && p.port == 53)
                .or_else(|| svc.ports.iter().find(|p| p.protocol == protocol))
        {
            let port = match &sp.target_port {
                None => Some(sp.port),
                Some(PortRef::Number(n)) => Some(*n),
                Some(PortRef::Name(n)) => named(n, protocol),
            };
            if let Some(port) = port {
                source.push(format!(
                    "Service {}/{} port {}/{protocol} targetPort {port}",
                    svc.namespace, svc.name, sp.port
                ));
                return port;
            }
        }
        if let Some(port) = named(fallback_name, protocol) {
            source.push(format!("container port {fallback_name} {port}/{protocol}"));
            return port;
        }
        source.push(format!("default 53/{protocol}"));
        53
    };
    let udp_port = resolve(Protocol::Udp, "dns");
    let tcp_port = resolve(Protocol::Tcp, "dns-tcp");
    Ok(DnsTargets {
        endpoints,
        udp_port,
        tcp_port,
        port_source: source.join(", "),
    })
}

fn dns_rule_fix(
    model: &Model,
    explanation: &Explanation,
    dns: &DnsTargets,
) -> Option<(String, String)> {
    let verdict = if explanation.egress.allowed() {
        &explanation.ingress
    } else {
        &explanation.egress
    };
    for (rule_ref, why) in &verdict.misses {
        let Some(policy) = model.policy(&rule_ref.policy) else {
            continue;
        };
        let Some(rule) = policy
            .rules(rule_ref.direction)
            .and_then(|r| r.get(rule_ref.index))
        else {
            continue;
        };
        let port_ok = rule.ports.as_ref().is_none_or(|ps| {
            ps.iter().any(|p| {
                dns.endpoints
                    .iter()
                    .any(|e| p.matches(explanation.port, &e.ports))
            })
        });
        let short = format!(
            "{} {}[{}]",
            rule_ref
                .policy
                .rsplit('/')
                .next()
                .unwrap_or(&rule_ref.policy),
            rule_ref.direction,
            rule_ref.index
        );
        if port_ok && rule.ports.is_some() {
            for peer in rule.peers.iter().flatten() {
                if let Peer::Pods {
                    namespaces: Some(sel),
                    ..
                } = peer
                    && eval::matching_namespaces(model, sel).is_empty()
                    && let Some(s) = suggest_label(sel, model.namespaces.iter().map(|n| &n.labels))
                {
                    return Some((format!("{short} {why}"), format!("In {rule_ref}, {s}.")));
                }
            }
            return Some((format!("{short} {why}"), String::new()));
        }
        let mentions_53 = rule
            .ports
            .iter()
            .flatten()
            .any(|p| matches!(p.port, Some(PortRef::Number(53))));
        if mentions_53 && !port_ok {
            return Some((
                format!(
                    "{short} allows port 53, but the DNS pods listen on {} ({})",
                    explanation.port.port, dns.port_source
                ),
                format!(
                    "In {rule_ref}, allow {}/UDP and {}/TCP.",
                    dns.udp_port, dns.tcp_port
                ),
            ));
        }
    }
    None
}

/// Every pod or workload in `namespace` can reach every DNS pod on UDP and TCP at
/// the DNS pods' real port.
pub fn dns_egress(model: &Model, namespace: &str, target: &DnsTarget) -> Finding {
    let dns = match find_dns(model, target) {
        Ok(d) => d,
        Err(why) => {
            let mut f = Finding::new(
                Status::Unknown,
                format!("cluster DNS pods not found: {why}"),
            );
            f.fix = Some(format!(
                "Load the DNS objects (the {} Deployment and Service in {}) or configure the DNS selector.",
                target.selector, target.namespace
            ));
            return f;
        }
    };
    let sources: Vec<&Endpoint> = model.endpoints_in(namespace).collect();
    if sources.is_empty() {
        return Finding::new(
            Status::Unknown,
            format!("no pods or workloads found in {namespace}; cannot check DNS egress"),
        );
    }
    let dns_names: Vec<&str> = dns.endpoints.iter().map(|e| e.name.as_str()).collect();
    let ports = [PortSpec::udp(dns.udp_port), PortSpec::tcp(dns.tcp_port)];
    let mut header = vec![format!(
        "DNS pods: {} ({} in {}); ports {} and {} from {}",
        dns_names.join(", "),
        target.selector,
        target.namespace,
        ports[0],
        ports[1],
        dns.port_source
    )];
    // Explanations (sentences naming the endpoints) only for the pairs shown.
    let mut failing: Vec<Explanation> = Vec::new();
    let mut failing_total = 0;
    let mut failing_sources = BTreeSet::new();
    let mut rules: BTreeSet<String> = BTreeSet::new();
    let mut explainer = eval::Explainer::new(model);
    for src in &sources {
        for dst in &dns.endpoints {
            for port in ports {
                let judged = explainer.judge(src, dst, port, IpMatch::All);
                if judged.allowed {
                    for r in judged.egress_by.iter().chain(&judged.ingress_by) {
                        rules.insert(r.to_string());
                    }
                } else {
                    failing_sources.insert(src.name.clone());
                    failing_total += 1;
                    if failing.len() < EVIDENCE_LIMIT {
                        failing.push(explainer.explain(src, dst, port, IpMatch::All));
                    }
                }
            }
        }
    }
    if failing.is_empty() {
        let mut f = Finding::new(
            Status::Pass,
            format!(
                "all {} endpoints in {namespace} can reach cluster DNS on {} and {}",
                sources.len(),
                ports[0],
                ports[1]
            ),
        );
        header.extend(rules.into_iter().map(|r| format!("{r} allows DNS")));
        f.evidence = header;
        return f;
    }
    let first = &failing[0];
    let (reason, fix) = match dns_rule_fix(model, first, &dns) {
        Some((reason, fix)) if !fix.is_empty() => (reason, fix),
        Some((reason, _)) => (reason, generic_dns_fix(namespace, target, &dns, first)),
        None => (
            first.denial().unwrap_or_default(),
            generic_dns_fix(namespace, target, &dns, first),
        ),
    };
    let mut f = Finding::new(
        Status::Fail,
        format!(
            "{} of {} endpoints in {namespace} cannot reach cluster DNS: {reason}",
            failing_sources.len(),
            sources.len()
        ),
    );
    push_counted(
        &mut header,
        failing.iter().map(|e| {
            format!(
                "{} -> {}:{} denied: {}",
                e.from,
                e.to,
                e.port,
                e.denial().unwrap_or_default()
            )
        }),
        failing_total,
    );
    f.evidence = header;
    f.fix = Some(fix);
    f
}

fn generic_dns_fix(
    namespace: &str,
    target: &DnsTarget,
    dns: &DnsTargets,
    e: &Explanation,
) -> String {
    if e.egress.allowed() {
        format!(
            "Allow ingress to the DNS pods ({} in {}) from {namespace} on {}/UDP and {}/TCP.",
            target.selector, target.namespace, dns.udp_port, dns.tcp_port
        )
    } else {
        format!(
            "Add an egress rule for every pod in {namespace}: to namespaceSelector {{{NAMESPACE_NAME_LABEL}: {}}} with podSelector {}, ports {}/UDP and {}/TCP.",
            target.namespace, target.selector, dns.udp_port, dns.tcp_port
        )
    }
}
