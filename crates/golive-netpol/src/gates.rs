//! Reachability gates: default deny in a namespace, `allow` and `deny` between
//! endpoints, and the [`EndpointSelector`] they take. The DNS gate is in `dns.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::eval::{self, IpMatch, RuleRef};
use crate::finding::{EVIDENCE_LIMIT, Finding, Status, push_counted};
use crate::model::{Direction, Endpoint, ExternalAddr, Model, Policy};
use crate::port::{PortRef, PortSpec, Protocol};
use crate::selector::{Selector, SelectorError};
// Kept here so `gates::…` paths from before the split still resolve.
pub use crate::dns::{DnsTarget, DnsTargets, dns_egress, find_dns};

/// Default deny in `namespace` for each direction: every pod is isolated and no
/// rule of a policy there allows all traffic of that direction.
pub fn default_deny(model: &Model, namespace: &str, directions: &[Direction]) -> Finding {
    let endpoints: Vec<&Endpoint> = model.endpoints_in(namespace).collect();
    let mut failures = Vec::new();
    let mut fixes = Vec::new();
    let mut evidence = Vec::new();
    let mut unknown = Vec::new();
    for &direction in directions {
        let policies: Vec<&Policy> = model
            .policies
            .iter()
            .filter(|p| p.namespace == namespace && p.rules(direction).is_some())
            .collect();
        let deny_all: Vec<&&Policy> = policies
            .iter()
            .filter(|p| {
                p.pod_selector.is_everything() && p.rules(direction).is_some_and(<[_]>::is_empty)
            })
            .collect();
        for p in &deny_all {
            evidence.push(format!(
                "{} selects every pod in {namespace} for {direction} and has no {direction} rules",
                p.id()
            ));
        }
        let not_isolated: Vec<&str> = endpoints
            .iter()
            .filter(|e| !policies.iter().any(|p| eval::selects(p, e, direction)))
            .map(|e| e.name.as_str())
            .collect();
        if deny_all.is_empty() {
            if endpoints.is_empty() {
                unknown.push(direction);
            } else if !not_isolated.is_empty() {
                failures.push(format!(
                    "{direction} is not denied by default ({} of {} not selected by any {direction} policy: {})",
                    not_isolated.len(),
                    endpoints.len(),
                    not_isolated.join(", ")
                ));
                fixes.push(format!(
                    "add a NetworkPolicy in {namespace} with podSelector: {{}}, policyTypes: [{}] and no {direction} rules",
                    if direction == Direction::Ingress { "Ingress" } else { "Egress" }
                ));
            } else {
                let names: Vec<String> = policies.iter().map(|p| p.id()).collect();
                evidence.push(format!(
                    "every pod in {namespace} is selected for {direction} by at least one of {}",
                    names.join(", ")
                ));
            }
        }
        for p in &policies {
            for (i, rule) in p.rules(direction).unwrap_or_default().iter().enumerate() {
                if rule.peers.is_none() && rule.ports.is_none() {
                    failures.push(format!(
                        "{} {direction}[{i}] allows all {direction} traffic",
                        p.id()
                    ));
                    fixes.push(format!(
                        "restrict {} {direction}[{i}] with peers and ports",
                        p.id()
                    ));
                }
            }
        }
    }
    let dirs: Vec<String> = directions.iter().map(ToString::to_string).collect();
    let dirs = dirs.join(" and ");
    let mut finding = if !failures.is_empty() {
        let mut f = Finding::new(
            Status::Fail,
            format!("{namespace}: {}", failures.join("; ")),
        );
        f.fix = Some(format!("In {namespace}, {}.", fixes.join("; ")));
        f
    } else if !unknown.is_empty() {
        let u: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        Finding::new(
            Status::Unknown,
            format!(
                "{namespace} has no pods or workloads and no podSelector {{}} policy denying {}; cannot tell",
                u.join(" and ")
            ),
        )
    } else {
        Finding::new(
            Status::Pass,
            format!("{namespace} denies {dirs} by default"),
        )
    };
    finding.evidence = evidence;
    finding
}

