//! Reference semantics, one connection at a time, with the reasons kept.
//!
//! The bitset engine (`engine.rs`) must agree with this file; tests check both.

use std::fmt;

use crate::cidr::{Cidr, non_public_ranges};
use crate::model::{Direction, Endpoint, EndpointKind, ExternalAddr, Model, Peer, Policy, Rule};
use crate::port::PortSpec;
use crate::selector::{Selector, format_labels};

/// How an external CIDR endpoint is compared with an `ipBlock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IpMatch {
    /// Every address of the endpoint must be in the block (used to prove "allowed").
    #[default]
    All,
    /// Some address of the endpoint is in the block (used to prove "denied").
    Any,
}

/// Whether an `ipBlock` matches an endpoint. In-cluster pods match by their podIP
/// when known (Calico and Cilium behaviour); workloads have no IP and never match.
pub fn ip_block_matches(cidr: &Cidr, except: &[Cidr], endpoint: &Endpoint, mode: IpMatch) -> bool {
    match &endpoint.kind {
        EndpointKind::External(ExternalAddr::Cidr(c)) => match mode {
            IpMatch::All => cidr.contains(c) && !except.iter().any(|e| e.overlaps(c)),
            IpMatch::Any => {
                cidr.overlaps(c) && !except.iter().any(|e| e.contains(c)) && {
                    let inner = if cidr.contains(c) { *c } else { *cidr };
                    !Cidr::covered_by(&inner, except)
                }
            }
        },
        EndpointKind::External(ExternalAddr::Public) => {
            let private = non_public_ranges();
            let family: Vec<Cidr> = private
                .iter()
                .filter(|p| p.is_v6() == cidr.is_v6())
                .copied()
                .collect();
            match mode {
                IpMatch::All => {
                    cidr.prefix() == 0 && except.iter().all(|e| Cidr::covered_by(e, &family))
                }
                IpMatch::Any => !Cidr::covered_by(cidr, &[except, family.as_slice()].concat()),
            }
        }
        _ => endpoint
            .pod_ip
            .is_some_and(|ip| cidr.contains_ip(ip) && !except.iter().any(|e| e.contains_ip(ip))),
    }
}

/// Whether a policy applies to an endpoint in a direction.
pub fn selects(policy: &Policy, endpoint: &Endpoint, direction: Direction) -> bool {
    policy.rules(direction).is_some()
        && endpoint.namespace.as_deref() == Some(policy.namespace.as_str())
        && policy.pod_selector.matches(&endpoint.labels)
}

/// Whether one peer matches an endpoint, for a policy in `policy_ns`.
pub fn peer_matches(
    model: &Model,
    policy_ns: &str,
    peer: &Peer,
    endpoint: &Endpoint,
    mode: IpMatch,
) -> bool {
    match peer {
        Peer::IpBlock { cidr, except } => ip_block_matches(cidr, except, endpoint, mode),
        Peer::Pods { namespaces, pods } => {
            let Some(ns) = endpoint.namespace.as_deref() else {
                return false;
            };
            let ns_ok = match namespaces {
                Some(sel) => sel.matches(&model.namespace_labels(ns)),
                None => ns == policy_ns,
            };
            if namespaces.is_none() && pods.is_none() {
                return false;
            }
            ns_ok && pods.as_ref().is_none_or(|s| s.matches(&endpoint.labels))
        }
    }
}

fn rule_peer_ok(
    model: &Model,
    policy: &Policy,
    rule: &Rule,
    peer: &Endpoint,
    mode: IpMatch,
) -> bool {
    match &rule.peers {
        None => true,
        Some(peers) => peers
            .iter()
            .any(|p| peer_matches(model, &policy.namespace, p, peer, mode)),
    }
}

fn rule_port_ok(rule: &Rule, dest: &Endpoint, port: PortSpec) -> bool {
    match &rule.ports {
        None => true,
        Some(ports) => ports.iter().any(|p| p.matches(port, &dest.ports)),
    }
}

/// A rule of a policy: `gravl-staging/allow-dns-egress egress[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleRef {
    pub policy: String,
    pub direction: Direction,
    pub index: usize,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}[{}]", self.policy, self.direction, self.index)
    }
}

