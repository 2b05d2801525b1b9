//! Lints: policy mistakes that silently change what traffic flows.

use std::fmt;

use crate::dns::{DnsTarget, DnsTargets, dns_egress, find_dns};
use crate::eval::matching_namespaces;
use crate::finding::Status;
use crate::model::{Direction, Model, NAMESPACE_NAME_LABEL, Peer, Policy, Rule};
use crate::port::{PortRef, PortSpec, Protocol};
use crate::selector::Labels;
// Kept here so `lint::suggest_label` paths from before the split still resolve.
pub use crate::suggestion::{LabelSuggestion, suggest_label};

/// How bad a lint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        })
    }
}

/// One finding about one policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lint {
    pub severity: Severity,
    /// Stable identifier, e.g. `namespace-selector-matches-nothing`.
    pub code: &'static str,
    /// `namespace/name` of the policy.
    pub policy: String,
    /// `egress[0]`, when the lint is about one rule.
    pub rule: Option<String>,
    /// One sentence.
    pub message: String,
    /// What would fix it.
    pub fix: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity, self.code, self.policy, self.message
        )?;
        write!(f, " Fix: {}", self.fix)
    }
}

fn rule_ref(direction: Direction, index: usize) -> String {
    format!("{direction}[{index}]")
}

fn peer_lints(
    model: &Model,
    policy: &Policy,
    direction: Direction,
    index: usize,
    peer: &Peer,
    out: &mut Vec<Lint>,
) {
    let Peer::Pods { namespaces, pods } = peer else {
        return;
    };
    let ns_names: Vec<&str> = match namespaces {
        Some(sel) => {
            let matched = matching_namespaces(model, sel);
            if matched.is_empty() {
                let suggestion = suggest_label(sel, model.namespaces.iter().map(|n| &n.labels));
                let (message_tail, fix) = match &suggestion {
                    Some(s) => (
                        format!(" (no namespace has the label {}: {})", s.wrong.0, s.wrong.1),
                        format!(
                            "{s}{}.",
                            if s.meant.0 == NAMESPACE_NAME_LABEL {
                                ", the label the API server sets on every namespace"
                            } else {
                                ""
                            }
                        ),
                    ),
                    None => (
                        String::new(),
                        "select namespaces by a label they carry, e.g. kubernetes.io/metadata.name: <namespace>.".to_string(),
                    ),
                };
                out.push(Lint {
                    severity: Severity::Error,
                    code: "namespace-selector-matches-nothing",
                    policy: policy.id(),
                    rule: Some(rule_ref(direction, index)),
                    message: format!(
                        "{} selects namespaces {sel}, which matches no namespace{message_tail}, so this peer allows nothing.",
                        rule_ref(direction, index)
                    ),
                    fix: format!("In {} {}, {fix}", policy.id(), rule_ref(direction, index)),
                });
                return;
            }
            matched
        }
        None => vec![policy.namespace.as_str()],
    };
    let Some(pod_sel) = pods else { return };
    let candidates: Vec<&Labels> = model
        .endpoints
        .iter()
        .filter(|e| {
            e.namespace
                .as_deref()
                .is_some_and(|ns| ns_names.contains(&ns))
        })
        .map(|e| &e.labels)
        .collect();
    if candidates.is_empty() || candidates.iter().any(|l| pod_sel.matches(l)) {
        return;
    }
    let suggestion = suggest_label(pod_sel, candidates.iter().copied());
    out.push(Lint {
        severity: Severity::Warning,
        code: "pod-selector-matches-nothing",
        policy: policy.id(),
        rule: Some(rule_ref(direction, index)),
        message: format!(
            "{} selects pods {pod_sel} in {}, which matches no pod or workload there.",
            rule_ref(direction, index),
            ns_names.join(", ")
        ),
        fix: match suggestion {
            Some(s) => format!("In {} {}, {s}.", policy.id(), rule_ref(direction, index)),
            None => format!(
                "In {} {}, select labels the intended pods carry (check their pod template labels).",
                policy.id(),
                rule_ref(direction, index)
            ),
        },
    });
}

/// Ports a rule allows explicitly for `protocol` by number (not by name or range-all).
fn allows(
    rule: &Rule,
    port: u16,
    protocol: Protocol,
    dns_ports: &[crate::port::ContainerPort],
) -> bool {
    match &rule.ports {
        None => true,
        Some(list) => list
            .iter()
            .any(|p| p.matches(PortSpec { port, protocol }, dns_ports)),
    }
}

fn mentions_port(rule: &Rule, port: u16) -> bool {
    rule.ports.iter().flatten().any(|p| {
        matches!(&p.port, Some(PortRef::Number(n)) if *n <= port && port <= p.end_port.unwrap_or(*n).max(*n))
            || matches!(&p.port, Some(PortRef::Name(n)) if n == "dns" || n == "dns-tcp")
    })
}

