//! The cluster as NetworkPolicy sees it: namespaces, endpoints, policies, services.
//!
//! Built from `serde_json::Value` objects (a live cluster view) or multi-document
//! YAML manifests, in any mix of kinds; unrelated kinds are ignored.

use golive_grammar::edit_distance;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::cidr::{Cidr, CidrError};
use crate::port::{ContainerPort, PortRef, PortRule, Protocol};
use crate::selector::{Labels, Selector};

/// The label the API server sets on every namespace.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A namespace and its labels (always including [`NAMESPACE_NAME_LABEL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub name: String,
    pub labels: Labels,
    /// False when only implied by an object that lives in it.
    pub declared: bool,
}

/// An address outside the pod network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExternalAddr {
    /// An IP or CIDR (`8.8.8.8`, `203.0.113.0/24`).
    Cidr(Cidr),
    /// `external`: any address on the public internet.
    Public,
}

impl ExternalAddr {
    /// Parses `external`, an IP or a CIDR.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        if text.trim().eq_ignore_ascii_case("external") {
            Ok(Self::Public)
        } else {
            Ok(Self::Cidr(text.parse()?))
        }
    }
}

impl fmt::Display for ExternalAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("external"),
            Self::Cidr(c) if c.prefix() == if c.is_v6() { 128 } else { 32 } => {
                let s = c.to_string();
                f.write_str(s.split('/').next().unwrap_or(&s))
            }
            Self::Cidr(c) => write!(f, "{c}"),
        }
    }
}

/// What an endpoint stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointKind {
    Pod,
    /// A workload's pod template: `Deployment`, `StatefulSet`, ...
    Workload(String),
    External(ExternalAddr),
}

/// A source or destination of traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `namespace/name` for pods and workloads; the address or `external` otherwise.
    pub name: String,
    /// `None` for external endpoints.
    pub namespace: Option<String>,
    pub kind: EndpointKind,
    pub labels: Labels,
    pub pod_ip: Option<IpAddr>,
    pub ports: Vec<ContainerPort>,
}

impl Endpoint {
    /// An endpoint for an external address.
    pub fn external(addr: ExternalAddr) -> Self {
        Self {
            name: addr.to_string(),
            namespace: None,
            kind: EndpointKind::External(addr),
            labels: Labels::new(),
            pod_ip: None,
            ports: Vec::new(),
        }
    }

    pub fn is_external(&self) -> bool {
        matches!(self.kind, EndpointKind::External(_))
    }
}

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
    /// `None` means the same as `port`.
    pub target_port: Option<PortRef>,
}

/// A Service, kept to learn the real pod port behind a service port (DNS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub selector: Option<Labels>,
    pub ports: Vec<ServicePort>,
}

/// A peer of a rule (`from`/`to` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// `namespaceSelector` and/or `podSelector`; both present means both must match.
    Pods {
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
    IpBlock {
        cidr: Cidr,
        except: Vec<Cidr>,
    },
}

/// One ingress or egress rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// `None`: absent or empty `from`/`to`, which means any peer.
    pub peers: Option<Vec<Peer>>,
    /// `None`: absent or empty `ports`, which means every port.
    pub ports: Option<Vec<PortRule>>,
}

/// Traffic direction, from the selected pod's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ingress => "ingress",
            Self::Egress => "egress",
        })
    }
}

/// A NetworkPolicy with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: Selector,
    /// `Some` when `Ingress` is in the effective policyTypes (empty: deny all ingress).
    pub ingress: Option<Vec<Rule>>,
    /// `Some` when `Egress` is in the effective policyTypes (empty: deny all egress).
    pub egress: Option<Vec<Rule>>,
}

impl Policy {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn rules(&self, direction: Direction) -> Option<&[Rule]> {
        match direction {
            Direction::Ingress => self.ingress.as_deref(),
            Direction::Egress => self.egress.as_deref(),
        }
    }