/// One side of a connection: what the source's egress or the destination's ingress says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectionVerdict {
    pub direction: Direction,
    /// The endpoint whose policies decide (source for egress, destination for ingress).
    pub subject: String,
    /// The other end.
    pub peer: String,
    /// Policies (`ns/name`) selecting the subject for this direction; empty means unrestricted.
    pub policies: Vec<String>,
    /// Rules that allow the connection.
    pub allowed_by: Vec<RuleRef>,
    /// For each rule that did not allow it: the rule and why.
    pub misses: Vec<(RuleRef, String)>,
}

impl DirectionVerdict {
    pub fn allowed(&self) -> bool {
        self.policies.is_empty() || !self.allowed_by.is_empty()
    }
}

/// Why a connection is or is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub from: String,
    pub to: String,
    pub port: PortSpec,
    pub egress: DirectionVerdict,
    pub ingress: DirectionVerdict,
}

impl Explanation {
    pub fn allowed(&self) -> bool {
        self.egress.allowed() && self.ingress.allowed()
    }

    /// The first sentence that says why it is denied, if it is.
    pub fn denial(&self) -> Option<String> {
        [&self.egress, &self.ingress]
            .into_iter()
            .find(|d| !d.allowed())
            .map(|d| sentence(d, self.port))
    }

    /// Rules that allowed each side, for evidence.
    pub fn evidence(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in [&self.egress, &self.ingress] {
            out.push(sentence(d, self.port));
        }
        out
    }
}

fn short_names(policies: &[String]) -> String {
    policies
        .iter()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn sentence(d: &DirectionVerdict, port: PortSpec) -> String {
    let (what, prep) = match d.direction {
        Direction::Egress => ("egress", "from"),
        Direction::Ingress => ("ingress", "to"),
    };
    if d.policies.is_empty() {
        return format!(
            "{what} {prep} {} is not restricted (no policy selects it for {what})",
            d.subject
        );
    }
    let restricted = format!(
        "{what} {prep} {} is restricted by {}",
        d.subject,
        short_names(&d.policies)
    );
    if let Some(rule) = d.allowed_by.first() {
        return format!("{restricted}; {rule} allows {}:{port}", d.peer);
    }
    let target = match d.direction {
        Direction::Egress => format!("{}:{port}", d.peer),
        Direction::Ingress => format!("{}:{port} from {}", d.subject, d.peer),
    };
    if d.misses.is_empty() {
        return format!("{restricted}; none of them has an {what} rule, so all {what} is denied");
    }
    let misses: Vec<String> = d
        .misses
        .iter()
        .map(|(r, why)| {
            let policy_short = r.policy.rsplit('/').next().unwrap_or(&r.policy);
            format!("{policy_short} {}[{}] {why}", r.direction, r.index)
        })
        .collect();
    format!(
        "{restricted}; no {what} rule allows {target}: {}",
        misses.join("; ")
    )
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed() { "ALLOWED" } else { "DENIED" };
        writeln!(
            f,
            "{verdict}: {} -> {} on {}",
            self.from, self.to, self.port
        )?;
        writeln!(f, "  {}", sentence(&self.egress, self.port))?;
        write!(f, "  {}", sentence(&self.ingress, self.port))
    }
}

