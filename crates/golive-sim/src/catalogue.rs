//! The kinds the simulated API server knows: a built-in catalogue of core kinds
//! plus whatever loaded CustomResourceDefinitions declare.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

/// Verbs every served resource advertises in discovery. The sim itself only
/// serves reads over HTTP, but kubectl filters resources by these.
const STANDARD_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One additional printer column of a CRD version.
#[derive(Debug, Clone)]
pub(crate) struct PrinterColumn {
    pub name: String,
    pub column_type: String,
    pub json_path: String,
    pub description: String,
    pub priority: i64,
}

/// A served resource: one (group, version, plural).
#[derive(Debug, Clone)]
pub(crate) struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// `Some` for custom resources: the CRD's additionalPrinterColumns.
    pub printer_columns: Option<Vec<PrinterColumn>>,
    /// Name of the CRD that defines this type, `None` when built in.
    pub crd_name: Option<String>,
    /// Whether `status` is a subresource (written only through `/status`).
    pub has_status: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` for the core group, `plural.group` otherwise, as kubectl prints it.
    pub fn key(&self) -> String {
        resource_key(&self.plural, &self.group)
    }

    pub fn discovery_entry(&self) -> Value {
        serde_json::json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": STANDARD_VERBS,
            "shortNames": self.short_names,
            "categories": self.categories,
        })
    }
}

pub(crate) fn resource_key(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// Splits `group/version` (or a bare core `version`) into its parts.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// (group, version, kind, plural, namespaced, short names)
type BuiltIn = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
);

const BUILT_INS: &[BuiltIn] = &[
    ("", "v1", "Namespace", "namespaces", false, &["ns"]),
    ("", "v1", "Pod", "pods", true, &["po"]),
    ("", "v1", "Service", "services", true, &["svc"]),
    ("", "v1", "Secret", "secrets", true, &[]),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
    ),
    ("", "v1", "Node", "nodes", false, &["no"]),
    ("", "v1", "Endpoints", "endpoints", true, &["ep"]),
    ("", "v1", "Event", "events", true, &["ev"]),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"]),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"]),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"]),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"]),
    (
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        &[],
    ),
    ("events.k8s.io", "v1", "Event", "events", true, &["ev"]),
    ("batch", "v1", "Job", "jobs", true, &[]),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"]),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
    ),
    (
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        "csidrivers",
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
    ),
    ("coordination.k8s.io", "v1", "Lease", "leases", true, &[]),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
    ),
];

/// Built-in resources that have no status subresource.
const WITHOUT_STATUS: &[&str] = &[
    "configmaps",
    "secrets",
    "serviceaccounts",
    "endpoints",
    "events",
    "endpointslices",
    "ingressclasses",
    "storageclasses",
    "csidrivers",
    "roles",
    "rolebindings",
    "clusterroles",
    "clusterrolebindings",
    "leases",
];

/// Resources `kubectl get all` lists, through the discovery category `all`.
const IN_ALL_CATEGORY: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "services"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"),
];

/// Every kind the server currently serves, indexed both ways clients address them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Catalogue {
    by_kind: HashMap<(String, String), Arc<ResourceType>>,
    by_plural: HashMap<(String, String, String), Arc<ResourceType>>,
}

impl Catalogue {
    pub fn with_built_ins() -> Self {
        let mut catalogue = Catalogue::default();
        for (group, version, kind, plural, namespaced, short_names) in BUILT_INS {
            catalogue.insert(ResourceType {
                group: (*group).to_string(),
                version: (*version).to_string(),
                kind: (*kind).to_string(),
                plural: (*plural).to_string(),
                singular: kind.to_lowercase(),
                namespaced: *namespaced,
                short_names: short_names.iter().map(|s| (*s).to_string()).collect(),
                categories: if IN_ALL_CATEGORY.contains(&(*group, *plural)) {
                    vec!["all".to_string()]
                } else {
                    Vec::new()
                },
                printer_columns: None,
                crd_name: None,
                has_status: !WITHOUT_STATUS.contains(plural),
            });
        }
        catalogue
    }

    fn insert(&mut self, resource: ResourceType) {
        let resource = Arc::new(resource);
        self.by_kind.insert(
            (resource.api_version(), resource.kind.clone()),
            resource.clone(),
        );
        self.by_plural.insert(
            (
                resource.group.clone(),
                resource.version.clone(),
                resource.plural.clone(),
            ),
            resource,
        );
    }

    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.by_kind
            .get(&(api_version.to_string(), kind.to_string()))
            .cloned()
    }

    pub fn by_plural(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.by_plural
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Whether `name` (`plural`, or `plural.group`) names a resource served now: what a
    /// `deny` fault or `--deny` covers.
    pub fn knows_resource(&self, name: &str) -> bool {
        self.by_plural
            .values()
            .any(|r| r.plural == name || r.key() == name)
    }

    /// Resources of one group/version, sorted by plural for stable discovery output.
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        let mut found: Vec<_> = self
            .by_plural
            .values()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.plural.cmp(&b.plural));
        found
    }

    /// Non-core groups with their versions, sorted; the first version is preferred.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for resource in self.by_plural.values() {
            if resource.group.is_empty() {
                continue;
            }
            let versions = groups.entry(resource.group.clone()).or_default();
            if !versions.contains(&resource.version) {
                versions.push(resource.version.clone());
            }
        }
        groups
            .into_iter()
            .map(|(group, mut versions)| {
                versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
                (group, versions)
            })
            .collect()
    }

    /// Registers the served versions of a CRD, replacing what an earlier
    /// revision of the same CRD declared. Returns the registered types.
    pub fn register_crd(&mut self, crd: &Value) -> Result<Vec<Arc<ResourceType>>, String> {
        let definition = CrdDefinition::parse(crd)?;
        self.unregister_crd(&definition.crd_name);
        let mut registered = Vec::new();
        for version in &definition.versions {
            let resource = ResourceType {
                group: definition.group.clone(),
                version: version.name.clone(),
                kind: definition.kind.clone(),
                plural: definition.plural.clone(),
                singular: definition.singular.clone(),
                namespaced: definition.namespaced,
                short_names: definition.short_names.clone(),
                categories: definition.categories.clone(),
                printer_columns: Some(version.columns.clone()),
                crd_name: Some(definition.crd_name.clone()),
                has_status: version.has_status,
            };
            self.insert(resource);
            if let Some(registered_type) =
                self.by_plural(&definition.group, &version.name, &definition.plural)
            {
                registered.push(registered_type);
            }
        }
        Ok(registered)
    }

    /// Removes the types a CRD declared; returns them so their objects can go too.
    pub fn unregister_crd(&mut self, crd_name: &str) -> Vec<Arc<ResourceType>> {
        let removed: Vec<_> = self
            .by_plural
            .values()
            .filter(|r| r.crd_name.as_deref() == Some(crd_name))
            .cloned()
            .collect();
        for resource in &removed {
            self.by_plural.remove(&(
                resource.group.clone(),
                resource.version.clone(),
                resource.plural.clone(),
            ));
            self.by_kind
                .remove(&(resource.api_version(), resource.kind.clone()));
        }
        removed
    }
}

/// Orders versions the way Kubernetes prefers them: GA over beta over alpha,
/// higher numbers first.
fn version_priority(version: &str) -> (u8, u32, u32) {
    let rest = version.trim_start_matches('v');
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major = digits.parse().unwrap_or(0);
    let suffix = &rest[digits.len()..];
    let (stability, minor_text) = if let Some(minor) = suffix.strip_prefix("beta") {
        (1, minor)
    } else if let Some(minor) = suffix.strip_prefix("alpha") {
        (0, minor)
    } else {
        (2, "")
    };
    (stability, major, minor_text.parse().unwrap_or(0))
}

struct CrdVersion {
    name: String,
    has_status: bool,
    columns: Vec<PrinterColumn>,
}

struct CrdDefinition {
    crd_name: String,
    group: String,
    kind: String,
    plural: String,
    singular: String,
    namespaced: bool,
    short_names: Vec<String>,
    categories: Vec<String>,
    versions: Vec<CrdVersion>,
}

impl CrdDefinition {
    fn parse(crd: &Value) -> Result<Self, String> {
        let text = |pointer: &str| -> Result<String, String> {
            crd.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("CustomResourceDefinition is missing {pointer}"))
        };
        let strings = |pointer: &str| -> Vec<String> {
            crd.pointer(pointer)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let crd_name = text("/metadata/name")?;
        let group = text("/spec/group")?;
        let kind = text("/spec/names/kind")?;
        let plural = text("/spec/names/plural")?;
        let expected_name = format!("{plural}.{group}");
        if crd_name != expected_name {
            return Err(format!(
                "CustomResourceDefinition name {crd_name:?} must be spec.names.plural + \".\" + spec.group, i.e. {expected_name:?}"
            ));
        }
        let singular = crd
            .pointer("/spec/names/singular")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase());
        let namespaced = match crd.pointer("/spec/scope").and_then(Value::as_str) {
            Some("Namespaced") => true,
            Some("Cluster") => false,
            other => {
                return Err(format!(
                    "CustomResourceDefinition {crd_name}: spec.scope must be Namespaced or Cluster, found {other:?}"
                ));
            }
        };
        let mut versions = Vec::new();
        for version in crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let served = version
                .get("served")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let Some(name) = version.get("name").and_then(Value::as_str) else {
                return Err(format!(
                    "CustomResourceDefinition {crd_name}: a version has no name"
                ));
            };
            if !served {
                continue;
            }
            let columns = version
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|column| {
                    Some(PrinterColumn {
                        name: column.get("name")?.as_str()?.to_string(),
                        column_type: column
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("string")
                            .to_string(),
                        json_path: column.get("jsonPath")?.as_str()?.to_string(),
                        description: column
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        priority: column.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    })
                })
                .collect();
            versions.push(CrdVersion {
                name: name.to_string(),
                has_status: version.pointer("/subresources/status").is_some(),
                columns,
            });
        }
        if versions.is_empty() {
            return Err(format!(
                "CustomResourceDefinition {crd_name} serves no version (spec.versions[].served)"
            ));
        }
        Ok(CrdDefinition {
            crd_name,
            group,
            kind,
            plural,
            singular,
            namespaced,
            short_names: strings("/spec/names/shortNames"),
            categories: strings("/spec/names/categories"),
            versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_carry_short_names_and_scope() {
        let catalogue = Catalogue::with_built_ins();
        let deploy = catalogue
            .by_plural("apps", "v1", "deployments")
            .expect("deployments are built in");
        assert_eq!(deploy.short_names, vec!["deploy"]);
        assert!(deploy.namespaced);
        let ns = catalogue.by_kind("v1", "Namespace").expect("built in");
        assert!(!ns.namespaced);
        assert_eq!(ns.key(), "namespaces");
        assert_eq!(deploy.key(), "deployments.apps");
    }

    #[test]
    fn versions_prefer_ga_then_beta_then_alpha() {
        let mut versions = vec!["v1alpha1", "v1", "v2beta1", "v1beta1"];
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(versions, vec!["v1", "v2beta1", "v1beta1", "v1alpha1"]);
    }
}
