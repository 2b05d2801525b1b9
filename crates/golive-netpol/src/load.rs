//! Loading a [`Model`]: Kubernetes objects as `serde_json::Value`s (a live cluster
//! view) or multi-document YAML manifests, in any mix of kinds; unrelated kinds are
//! ignored. Resolves ownership so each workload is one endpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use crate::cidr::CidrError;
use crate::model::{
    Endpoint, EndpointKind, ExternalAddr, Model, NAMESPACE_NAME_LABEL, Namespace, Policy, Service,
    ServicePort,
};
use crate::port::{ContainerPort, PortRef, Protocol};
use crate::selector::Labels;

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
        let kept: Vec<bool> = (0..self.raw.len()).map(keep).collect();
        drop(present);
        // Moved, not cloned: a live cluster's model holds thousands of pods.
        let mut endpoints: Vec<Endpoint> = Vec::new();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for (r, kept) in self.raw.into_iter().zip(kept) {
            if !kept {
                continue;
            }
            let mut ep = r.endpoint;
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
}
