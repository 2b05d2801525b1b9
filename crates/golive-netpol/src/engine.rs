//! Bitset reachability: per-policy selected sets and per-rule peer sets, so a
//! matrix is unions and intersections, and a policy change recomputes only the
//! endpoints that policy selected before or after.

use std::collections::HashMap;

use crate::eval::{IpMatch, ip_block_matches};
use crate::model::{Direction, Model, Peer, Policy, Rule};
use crate::port::PortSpec;

/// A fixed-size set of endpoint indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits(Vec<u64>);

impl Bits {
    pub fn empty(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    pub fn full(n: usize) -> Self {
        let mut b = Self(vec![u64::MAX; n.div_ceil(64)]);
        let rem = n % 64;
        if rem != 0
            && let Some(last) = b.0.last_mut()
        {
            *last = (1u64 << rem) - 1;
        }
        b
    }
    pub fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    pub fn assign(&mut self, i: usize, value: bool) {
        if value { self.set(i) } else { self.clear(i) }
    }
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    pub fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
    /// `self |= a & b`.
    pub fn or_and(&mut self, a: &Bits, b: &Bits) {
        for ((x, y), z) in self.0.iter_mut().zip(&a.0).zip(&b.0) {
            *x |= y & z;
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + bit)
            })
        })
    }
}

#[derive(Debug, Clone)]
enum PortSet {
    All,
    Some(Bits),
}

#[derive(Debug, Clone)]
struct CompiledRule {
    peers: Bits,
    /// Per analysed port: destinations for which the rule's ports allow it.
    ports: Vec<PortSet>,
}

#[derive(Debug, Clone)]
struct CompiledPolicy {
    selected: Bits,
    ingress: Option<Vec<CompiledRule>>,
    egress: Option<Vec<CompiledRule>>,
}

impl CompiledPolicy {
    fn rules(&self, d: Direction) -> Option<&[CompiledRule]> {
        match d {
            Direction::Ingress => self.ingress.as_deref(),
            Direction::Egress => self.egress.as_deref(),
        }
    }
}

/// Precomputed lookups over a model's endpoints.
#[derive(Debug, Clone)]
struct Index {
    n: usize,
    by_namespace: HashMap<String, Vec<usize>>,
    namespace_bits: HashMap<String, Bits>,
    /// Labels of every namespace that has endpoints (implied label included).
    namespace_labels: Vec<(String, crate::selector::Labels)>,
    with_ip: Vec<usize>,
}

impl Index {
    fn new(model: &Model) -> Self {
        let n = model.endpoints.len();
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        let mut with_ip = Vec::new();
        for (i, e) in model.endpoints.iter().enumerate() {
            if let Some(ns) = &e.namespace {
                by_namespace.entry(ns.clone()).or_default().push(i);
            }
            if e.pod_ip.is_some() || e.is_external() {
                with_ip.push(i);
            }
        }
        let namespace_bits = by_namespace
            .iter()
            .map(|(ns, list)| {
                let mut b = Bits::empty(n);
                for &i in list {
                    b.set(i);
                }
                (ns.clone(), b)
            })
            .collect();
        let mut namespace_labels: Vec<(String, crate::selector::Labels)> = by_namespace
            .keys()
            .map(|ns| (ns.clone(), model.namespace_labels(ns)))
            .collect();
        namespace_labels.sort();
        Self {
            n,
            by_namespace,
            namespace_bits,
            namespace_labels,
            with_ip,
        }
    }
}

