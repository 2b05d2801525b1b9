//! The cluster as NetworkPolicy sees it: namespaces, endpoints, policies (compiled
//! from NetworkPolicy objects), services, and looking endpoints up by name.
//!
//! Loading objects into a [`Model`] lives in `load.rs`.

use golive_grammar::edit_distance;
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

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
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// Labels of a namespace; an unknown namespace has just its name label.
    pub fn namespace_labels(&self, name: &str) -> Labels {
        self.namespace(name)
            .map(|n| n.labels.clone())
            .unwrap_or_else(|| Labels::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())]))
    }

    /// The endpoints that live in `namespace`.
    pub(crate) fn endpoints_in<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a Endpoint> + 'a {
        self.endpoints
            .iter()
            .filter(move |e| e.namespace.as_deref() == Some(namespace))
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