    /// Compiles a NetworkPolicy, applying the API server's policyTypes defaulting.
    pub fn from_k8s(np: &NetworkPolicy) -> Result<Self, String> {
        let name = np.metadata.name.clone().unwrap_or_default();
        let namespace = np
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let spec = np.spec.clone().unwrap_or_default();
        let pod_selector = match &spec.pod_selector {
            Some(s) => Selector::from_k8s(s).map_err(|e| format!("podSelector: {e}"))?,
            None => Selector::everything(),
        };
        let egress_rules = spec.egress.clone().unwrap_or_default();
        let ingress_rules = spec.ingress.clone().unwrap_or_default();
        let mut types: BTreeSet<Direction> = BTreeSet::new();
        match spec.policy_types.as_deref() {
            Some(list) if !list.is_empty() => {
                for t in list {
                    match t.as_str() {
                        "Ingress" => types.insert(Direction::Ingress),
                        "Egress" => types.insert(Direction::Egress),
                        other => {
                            return Err(format!(
                                "policyTypes has {other:?}; expected Ingress or Egress"
                            ));
                        }
                    };
                }
            }
            _ => {
                types.insert(Direction::Ingress);
                if !egress_rules.is_empty() {
                    types.insert(Direction::Egress);
                }
            }
        }
        let mut ingress = Vec::new();
        for (i, r) in ingress_rules.iter().enumerate() {
            ingress.push(Rule {
                peers: compile_peers(r.from.as_deref())
                    .map_err(|e| format!("ingress[{i}]: {e}"))?,
                ports: compile_ports(r.ports.as_deref())
                    .map_err(|e| format!("ingress[{i}]: {e}"))?,
            });
        }
        let mut egress = Vec::new();
        for (i, r) in egress_rules.iter().enumerate() {
            egress.push(Rule {
                peers: compile_peers(r.to.as_deref()).map_err(|e| format!("egress[{i}]: {e}"))?,
                ports: compile_ports(r.ports.as_deref())
                    .map_err(|e| format!("egress[{i}]: {e}"))?,
            });
        }
        Ok(Self {
            namespace,
            name,
            pod_selector,
            ingress: types.contains(&Direction::Ingress).then_some(ingress),
            egress: types.contains(&Direction::Egress).then_some(egress),
        })
    }
}

fn compile_peers(peers: Option<&[NetworkPolicyPeer]>) -> Result<Option<Vec<Peer>>, String> {
    let Some(peers) = peers.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        if let Some(block) = &p.ip_block {
            let cidr: Cidr = block.cidr.parse().map_err(|e| format!("peer {i}: {e}"))?;
            let mut except = Vec::new();
            for e in block.except.iter().flatten() {
                except.push(
                    e.parse::<Cidr>()
                        .map_err(|e| format!("peer {i} except: {e}"))?,
                );
            }
            out.push(Peer::IpBlock { cidr, except });
        } else {
            let namespaces = p
                .namespace_selector
                .as_ref()
                .map(Selector::from_k8s)
                .transpose()
                .map_err(|e| format!("peer {i} namespaceSelector: {e}"))?;
            let pods = p
                .pod_selector
                .as_ref()
                .map(Selector::from_k8s)
                .transpose()
                .map_err(|e| format!("peer {i} podSelector: {e}"))?;
            out.push(Peer::Pods { namespaces, pods });
        }
    }
    Ok(Some(out))
}

fn compile_ports(ports: Option<&[NetworkPolicyPort]>) -> Result<Option<Vec<PortRule>>, String> {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for p in ports {
        let protocol = match p.protocol.as_deref() {
            None => Protocol::Tcp,
            Some(text) => Protocol::parse(text)
                .ok_or_else(|| format!("protocol {text:?}; expected TCP, UDP or SCTP"))?,
        };
        let port = match &p.port {
            None => None,
            Some(IntOrString::Int(n)) => Some(PortRef::Number(
                u16::try_from(*n)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("port {n} is out of range 1-65535"))?,
            )),
            Some(IntOrString::String(s)) => match s.parse::<u16>() {
                Ok(n) => Some(PortRef::Number(n)),
                Err(_) => Some(PortRef::Name(s.clone())),
            },
        };
        let end_port = p
            .end_port
            .map(|e| u16::try_from(e).map_err(|_| format!("endPort {e} is out of range 1-65535")))
            .transpose()?;
        out.push(PortRule {
            protocol,
            port,
            end_port,
        });
    }
    Ok(Some(out))
}