fn dns_rule_lints(dns: &DnsTargets, policy: &Policy, out: &mut Vec<Lint>) {
    let Some(rules) = &policy.egress else { return };
    let dns_ports: Vec<crate::port::ContainerPort> = dns
        .endpoints
        .iter()
        .flat_map(|e| e.ports.iter().cloned())
        .collect();
    for (i, rule) in rules.iter().enumerate() {
        if rule.ports.is_none() {
            continue;
        }
        let real = [dns.udp_port, dns.tcp_port];
        let is_dns_rule = mentions_port(rule, 53) || real.iter().any(|p| mentions_port(rule, *p));
        if !is_dns_rule {
            continue;
        }
        let udp = allows(rule, dns.udp_port, Protocol::Udp, &dns_ports);
        let tcp = allows(rule, dns.tcp_port, Protocol::Tcp, &dns_ports);
        let udp53 = allows(rule, 53, Protocol::Udp, &dns_ports);
        let tcp53 = allows(rule, 53, Protocol::Tcp, &dns_ports);
        let r = rule_ref(Direction::Egress, i);
        if dns.udp_port != 53 && (udp53 || tcp53) && !udp {
            out.push(Lint {
                severity: Severity::Error,
                code: "dns-port-not-pod-port",
                policy: policy.id(),
                rule: Some(r.clone()),
                message: format!(
                    "{r} allows DNS on port 53, but the DNS pods listen on {} ({}), and policies match the pod port after the Service is resolved.",
                    dns.udp_port, dns.port_source
                ),
                fix: format!(
                    "In {} {r}, allow {}/UDP and {}/TCP (or both 53 and {}).",
                    policy.id(),
                    dns.udp_port,
                    dns.tcp_port,
                    dns.udp_port
                ),
            });
        } else if (udp || udp53) && !(tcp || tcp53) {
            out.push(Lint {
                severity: Severity::Warning,
                code: "dns-rule-without-tcp",
                policy: policy.id(),
                rule: Some(r.clone()),
                message: format!(
                    "{r} allows DNS over UDP only; answers larger than 512 bytes and zone transfers retry over TCP and will time out."
                ),
                fix: format!("In {} {r}, add {{protocol: TCP, port: {}}}.", policy.id(), dns.tcp_port),
            });
        }
    }
}

/// Every lint for the model, errors first.
pub fn lint(model: &Model) -> Vec<Lint> {
    lint_with_dns(model, &DnsTarget::default())
}

/// Like [`lint`], with a non-default cluster DNS.
pub fn lint_with_dns(model: &Model, target: &DnsTarget) -> Vec<Lint> {
    let mut out = Vec::new();
    for policy in &model.policies {
        let selected = model.endpoints.iter().any(|e| {
            e.namespace.as_deref() == Some(policy.namespace.as_str())
                && policy.pod_selector.matches(&e.labels)
        });
        let namespace_has_endpoints = model
            .endpoints
            .iter()
            .any(|e| e.namespace.as_deref() == Some(policy.namespace.as_str()));
        if !selected && namespace_has_endpoints {
            let suggestion = suggest_label(
                &policy.pod_selector,
                model
                    .endpoints
                    .iter()
                    .filter(|e| e.namespace.as_deref() == Some(policy.namespace.as_str()))
                    .map(|e| &e.labels),
            );
            out.push(Lint {
                severity: Severity::Warning,
                code: "policy-selects-no-pods",
                policy: policy.id(),
                rule: None,
                message: format!(
                    "podSelector {} matches no pod or workload in {}, so the policy has no effect.",
                    policy.pod_selector, policy.namespace
                ),
                fix: match suggestion {
                    Some(s) => format!("In {} podSelector, {s}.", policy.id()),
                    None => format!(
                        "Set podSelector to labels the intended pods in {} carry.",
                        policy.namespace
                    ),
                },
            });
        }
        for direction in [Direction::Ingress, Direction::Egress] {
            for (i, rule) in policy
                .rules(direction)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                for peer in rule.peers.iter().flatten() {
                    peer_lints(model, policy, direction, i, peer, &mut out);
                }
            }
        }
    }
    let dns = find_dns(model, target);
    if let Ok(dns) = &dns {
        for policy in &model.policies {
            dns_rule_lints(dns, policy, &mut out);
        }
    }
    let mut namespaces: Vec<&str> = model
        .endpoints
        .iter()
        .filter(|e| {
            model
                .policies
                .iter()
                .any(|p| crate::eval::selects(p, e, Direction::Egress))
        })
        .filter_map(|e| e.namespace.as_deref())
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for ns in namespaces {
        if ns == target.namespace {
            continue;
        }
        let anchor = model
            .policies
            .iter()
            .filter(|p| p.namespace == ns && p.egress.is_some())
            .min_by_key(|p| {
                (
                    p.egress.as_ref().is_some_and(|e| !e.is_empty()),
                    !p.pod_selector.is_everything(),
                )
            })
            .map(Policy::id)
            .unwrap_or_else(|| ns.to_string());
        match &dns {
            Ok(_) => {
                let finding = dns_egress(model, ns, target);
                if finding.status == Status::Fail {
                    out.push(Lint {
                        severity: Severity::Error,
                        code: "egress-deny-without-dns",
                        policy: anchor,
                        rule: None,
                        message: format!(
                            "Egress is restricted in {ns} and {}.",
                            lowercase_first(&finding.summary)
                        ),
                        fix: finding.fix.unwrap_or_default(),
                    });
                }
            }
            Err(_) => {
                let any_53 = model
                    .policies
                    .iter()
                    .filter(|p| p.namespace == ns)
                    .any(|p| {
                        p.egress
                            .iter()
                            .flatten()
                            .any(|r| allows(r, 53, Protocol::Udp, &[]))
                    });
                if !any_53 {
                    out.push(Lint {
                        severity: Severity::Error,
                        code: "egress-deny-without-dns",
                        policy: anchor,
                        rule: None,
                        message: format!(
                            "Egress is restricted in {ns} and no egress rule there allows port 53/UDP, so name resolution fails."
                        ),
                        fix: format!(
                            "Add an egress rule in {ns} to namespaceSelector {{{NAMESPACE_NAME_LABEL}: {}}}, podSelector {}, ports 53/UDP and 53/TCP.",
                            target.namespace, target.selector
                        ),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (a.severity, &a.policy, &a.rule).cmp(&(b.severity, &b.policy, &b.rule)));
    out
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
