//! The Kubernetes resources golive reads, and the key a watch is kept under.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Read as `PartialObjectMetadata` only: for Secrets, so key material never arrives.
    pub metadata_only: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `secrets`, `clusterissuers.cert-manager.io`: the name RBAC and kubectl use.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const fn core(kind: &'static str, plural: &'static str, namespaced: bool) -> ResourceType {
    ResourceType {
        group: "",
        version: "v1",
        kind,
        plural,
        namespaced,
        metadata_only: false,
    }
}

const fn grouped(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> ResourceType {
    ResourceType {
        group,
        version,
        kind,
        plural,
        namespaced,
        metadata_only: false,
    }
}

pub const NAMESPACES: ResourceType = core("Namespace", "namespaces", false);
pub const PODS: ResourceType = core("Pod", "pods", true);
pub const SERVICES: ResourceType = core("Service", "services", true);
pub const SECRETS: ResourceType = ResourceType {
    metadata_only: true,
    ..core("Secret", "secrets", true)
};
pub const DEPLOYMENTS: ResourceType = grouped("apps", "v1", "Deployment", "deployments", true);
pub const NETWORK_POLICIES: ResourceType = grouped(
    "networking.k8s.io",
    "v1",
    "NetworkPolicy",
    "networkpolicies",
    true,
);
pub const CLUSTER_ISSUERS: ResourceType = grouped(
    "cert-manager.io",
    "v1",
    "ClusterIssuer",
    "clusterissuers",
    false,
);
pub const ISSUERS: ResourceType = grouped("cert-manager.io", "v1", "Issuer", "issuers", true);
pub const CERTIFICATES: ResourceType =
    grouped("cert-manager.io", "v1", "Certificate", "certificates", true);

/// One watch: a resource in one namespace, or across the cluster (`namespace: None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchKey {
    pub resource: ResourceType,
    pub namespace: Option<String>,
}

impl WatchKey {
    pub fn namespaced(resource: ResourceType, namespace: &str) -> Self {
        Self {
            resource,
            namespace: Some(namespace.to_string()),
        }
    }

    pub fn cluster(resource: ResourceType) -> Self {
        Self {
            resource,
            namespace: None,
        }
    }

    /// Whether this watch sees objects of `resource` in `namespace`.
    pub fn covers(&self, resource: &ResourceType, namespace: Option<&str>) -> bool {
        self.resource == *resource
            && match (&self.namespace, namespace) {
                (None, _) => true,
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => false,
            }
    }
}

impl fmt::Display for WatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} in {ns}", self.resource.qualified_name()),
            None if self.resource.namespaced => {
                write!(f, "{} in all namespaces", self.resource.qualified_name())
            }
            None => f.write_str(&self.resource.qualified_name()),
        }
    }
}