/// Which endpoints a gate talks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSelector {
    /// One endpoint by `namespace/name`.
    Name(String),
    /// Pods in one namespace matching labels (`{}` = all pods there).
    Pods {
        namespace: String,
        selector: Selector,
    },
    /// All pods in namespaces matching labels.
    Namespaces(Selector),
    External(ExternalAddr),
}

/// A selector string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid endpoint selector {input:?}: {reason}; expected namespace/name, namespace/* , namespace[app=web], namespaces[team=a], an IP, a CIDR or external"
)]
pub struct EndpointSelectorError {
    pub input: String,
    pub reason: String,
}

impl FromStr for EndpointSelector {
    type Err = EndpointSelectorError;
    /// `ns/name`, `ns/*`, `ns[app=web]`, `namespaces[team=a]`, `8.8.8.8`, `10.0.0.0/8`, `external`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let err = |reason: String| EndpointSelectorError {
            input: s.to_string(),
            reason,
        };
        let sel =
            |inner: &str| Selector::parse(inner).map_err(|e: SelectorError| err(e.to_string()));
        if let Some(rest) = text.strip_suffix(']') {
            let Some((head, inner)) = rest.split_once('[') else {
                return Err(err("unbalanced brackets".into()));
            };
            let selector = sel(inner)?;
            return Ok(if head == "namespaces" {
                Self::Namespaces(selector)
            } else {
                Self::Pods {
                    namespace: head.to_string(),
                    selector,
                }
            });
        }
        if let Ok(addr) = ExternalAddr::parse(text) {
            return Ok(Self::External(addr));
        }
        match text.split_once('/') {
            Some((ns, "*")) if !ns.is_empty() => Ok(Self::Pods {
                namespace: ns.to_string(),
                selector: Selector::everything(),
            }),
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
                Ok(Self::Name(text.to_string()))
            }
            _ => Err(err("not recognised".into())),
        }
    }
}

impl TryFrom<String> for EndpointSelector {
    type Error = EndpointSelectorError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl<'de> serde::Deserialize<'de> for EndpointSelector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for EndpointSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => f.write_str(n),
            Self::Pods {
                namespace,
                selector,
            } if selector.is_everything() => write!(f, "{namespace}/*"),
            Self::Pods {
                namespace,
                selector,
            } => {
                write!(
                    f,
                    "{namespace}[{}]",
                    selector.to_string().trim_matches(['{', '}'])
                )
            }
            Self::Namespaces(s) => {
                write!(f, "namespaces[{}]", s.to_string().trim_matches(['{', '}']))
            }
            Self::External(a) => write!(f, "{a}"),
        }
    }
}

impl EndpointSelector {
    /// The endpoints this selects in the model.
    pub fn resolve(&self, model: &Model) -> Result<Vec<Endpoint>, String> {
        match self {
            Self::Name(n) => model.resolve(n).map(|e| vec![e]).map_err(|e| e.to_string()),
            Self::Pods {
                namespace,
                selector,
            } => Ok(model
                .endpoints_in(namespace)
                .filter(|e| selector.matches(&e.labels))
                .cloned()
                .collect()),
            Self::Namespaces(sel) => Ok(model
                .endpoints
                .iter()
                .filter(|e| {
                    e.namespace
                        .as_deref()
                        .is_some_and(|ns| sel.matches(&model.namespace_labels(ns)))
                })
                .cloned()
                .collect()),
            Self::External(a) => Ok(vec![
                model
                    .endpoints
                    .iter()
                    .find(|e| e.kind == crate::model::EndpointKind::External(*a))
                    .cloned()
                    .unwrap_or_else(|| Endpoint::external(*a)),
            ]),
        }
    }
}