fn describe_selector_miss(
    model: &Model,
    policy: &Policy,
    peer: &Peer,
    endpoint: &Endpoint,
) -> String {
    match peer {
        Peer::IpBlock { cidr, except } => {
            let block = if except.is_empty() {
                format!("ipBlock {cidr}")
            } else {
                let ex: Vec<String> = except.iter().map(ToString::to_string).collect();
                format!("ipBlock {cidr} except {}", ex.join(", "))
            };
            match (&endpoint.kind, endpoint.pod_ip) {
                (EndpointKind::External(addr), _) => {
                    format!("allows {block}, which does not cover {addr}")
                }
                (_, Some(ip)) => format!("allows {block}, which does not contain {ip}"),
                (_, None) => format!(
                    "allows {block} (ipBlock matches pods only by pod IP, and {} has none known)",
                    endpoint.name
                ),
            }
        }
        Peer::Pods { namespaces, pods } => {
            let Some(ns) = endpoint.namespace.as_deref() else {
                return format!(
                    "selects pods{}, not external addresses",
                    pods.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
                );
            };
            if namespaces.is_none() && pods.is_none() {
                return "is an empty peer, which matches nothing".to_string();
            }
            if let Some(sel) = namespaces {
                let matched: Vec<&str> = model
                    .namespaces
                    .iter()
                    .filter(|n| sel.matches(&n.labels))
                    .map(|n| n.name.as_str())
                    .collect();
                if matched.is_empty() {
                    return format!("selects namespaces {sel}, which matches no namespace");
                }
                if !matched.contains(&ns) {
                    return format!(
                        "selects namespaces {sel} ({}), not {ns} {}",
                        matched.join(", "),
                        format_labels(&model.namespace_labels(ns))
                    );
                }
            } else if ns != policy.namespace {
                return format!(
                    "selects pods{} in {} only (no namespaceSelector), not in {ns}",
                    pods.as_ref().map(|p| format!(" {p}")).unwrap_or_default(),
                    policy.namespace
                );
            }
            match pods {
                Some(sel) => format!(
                    "selects pods {sel}, which does not match {} {}",
                    endpoint.name,
                    format_labels(&endpoint.labels)
                ),
                None => "does not match".to_string(),
            }
        }
    }
}

fn describe_ports(rule: &Rule) -> String {
    match &rule.ports {
        None => "all ports".to_string(),
        Some(ports) => ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Evaluates one direction with reasons.
pub fn direction_verdict(
    model: &Model,
    direction: Direction,
    subject: &Endpoint,
    peer: &Endpoint,
    dest: &Endpoint,
    port: PortSpec,
    mode: IpMatch,
) -> DirectionVerdict {
    let mut verdict = DirectionVerdict {
        direction,
        subject: subject.name.clone(),
        peer: peer.name.clone(),
        policies: Vec::new(),
        allowed_by: Vec::new(),
        misses: Vec::new(),
    };
    for policy in &model.policies {
        if !selects(policy, subject, direction) {
            continue;
        }
        verdict.policies.push(policy.id());
        for (index, rule) in policy
            .rules(direction)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let rule_ref = RuleRef {
                policy: policy.id(),
                direction,
                index,
            };
            let peer_ok = rule_peer_ok(model, policy, rule, peer, mode);
            let port_ok = rule_port_ok(rule, dest, port);
            if peer_ok && port_ok {
                verdict.allowed_by.push(rule_ref);
            } else if !peer_ok {
                let peers = rule.peers.as_deref().unwrap_or_default();
                let why: Vec<String> = peers
                    .iter()
                    .map(|p| describe_selector_miss(model, policy, p, peer))
                    .collect();
                verdict.misses.push((rule_ref, why.join(", and peer ")));
            } else {
                verdict.misses.push((
                    rule_ref,
                    format!("allows {} only, not {port}", describe_ports(rule)),
                ));
            }
        }
    }
    verdict
}

/// Explains whether `from` can open a connection to `to` on `port`.
pub fn explain_endpoints(
    model: &Model,
    from: &Endpoint,
    to: &Endpoint,
    port: PortSpec,
    mode: IpMatch,
) -> Explanation {
    Explanation {
        from: from.name.clone(),
        to: to.name.clone(),
        port,
        egress: direction_verdict(model, Direction::Egress, from, to, to, port, mode),
        ingress: direction_verdict(model, Direction::Ingress, to, from, to, port, mode),
    }
}

/// Judges many connections, each class of alike endpoints once. Two pods in the same
/// namespace with the same labels and container ports (and the same IP, when some policy
/// has an `ipBlock`) are treated identically by every policy, so a Deployment's 500
/// replicas cost one evaluation, not 500. What it returns is class-invariant: whether the
/// connection is allowed and by which rules; the sentences of [`explain_endpoints`] name
/// the endpoints, so callers ask for those only for the few pairs they show.
pub struct Explainer<'m> {
    model: &'m Model,
    /// Whether any rule has an `ipBlock` peer: only then does a pod's IP matter.
    ip_blocks: bool,
    classes: std::collections::HashMap<ClassKey, usize>,
    verdicts: std::collections::HashMap<(usize, usize, PortSpec, IpMatch), Judged>,
}

