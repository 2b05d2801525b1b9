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

pub const CONFIG_MAPS: ResourceType = core("ConfigMap", "configmaps", true);
pub const PVCS: ResourceType = core("PersistentVolumeClaim", "persistentvolumeclaims", true);
pub const INGRESSES: ResourceType =
    grouped("networking.k8s.io", "v1", "Ingress", "ingresses", true);
pub const HPAS: ResourceType = grouped(
    "autoscaling",
    "v2",
    "HorizontalPodAutoscaler",
    "horizontalpodautoscalers",
    true,
);
pub const PDBS: ResourceType = grouped(
    "policy",
    "v1",
    "PodDisruptionBudget",
    "poddisruptionbudgets",
    true,
);
pub const STORAGE_CLASSES: ResourceType = grouped(
    "storage.k8s.io",
    "v1",
    "StorageClass",
    "storageclasses",
    false,
);
pub const JOBS: ResourceType = grouped("batch", "v1", "Job", "jobs", true);
pub const STATEFULSETS: ResourceType = grouped("apps", "v1", "StatefulSet", "statefulsets", true);
pub const DAEMONSETS: ResourceType = grouped("apps", "v1", "DaemonSet", "daemonsets", true);
pub const REPLICASETS: ResourceType = grouped("apps", "v1", "ReplicaSet", "replicasets", true);
/// The revision history of StatefulSets and DaemonSets (`kubectl rollout undo --to-revision`).
pub const CONTROLLER_REVISIONS: ResourceType = grouped(
    "apps",
    "v1",
    "ControllerRevision",
    "controllerrevisions",
    true,
);
/// Events as kubectl 1.33 reads them (`events.k8s.io/v1`, not the core v1 form).
pub const EVENTS: ResourceType = grouped("events.k8s.io", "v1", "Event", "events", true);
/// Trivy Operator's scan results, one per container of a workload (`images_scanned`).
pub const VULNERABILITY_REPORTS: ResourceType = grouped(
    "aquasecurity.github.io",
    "v1alpha1",
    "VulnerabilityReport",
    "vulnerabilityreports",
    true,
);
/// Velero's backups and the schedules that make them (`backups`).
pub const VELERO_BACKUPS: ResourceType = grouped("velero.io", "v1", "Backup", "backups", true);
pub const VELERO_SCHEDULES: ResourceType =
    grouped("velero.io", "v1", "Schedule", "schedules", true);

/// RBAC, read by the `rbac` check (`golive rbac` grants reading them, nothing more).
pub const SERVICE_ACCOUNTS: ResourceType = core("ServiceAccount", "serviceaccounts", true);
pub const ROLES: ResourceType = grouped("rbac.authorization.k8s.io", "v1", "Role", "roles", true);
pub const CLUSTER_ROLES: ResourceType = grouped(
    "rbac.authorization.k8s.io",
    "v1",
    "ClusterRole",
    "clusterroles",
    false,
);
pub const ROLE_BINDINGS: ResourceType = grouped(
    "rbac.authorization.k8s.io",
    "v1",
    "RoleBinding",
    "rolebindings",
    true,
);
pub const CLUSTER_ROLE_BINDINGS: ResourceType = grouped(
    "rbac.authorization.k8s.io",
    "v1",
    "ClusterRoleBinding",
    "clusterrolebindings",
    false,
);

/// Names interned for the life of the process: plans name a handful of kinds, and
/// `ResourceType` stays `Copy` for the watch machinery.
fn intern(text: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.get(text) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// `policy` → `policies`, `class` → `classes`, `gateway` → `gateways`.
pub fn default_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'o', 'u'])
    {
        format!("{stem}ies")
    } else if lower.ends_with('s') || lower.ends_with("ch") || lower.ends_with('x') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

impl ResourceType {
    /// A type named by a plan (`kyverno.io/v1`, `ClusterPolicy`). Secrets stay metadata-only.
    pub fn dynamic(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let metadata_only = group.is_empty() && kind == "Secret";
        ResourceType {
            group: intern(group),
            version: intern(version),
            kind: intern(kind),
            plural: intern(plural),
            namespaced,
            metadata_only,
        }
    }
}

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

/// A watch as golive runs it: what to watch, which fields to keep of each object, and
/// why the plan needs it (check kinds and gates), shown by `cluster_access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub key: WatchKey,
    pub projection: std::sync::Arc<super::Projection>,
    pub why: Vec<String>,
}

impl From<WatchKey> for Watch {
    /// Whole objects, for callers that name no checks (tests, tools).
    fn from(key: WatchKey) -> Self {
        Watch {
            key,
            projection: std::sync::Arc::new(super::Projection::whole()),
            why: Vec::new(),
        }
    }
}