fn rules_text(rules: &[RuleRef], direction: Direction) -> String {
    if rules.is_empty() {
        format!("{direction} unrestricted")
    } else {
        rules
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn resolve_pair(
    model: &Model,
    from: &EndpointSelector,
    to: &EndpointSelector,
) -> Result<(Vec<Endpoint>, Vec<Endpoint>), Finding> {
    let side = |sel: &EndpointSelector, what: &str| match sel.resolve(model) {
        Ok(list) if !list.is_empty() => Ok(list),
        Ok(_) => Err(Finding::new(
            Status::Unknown,
            format!("{what} selector {sel} matches no endpoint; nothing to check"),
        )),
        Err(e) => Err(Finding::new(
            Status::Unknown,
            format!("{what} selector {sel}: {e}"),
        )),
    };
    Ok((side(from, "source")?, side(to, "destination")?))
}

/// Every source may reach every destination on every port.
pub fn allow(
    model: &Model,
    from: &EndpointSelector,
    to: &EndpointSelector,
    ports: &[PortSpec],
) -> Finding {
    let (sources, dests) = match resolve_pair(model, from, to) {
        Ok(p) => p,
        Err(f) => return f,
    };
    if ports.is_empty() {
        return Finding::new(
            Status::Unknown,
            format!("no ports given for {from} -> {to}"),
        );
    }
    let mut allowed_lines = Vec::new();
    let mut allowed_total = 0;
    // Explanations (sentences naming the endpoints) only for the pairs shown.
    let mut denied = Vec::new();
    let mut denied_total = 0;
    let mut checked = 0;
    let mut explainer = eval::Explainer::new(model);
    for s in &sources {
        for t in &dests {
            if s.name == t.name {
                continue;
            }
            for &port in ports {
                checked += 1;
                let judged = explainer.judge(s, t, port, IpMatch::All);
                if judged.allowed {
                    allowed_total += 1;
                    if allowed_lines.len() < EVIDENCE_LIMIT {
                        allowed_lines.push(format!(
                            "{} -> {}:{port} allowed: {}; {}",
                            s.name,
                            t.name,
                            rules_text(&judged.egress_by, Direction::Egress),
                            rules_text(&judged.ingress_by, Direction::Ingress)
                        ));
                    }
                } else {
                    denied_total += 1;
                    if denied.len() < EVIDENCE_LIMIT {
                        denied.push(explainer.explain(s, t, port, IpMatch::All));
                    }
                }
            }
        }
    }
    let port_list: Vec<String> = ports.iter().map(ToString::to_string).collect();
    if checked == 0 {
        return Finding::new(
            Status::Unknown,
            format!("{from} -> {to}: no distinct pairs to check"),
        );
    }
    if denied.is_empty() {
        let mut f = Finding::new(
            Status::Pass,
            format!(
                "{from} -> {to} allowed on {} ({checked} checks)",
                port_list.join(", ")
            ),
        );
        push_counted(&mut f.evidence, allowed_lines, allowed_total);
        return f;
    }
    let first = &denied[0];
    let mut f = Finding::new(
        Status::Fail,
        format!(
            "{} of {checked} connections {from} -> {to} on {} are denied; {} -> {}:{}: {}",
            denied_total,
            port_list.join(", "),
            first.from,
            first.to,
            first.port,
            first.denial().unwrap_or_default()
        ),
    );
    push_counted(
        &mut f.evidence,
        denied.iter().map(|e| {
            format!(
                "{} -> {}:{} denied: {}",
                e.from,
                e.to,
                e.port,
                e.denial().unwrap_or_default()
            )
        }),
        denied_total,
    );
    let side = if first.egress.allowed() {
        Direction::Ingress
    } else {
        Direction::Egress
    };
    f.fix = Some(match side {
        Direction::Egress => format!(
            "Add an egress rule to a policy selecting {} that allows {} on {}.",
            first.from,
            to,
            port_list.join(", ")
        ),
        Direction::Ingress => format!(
            "Add an ingress rule to a policy selecting {} that allows {} on {}.",
            first.to,
            from,
            port_list.join(", ")
        ),
    });
    f
}

/// Candidate ports where the answer can change: every rule port start, each
/// destination container port, and port 1, per protocol.
fn candidate_ports(model: &Model, dests: &[Endpoint]) -> Vec<PortSpec> {
    let mut set = BTreeSet::new();
    for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
        set.insert(PortSpec { port: 1, protocol });
    }
    for p in &model.policies {
        for r in p.ingress.iter().flatten().chain(p.egress.iter().flatten()) {
            for pr in r.ports.iter().flatten() {
                if let Some(PortRef::Number(n)) = pr.port {
                    set.insert(PortSpec {
                        port: n,
                        protocol: pr.protocol,
                    });
                }
            }
        }
    }
    for d in dests {
        for cp in &d.ports {
            set.insert(PortSpec {
                port: cp.port,
                protocol: cp.protocol,
            });
        }
    }
    set.into_iter().collect()
}

/// No source may reach any destination on any of the ports (all ports when empty).
pub fn deny(
    model: &Model,
    from: &EndpointSelector,
    to: &EndpointSelector,
    ports: &[PortSpec],
) -> Finding {
    let (sources, dests) = match resolve_pair(model, from, to) {
        Ok(p) => p,
        Err(f) => return f,
    };
    let all_ports = ports.is_empty();
    let ports: Vec<PortSpec> = if all_ports {
        candidate_ports(model, &dests)
    } else {
        ports.to_vec()
    };
    let port_text = if all_ports {
        "any port".to_string()
    } else {
        ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Explanations (sentences naming the endpoints) only for the pairs shown.
    let mut allowed = Vec::new();
    let mut allowed_total = 0;
    let mut allowing_rules: BTreeSet<String> = BTreeSet::new();
    let mut denial_lines = Vec::new();
    let mut checked = 0;
    let mut explainer = eval::Explainer::new(model);
    for s in &sources {
        for t in &dests {
            if s.name == t.name {
                continue;
            }
            for &port in &ports {
                checked += 1;
                let judged = explainer.judge(s, t, port, IpMatch::Any);
                if judged.allowed {
                    allowed_total += 1;
                    allowing_rules.extend(
                        judged
                            .egress_by
                            .iter()
                            .chain(&judged.ingress_by)
                            .map(ToString::to_string),
                    );
                    if allowed.len() < EVIDENCE_LIMIT {
                        allowed.push(explainer.explain(s, t, port, IpMatch::Any));
                    }
                } else if denial_lines.len() < 3 {
                    let e = explainer.explain(s, t, port, IpMatch::Any);
                    denial_lines.push(format!(
                        "{} -> {}:{port} denied: {}",
                        s.name,
                        t.name,
                        e.denial().unwrap_or_default()
                    ));
                }
            }
        }
    }
    if checked == 0 {
        return Finding::new(
            Status::Unknown,
            format!("{from} -> {to}: no distinct pairs to check"),
        );
    }
    if allowed.is_empty() {
        let mut f = Finding::new(
            Status::Pass,
            format!("{from} -> {to} denied on {port_text}"),
        );
        f.evidence = denial_lines;
        return f;
    }
    let first = &allowed[0];
    let mut f = Finding::new(
        Status::Fail,
        format!(
            "{} -> {}:{} is allowed ({}; {}), but {from} -> {to} must be denied on {port_text}",
            first.from,
            first.to,
            first.port,
            rules_text(&first.egress.allowed_by, Direction::Egress),
            rules_text(&first.ingress.allowed_by, Direction::Ingress)
        ),
    );
    push_counted(
        &mut f.evidence,
        allowed.iter().map(|e| {
            format!(
                "{} -> {}:{} allowed: {}; {}",
                e.from,
                e.to,
                e.port,
                rules_text(&e.egress.allowed_by, Direction::Egress),
                rules_text(&e.ingress.allowed_by, Direction::Ingress)
            )
        }),
        allowed_total,
    );
    let rules = allowing_rules;
    f.fix = Some(if rules.is_empty() {
        format!(
            "Select {} for ingress (or {} for egress) with a policy that does not allow this traffic.",
            to, from
        )
    } else {
        format!(
            "Narrow {} so they no longer match this traffic.",
            rules.into_iter().collect::<Vec<_>>().join(", ")
        )
    });
    f
}