/// Which endpoint stands for a workload when both its pods and the workload are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointPreference {
    /// Manifests: one endpoint per workload; pods owned by a present workload are dropped.
    #[default]
    Workloads,
    /// Live cluster: one endpoint per running pod; workloads with pods present are dropped.
    Pods,
}

/// An object that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{file}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{file}: invalid YAML: {message}")]
    YamlNoLocation { file: String, message: String },
    #[error("{origin}: {kind} {name}: {message}")]
    Object {
        origin: String,
        kind: String,
        name: String,
        message: String,
    },
    #[error("{file}: cannot read: {message}")]
    Io { file: String, message: String },
}

#[derive(Debug, Clone)]
struct RawEndpoint {
    endpoint: Endpoint,
    object_kind: String,
    object_name: String,
    owners: Vec<(String, String)>,
}

/// Collects objects, then [`ModelBuilder::build`]s a [`Model`].
#[derive(Debug, Clone, Default)]
pub struct ModelBuilder {
    namespaces: BTreeMap<String, Labels>,
    raw: Vec<RawEndpoint>,
    externals: Vec<ExternalAddr>,
    policies: Vec<Policy>,
    services: Vec<Service>,
    preference: EndpointPreference,
    issues: Vec<String>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn labels_at(v: &Value, path: &[&str]) -> Labels {
    at(v, path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn container_ports(pod_spec: Option<&Value>) -> Vec<ContainerPort> {
    let mut out = Vec::new();
    let Some(spec) = pod_spec else { return out };
    for list in ["containers", "initContainers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in c
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(port) = p
                    .get("containerPort")
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
                else {
                    continue;
                };
                out.push(ContainerPort {
                    name: p.get("name").and_then(Value::as_str).map(str::to_string),
                    port,
                    protocol: p
                        .get("protocol")
                        .and_then(Value::as_str)
                        .and_then(Protocol::parse)
                        .unwrap_or_default(),
                });
            }
        }
    }
    out
}

fn owners(v: &Value) -> Vec<(String, String)> {
    at(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o.get("kind")?.as_str()?.to_string(),
                o.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

const WORKLOAD_KINDS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

impl ModelBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses pods or workloads when both are present (default: workloads).
    pub fn prefer(mut self, preference: EndpointPreference) -> Self {
        self.preference = preference;
        self
    }

    /// Adds an external endpoint: `external` or an IP/CIDR.
    pub fn add_external(&mut self, addr: &str) -> Result<&mut Self, CidrError> {
        let addr = ExternalAddr::parse(addr)?;
        if !self.externals.contains(&addr) {
            self.externals.push(addr);
        }
        Ok(self)
    }

    /// Adds an already compiled policy.
    pub fn add_policy(&mut self, policy: Policy) -> &mut Self {
        self.policies.push(policy);
        self
    }

    /// Adds one Kubernetes object (or a `List`). Unrelated kinds are ignored.
    pub fn add_value(&mut self, value: &Value, origin: &str) -> Result<&mut Self, LoadError> {
        let kind = str_at(value, &["kind"]).unwrap_or_default();
        let name = str_at(value, &["metadata", "name"])
            .unwrap_or_default()
            .to_string();
        let namespace = str_at(value, &["metadata", "namespace"])
            .unwrap_or("default")
            .to_string();
        let object_err = |message: String| LoadError::Object {
            origin: origin.to_string(),
            kind: kind.to_string(),
            name: if kind == "Namespace" {
                name.clone()
            } else {
                format!("{namespace}/{name}")
            },
            message,
        };
        if kind == "List" || (kind.ends_with("List") && value.get("items").is_some()) {
            let item_kind = kind.strip_suffix("List").unwrap_or_default();
            for item in value
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if item.get("kind").is_none() && !item_kind.is_empty() {
                    let mut item = item.clone();
                    if let Some(obj) = item.as_object_mut() {
                        obj.insert("kind".into(), Value::String(item_kind.to_string()));
                    }
                    self.add_value(&item, origin)?;
                } else {
                    self.add_value(item, origin)?;
                }
            }
            return Ok(self);
        }
        match kind {
            "Namespace" => {
                let mut labels = labels_at(value, &["metadata", "labels"]);
                labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.clone());
                self.namespaces.insert(name, labels);
            }
            "NetworkPolicy" => {
                let np: NetworkPolicy =
                    serde_json::from_value(value.clone()).map_err(|e| object_err(e.to_string()))?;
                let mut policy = Policy::from_k8s(&np).map_err(object_err)?;
                policy.namespace = namespace;
                self.policies.push(policy);
            }
            "Service" => {
                let mut ports = Vec::new();
                for p in at(value, &["spec", "ports"])
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(port) = p
                        .get("port")
                        .and_then(Value::as_u64)
                        .and_then(|n| u16::try_from(n).ok())
                    else {
                        continue;
                    };
                    let target_port = match p.get("targetPort") {
                        Some(Value::Number(n)) => n
                            .as_u64()
                            .and_then(|n| u16::try_from(n).ok())
                            .map(PortRef::Number),
                        Some(Value::String(s)) => Some(match s.parse::<u16>() {
                            Ok(n) => PortRef::Number(n),
                            Err(_) => PortRef::Name(s.clone()),
                        }),
                        _ => None,
                    };
                    ports.push(ServicePort {
                        name: p.get("name").and_then(Value::as_str).map(str::to_string),
                        port,
                        protocol: p
                            .get("protocol")
                            .and_then(Value::as_str)
                            .and_then(Protocol::parse)
                            .unwrap_or_default(),
                        target_port,
                    });
                }
                let selector = at(value, &["spec", "selector"])
                    .map(|_| labels_at(value, &["spec", "selector"]));
                self.services.push(Service {
                    namespace,
                    name,
                    selector,
                    ports,
                });
            }
            "Pod" => {
                if matches!(
                    str_at(value, &["status", "phase"]),
                    Some("Succeeded" | "Failed")
                ) {
                    return Ok(self);
                }
                let pod_ip = str_at(value, &["status", "podIP"]).and_then(|s| s.parse().ok());
                self.note_host_network(value.get("spec"), origin, "Pod", &namespace, &name);
                self.raw.push(RawEndpoint {
                    endpoint: Endpoint {
                        name: format!("{namespace}/{name}"),
                        namespace: Some(namespace),
                        kind: EndpointKind::Pod,
                        labels: labels_at(value, &["metadata", "labels"]),
                        pod_ip,
                        ports: container_ports(value.get("spec")),
                    },
                    object_kind: "Pod".into(),
                    object_name: name,
                    owners: owners(value),
                });
            }
            k if WORKLOAD_KINDS.contains(&k) => {
                let template = if k == "CronJob" {
                    at(value, &["spec", "jobTemplate", "spec", "template"])
                } else {
                    at(value, &["spec", "template"])
                };
                let Some(template) = template else {
                    self.issues.push(format!(
                        "{origin}: {k} {namespace}/{name} has no pod template; skipped"
                    ));
                    return Ok(self);
                };
                self.note_host_network(template.get("spec"), origin, k, &namespace, &name);
                self.raw.push(RawEndpoint {
                    endpoint: Endpoint {
                        name: format!("{namespace}/{name}"),
                        namespace: Some(namespace),
                        kind: EndpointKind::Workload(k.to_string()),
                        labels: labels_at(template, &["metadata", "labels"]),
                        pod_ip: None,
                        ports: container_ports(template.get("spec")),
                    },
                    object_kind: k.to_string(),
                    object_name: name,
                    owners: owners(value),
                });
            }
            _ => {}
        }
        Ok(self)
    }

    /// NetworkPolicy behaviour for host-network pods is CNI-specific; say so.
    fn note_host_network(
        &mut self,
        spec: Option<&Value>,
        origin: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) {
        if spec
            .and_then(|s| s.get("hostNetwork"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            self.issues.push(format!(
                "{origin}: {kind} {ns}/{name} uses hostNetwork; NetworkPolicy behaviour for it depends on the CNI, and it is analysed like any pod"
            ));
        }
    }

    /// Adds every document of a multi-document YAML text; `file` names it in errors.
    pub fn add_yaml(&mut self, text: &str, file: &str) -> Result<&mut Self, LoadError> {
        let docs: Vec<serde_saphyr::Spanned<Value>> =
            serde_saphyr::from_multiple(text).map_err(|e| match e.location() {
                Some(loc) => LoadError::Yaml {
                    file: file.to_string(),
                    line: loc.line(),
                    column: loc.column(),
                    message: first_line(&e.to_string()),
                },
                None => LoadError::YamlNoLocation {
                    file: file.to_string(),
                    message: first_line(&e.to_string()),
                },
            })?;
        for doc in &docs {
            if doc.value.is_null() {
                continue;
            }
            let at = &doc.referenced;
            self.add_value(&doc.value, &format!("{file}:{}:{}", at.line(), at.column()))?;
        }
        Ok(self)
    }

    /// Reads a YAML file and adds its documents.
    pub fn add_yaml_file(&mut self, path: &Path) -> Result<&mut Self, LoadError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
            file: file.clone(),
            message: e.to_string(),
        })?;
        self.add_yaml(&text, &file)
    }

    /// Resolves ownership, implied namespaces and names; never fails.
    pub fn build(self) -> Model {
        let present: HashMap<(String, String, String), usize> = self
            .raw
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    (
                        r.endpoint.namespace.clone().unwrap_or_default(),
                        r.object_kind.clone(),
                        r.object_name.clone(),
                    ),
                    i,
                )
            })
            .collect();
        let parents: Vec<Vec<usize>> = self
            .raw
            .iter()
            .map(|r| {
                let ns = r.endpoint.namespace.clone().unwrap_or_default();
                r.owners
                    .iter()
                    .filter_map(|(k, n)| present.get(&(ns.clone(), k.clone(), n.clone())).copied())
                    .collect()
            })
            .collect();
        let has_ancestor = |i: usize| !parents[i].is_empty();
        let mut has_pod_descendant = vec![false; self.raw.len()];
        for (i, r) in self.raw.iter().enumerate() {
            if r.endpoint.kind == EndpointKind::Pod {
                let mut stack = parents[i].clone();
                let mut seen = BTreeSet::new();
                while let Some(p) = stack.pop() {
                    if seen.insert(p) {
                        has_pod_descendant[p] = true;
                        stack.extend(parents[p].iter().copied());
                    }
                }
            }
        }
        let keep = |i: usize| -> bool {
            let is_pod = self.raw[i].endpoint.kind == EndpointKind::Pod;
            match self.preference {
                EndpointPreference::Workloads => !has_ancestor(i),
                EndpointPreference::Pods => {
                    if is_pod {
                        true
                    } else {
                        !has_pod_descendant[i] && !has_ancestor(i)
                    }
                }
            }
        };
        let mut endpoints: Vec<Endpoint> = Vec::new();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for (i, r) in self.raw.iter().enumerate() {
            if !keep(i) {
                continue;
            }
            let mut ep = r.endpoint.clone();
            if !used.insert(ep.name.clone()) {
                let ns = ep.namespace.clone().unwrap_or_default();
                ep.name = format!("{ns}/{}/{}", r.object_kind.to_lowercase(), r.object_name);
                used.insert(ep.name.clone());
            }
            endpoints.push(ep);
        }
        for addr in &self.externals {
            endpoints.push(Endpoint::external(*addr));
        }
        let mut namespaces = self.namespaces.clone();
        let referenced = endpoints
            .iter()
            .filter_map(|e| e.namespace.clone())
            .chain(self.policies.iter().map(|p| p.namespace.clone()))
            .chain(self.services.iter().map(|s| s.namespace.clone()));
        for ns in referenced {
            namespaces
                .entry(ns.clone())
                .or_insert_with(|| Labels::from([(NAMESPACE_NAME_LABEL.to_string(), ns)]));
        }
        let namespaces = namespaces
            .into_iter()
            .map(|(name, labels)| Namespace {
                declared: self.namespaces.contains_key(&name),
                name,
                labels,
            })
            .collect();
        Model {
            namespaces,
            endpoints,
            policies: self.policies,
            services: self.services,
            issues: self.issues,
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// An endpoint name that matched nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no endpoint named {name:?}{}", near_text(.near))]
pub struct LookupError {
    pub name: String,
    pub near: Vec<String>,
}

fn near_text(near: &[String]) -> String {
    if near.is_empty() {
        "; endpoints are namespace/name, an IP, a CIDR or \"external\"".to_string()
    } else {
        format!("; did you mean {}?", near.join(", "))
    }
}

/// Namespaces, endpoints, policies and services, ready to analyse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    pub namespaces: Vec<Namespace>,
    pub endpoints: Vec<Endpoint>,
    pub policies: Vec<Policy>,
    pub services: Vec<Service>,
    /// Objects that were skipped, with why.
    pub issues: Vec<String>,
}