/// The class-invariant part of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub allowed: bool,
    pub egress_allowed: bool,
    pub egress_by: Vec<RuleRef>,
    pub ingress_by: Vec<RuleRef>,
}

impl From<&Explanation> for Judged {
    fn from(e: &Explanation) -> Self {
        Judged {
            allowed: e.allowed(),
            egress_allowed: e.egress.allowed(),
            egress_by: e.egress.allowed_by.clone(),
            ingress_by: e.ingress.allowed_by.clone(),
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
struct ClassKey {
    namespace: Option<String>,
    kind: std::mem::Discriminant<EndpointKind>,
    external: Option<ExternalAddr>,
    labels: crate::selector::Labels,
    ports: Vec<crate::port::ContainerPort>,
    ip: Option<std::net::IpAddr>,
}

impl<'m> Explainer<'m> {
    pub fn new(model: &'m Model) -> Self {
        let ip_blocks = model.policies.iter().any(|p| {
            [Direction::Ingress, Direction::Egress].iter().any(|d| {
                p.rules(*d).unwrap_or_default().iter().any(|r| {
                    r.peers
                        .iter()
                        .flatten()
                        .any(|peer| matches!(peer, Peer::IpBlock { .. }))
                })
            })
        });
        Explainer {
            model,
            ip_blocks,
            classes: Default::default(),
            verdicts: Default::default(),
        }
    }

    fn class(&mut self, e: &Endpoint) -> usize {
        let key = ClassKey {
            namespace: e.namespace.clone(),
            kind: std::mem::discriminant(&e.kind),
            external: match &e.kind {
                EndpointKind::External(a) => Some(*a),
                _ => None,
            },
            labels: e.labels.clone(),
            ports: e.ports.clone(),
            ip: if self.ip_blocks { e.pod_ip } else { None },
        };
        let next = self.classes.len();
        *self.classes.entry(key).or_insert(next)
    }

    /// Whether `from` may reach `to` on `port`, and the rules that allow it.
    pub fn judge(
        &mut self,
        from: &Endpoint,
        to: &Endpoint,
        port: PortSpec,
        mode: IpMatch,
    ) -> &Judged {
        let key = (self.class(from), self.class(to), port, mode);
        let model = self.model;
        self.verdicts
            .entry(key)
            .or_insert_with(|| Judged::from(&explain_endpoints(model, from, to, port, mode)))
    }

    /// The full explanation, with sentences naming these endpoints (not cached).
    pub fn explain(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        port: PortSpec,
        mode: IpMatch,
    ) -> Explanation {
        explain_endpoints(self.model, from, to, port, mode)
    }
}

/// Whether a connection is allowed, without reasons (reference semantics).
pub fn allowed(
    model: &Model,
    from: &Endpoint,
    to: &Endpoint,
    port: PortSpec,
    mode: IpMatch,
) -> bool {
    let side = |direction: Direction, subject: &Endpoint, peer: &Endpoint| {
        let mut isolated = false;
        for policy in &model.policies {
            if !selects(policy, subject, direction) {
                continue;
            }
            isolated = true;
            for rule in policy.rules(direction).unwrap_or_default() {
                if rule_peer_ok(model, policy, rule, peer, mode) && rule_port_ok(rule, to, port) {
                    return true;
                }
            }
        }
        !isolated
    };
    side(Direction::Egress, from, to) && side(Direction::Ingress, to, from)
}

/// Namespaces a selector matches.
pub fn matching_namespaces<'a>(model: &'a Model, selector: &Selector) -> Vec<&'a str> {
    model
        .namespaces
        .iter()
        .filter(|n| selector.matches(&n.labels))
        .map(|n| n.name.as_str())
        .collect()
}