fn compile_rule(
    model: &Model,
    index: &Index,
    policy: &Policy,
    rule: &Rule,
    ports: &[PortSpec],
) -> CompiledRule {
    let n = index.n;
    let peers = match &rule.peers {
        None => Bits::full(n),
        Some(list) => {
            let mut bits = Bits::empty(n);
            for peer in list {
                match peer {
                    Peer::IpBlock { cidr, except } => {
                        for &i in &index.with_ip {
                            if ip_block_matches(cidr, except, &model.endpoints[i], IpMatch::All) {
                                bits.set(i);
                            }
                        }
                    }
                    Peer::Pods {
                        namespaces: None,
                        pods: None,
                    } => {}
                    Peer::Pods { namespaces, pods } => {
                        let ns_list: Vec<&str> = match namespaces {
                            None => vec![policy.namespace.as_str()],
                            Some(sel) => index
                                .namespace_labels
                                .iter()
                                .filter(|(_, labels)| sel.matches(labels))
                                .map(|(ns, _)| ns.as_str())
                                .collect(),
                        };
                        for ns in ns_list {
                            match pods {
                                None => {
                                    if let Some(b) = index.namespace_bits.get(ns) {
                                        bits.or(b);
                                    }
                                }
                                Some(sel) => {
                                    for &i in index.by_namespace.get(ns).into_iter().flatten() {
                                        if sel.matches(&model.endpoints[i].labels) {
                                            bits.set(i);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            bits
        }
    };
    let port_sets = ports
        .iter()
        .map(|&q| match &rule.ports {
            None => PortSet::All,
            Some(entries) => {
                if entries
                    .iter()
                    .any(|p| p.matches_any_destination(q) == Some(true))
                {
                    return PortSet::All;
                }
                let mut bits = Bits::empty(n);
                if entries
                    .iter()
                    .any(|p| p.matches_any_destination(q).is_none())
                {
                    for (i, e) in model.endpoints.iter().enumerate() {
                        if entries.iter().any(|p| p.matches(q, &e.ports)) {
                            bits.set(i);
                        }
                    }
                }
                PortSet::Some(bits)
            }
        })
        .collect();
    CompiledRule {
        peers,
        ports: port_sets,
    }
}

fn compile_policy(
    model: &Model,
    index: &Index,
    policy: &Policy,
    ports: &[PortSpec],
) -> CompiledPolicy {
    let mut selected = Bits::empty(index.n);
    for &i in index
        .by_namespace
        .get(&policy.namespace)
        .into_iter()
        .flatten()
    {
        if policy.pod_selector.matches(&model.endpoints[i].labels) {
            selected.set(i);
        }
    }
    let compile = |rules: &Option<Vec<Rule>>| {
        rules.as_ref().map(|rs| {
            rs.iter()
                .map(|r| compile_rule(model, index, policy, r, ports))
                .collect()
        })
    };
    CompiledPolicy {
        selected,
        ingress: compile(&policy.ingress),
        egress: compile(&policy.egress),
    }
}

/// Reachability between every pair of distinct endpoints on each port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub endpoints: Vec<String>,
    pub ports: Vec<PortSpec>,
    /// `rows[q][s]`: destinations `s` may reach on `ports[q]`.
    pub rows: Vec<Vec<Bits>>,
}

impl Matrix {
    pub fn is_allowed(&self, from: usize, to: usize, port: usize) -> bool {
        self.rows
            .get(port)
            .and_then(|r| r.get(from))
            .is_some_and(|b| b.get(to))
    }

    /// Every allowed `(from, to, port)` triple, by index.
    pub fn allowed(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.endpoints.len()).flat_map(move |s| {
            (0..self.ports.len()).flat_map(move |q| self.rows[q][s].iter().map(move |t| (s, t, q)))
        })
    }

    pub fn allowed_count(&self) -> usize {
        self.rows.iter().flatten().map(Bits::count).sum()
    }

    /// `{"endpoints": [...], "ports": [...], "allowed": [["x/a", "y/b", "80/TCP"], ...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let allowed: Vec<serde_json::Value> = self
            .allowed()
            .map(|(s, t, q)| {
                serde_json::json!([
                    self.endpoints[s],
                    self.endpoints[t],
                    self.ports[q].to_string()
                ])
            })
            .collect();
        serde_json::json!({
            "endpoints": self.endpoints,
            "ports": self.ports.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "allowed": allowed,
        })
    }
}

impl std::fmt::Display for Matrix {
    /// Per port, each source and the destinations it may reach.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.endpoints.len();
        for (q, port) in self.ports.iter().enumerate() {
            writeln!(f, "{port}")?;
            for s in 0..n {
                let row = &self.rows[q][s];
                let count = row.count();
                let others = n.saturating_sub(1);
                let targets = if count == 0 {
                    "(nothing)".to_string()
                } else if count == others {
                    "(everything)".to_string()
                } else {
                    row.iter()
                        .map(|t| self.endpoints[t].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(f, "  {} -> {targets}", self.endpoints[s])?;
            }
        }
        Ok(())
    }
}

/// A model with its reachability precomputed for a set of ports, updatable one policy at a time.
#[derive(Debug, Clone)]
pub struct Analyzer {
    model: Model,
    ports: Vec<PortSpec>,
    index: Index,
    policies: Vec<CompiledPolicy>,
    /// Per endpoint: policies selecting it for egress / ingress.
    egress_of: Vec<Vec<usize>>,
    ingress_of: Vec<Vec<usize>>,
    /// `[q][s]`: destinations the source's egress allows.
    egress_rows: Vec<Vec<Bits>>,
    /// `[q][t]`: sources the destination's ingress allows.
    ingress_cols: Vec<Vec<Bits>>,
    matrix: Matrix,
}

impl Analyzer {
    pub fn new(model: Model, ports: &[PortSpec]) -> Self {
        let index = Index::new(&model);
        let n = index.n;
        let policies: Vec<CompiledPolicy> = model
            .policies
            .iter()
            .map(|p| compile_policy(&model, &index, p, ports))
            .collect();
        let mut a = Self {
            ports: ports.to_vec(),
            egress_of: vec![Vec::new(); n],
            ingress_of: vec![Vec::new(); n],
            egress_rows: vec![vec![Bits::empty(n); n]; ports.len()],
            ingress_cols: vec![vec![Bits::empty(n); n]; ports.len()],
            matrix: Matrix {
                endpoints: model.endpoints.iter().map(|e| e.name.clone()).collect(),
                ports: ports.to_vec(),
                rows: vec![vec![Bits::empty(n); n]; ports.len()],
            },
            index,
            policies,
            model,
        };
        for (pi, p) in a.policies.iter().enumerate() {
            for i in p.selected.iter() {
                if p.egress.is_some() {
                    a.egress_of[i].push(pi);
                }
                if p.ingress.is_some() {
                    a.ingress_of[i].push(pi);
                }
            }
        }
        let all: Vec<usize> = (0..n).collect();
        a.recompute(&all, &all);
        a
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn matrix(&self) -> &Matrix {
        &self.matrix
    }

    pub fn ports(&self) -> &[PortSpec] {
        &self.ports
    }

    /// Whether endpoint `from` may reach `to` on `ports()[port]`.
    pub fn is_allowed(&self, from: usize, to: usize, port: usize) -> bool {
        self.matrix.is_allowed(from, to, port)
    }

    fn side_row(&self, direction: Direction, i: usize, q: usize) -> Bits {
        let n = self.index.n;
        let list = match direction {
            Direction::Egress => &self.egress_of[i],
            Direction::Ingress => &self.ingress_of[i],
        };
        if list.is_empty() {
            return Bits::full(n);
        }
        let mut out = Bits::empty(n);
        for &pi in list {
            for rule in self.policies[pi].rules(direction).unwrap_or_default() {
                match (&rule.ports[q], direction) {
                    (PortSet::All, _) => out.or(&rule.peers),
                    (PortSet::Some(dests), Direction::Egress) => out.or_and(&rule.peers, dests),
                    (PortSet::Some(dests), Direction::Ingress) => {
                        if dests.get(i) {
                            out.or(&rule.peers)
                        }
                    }
                }
            }
        }
        out
    }

    /// Recomputes egress rows of `sources`, ingress columns of `dests`, and the matrix cells they touch.
    fn recompute(&mut self, sources: &[usize], dests: &[usize]) {
        let n = self.index.n;
        for q in 0..self.ports.len() {
            for &s in sources {
                self.egress_rows[q][s] = self.side_row(Direction::Egress, s, q);
            }
            for &t in dests {
                self.ingress_cols[q][t] = self.side_row(Direction::Ingress, t, q);
            }
            for &s in sources {
                let mut row = Bits::empty(n);
                for t in self.egress_rows[q][s].iter() {
                    if t != s && self.ingress_cols[q][t].get(s) {
                        row.set(t);
                    }
                }
                self.matrix.rows[q][s] = row;
            }
            if sources.len() < n {
                let mut is_source = Bits::empty(n);
                for &s in sources {
                    is_source.set(s);
                }
                for &t in dests {
                    let col = &self.ingress_cols[q][t];
                    for s in 0..n {
                        if s == t || is_source.get(s) {
                            continue;
                        }
                        let v = col.get(s) && self.egress_rows[q][s].get(t);
                        self.matrix.rows[q][s].assign(t, v);
                    }
                }
            }
        }
    }

    /// Adds a policy or replaces the one with the same `namespace/name`, then
    /// recomputes only what that policy selects (before or after).
    pub fn upsert_policy(&mut self, policy: Policy) {
        let id = policy.id();
        let compiled = compile_policy(&self.model, &self.index, &policy, &self.ports);
        let pi = match self.model.policies.iter().position(|p| p.id() == id) {
            Some(pi) => {
                self.model.policies[pi] = policy;
                let old = std::mem::replace(&mut self.policies[pi], compiled);
                self.refresh(pi, Some(old));
                return;
            }
            None => {
                self.model.policies.push(policy);
                self.policies.push(compiled);
                self.policies.len() - 1
            }
        };
        self.refresh(pi, None);
    }

    /// Removes a policy by `namespace/name`; returns whether it existed.
    pub fn remove_policy(&mut self, id: &str) -> bool {
        let Some(pi) = self.model.policies.iter().position(|p| p.id() == id) else {
            return false;
        };
        let n = self.index.n;
        let empty = CompiledPolicy {
            selected: Bits::empty(n),
            ingress: None,
            egress: None,
        };
        let old = std::mem::replace(&mut self.policies[pi], empty);
        self.refresh(pi, Some(old));
        self.model.policies.remove(pi);
        self.policies.remove(pi);
        for list in self.egress_of.iter_mut().chain(self.ingress_of.iter_mut()) {
            for p in list.iter_mut() {
                if *p > pi {
                    *p -= 1;
                }
            }
        }
        true
    }

    fn refresh(&mut self, pi: usize, old: Option<CompiledPolicy>) {
        let mut affected = self.policies[pi].selected.clone();
        if let Some(old) = &old {
            affected.or(&old.selected);
        }
        let affected: Vec<usize> = affected.iter().collect();
        let new = &self.policies[pi];
        for &i in &affected {
            let sel = new.selected.get(i);
            for (list, has) in [
                (&mut self.egress_of[i], new.egress.is_some()),
                (&mut self.ingress_of[i], new.ingress.is_some()),
            ] {
                list.retain(|&p| p != pi);
                if sel && has {
                    list.push(pi);
                    list.sort_unstable();
                }
            }
        }
        self.recompute(&affected, &affected);
    }
}

/// Reachability for every pair of distinct endpoints on each port.
pub fn matrix(model: &Model, ports: &[PortSpec]) -> Matrix {
    Analyzer::new(model.clone(), ports).matrix
}