impl Model {
    pub fn builder() -> ModelBuilder {
        ModelBuilder::new()
    }

    /// Loads multi-document YAML manifests (endpoints are workloads).
    pub fn from_yaml(text: &str, file: &str) -> Result<Self, LoadError> {
        let mut b = ModelBuilder::new();
        b.add_yaml(text, file)?;
        Ok(b.build())
    }

    /// Loads objects from a live cluster view (endpoints are pods).
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Result<Self, LoadError> {
        let mut b = ModelBuilder::new().prefer(EndpointPreference::Pods);
        for v in values {
            b.add_value(v, "cluster")?;
        }
        Ok(b.build())
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// Labels of a namespace; an unknown namespace has just its name label.
    pub fn namespace_labels(&self, name: &str) -> Labels {
        self.namespace(name)
            .map(|n| n.labels.clone())
            .unwrap_or_else(|| Labels::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())]))
    }

    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id() == id)
    }

    /// Finds an endpoint by `namespace/name`; unknown IPs, CIDRs and `external`
    /// become ad-hoc external endpoints.
    pub fn resolve(&self, name: &str) -> Result<Endpoint, LookupError> {
        if let Some(e) = self.endpoints.iter().find(|e| e.name == name) {
            return Ok(e.clone());
        }
        if (!name.contains('/') || name.parse::<Cidr>().is_ok())
            && let Ok(addr) = ExternalAddr::parse(name)
        {
            if let ExternalAddr::Cidr(c) = addr
                && c.prefix() == if c.is_v6() { 128 } else { 32 }
                && let Some(e) = self
                    .endpoints
                    .iter()
                    .find(|e| e.pod_ip.is_some_and(|ip| c.contains_ip(ip)))
            {
                return Ok(e.clone());
            }
            return Ok(Endpoint::external(addr));
        }
        Err(LookupError {
            name: name.to_string(),
            near: self.near_names(name),
        })
    }

    /// Index of an endpoint by name.
    pub fn index_of(&self, name: &str) -> Result<usize, LookupError> {
        self.endpoints
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| LookupError {
                name: name.to_string(),
                near: self.near_names(name),
            })
    }

    fn near_names(&self, name: &str) -> Vec<String> {
        let lower = name.to_lowercase();
        let short = lower.rsplit('/').next().unwrap_or(&lower).to_string();
        let mut scored: Vec<(usize, &str)> = self
            .endpoints
            .iter()
            .map(|e| {
                let candidate = e.name.to_lowercase();
                let cshort = candidate.rsplit('/').next().unwrap_or(&candidate);
                let d = if !short.is_empty() && (cshort.contains(&short) || short.contains(cshort))
                {
                    0
                } else {
                    edit_distance(&lower, &candidate).min(edit_distance(&short, cshort))
                };
                (d, e.name.as_str())
            })
            .filter(|(d, _)| *d <= 3)
            .collect();
        scored.sort();
        scored
            .into_iter()
            .take(5)
            .map(|(_, n)| n.to_string())
            .collect()
    }
}
