//! The go-live plan as written in YAML. Field names read like Kubernetes manifests and k6
//! options; unknown keys are errors, never ignored.

use super::duration::PlanDuration;
use super::phases::Phase;
use golive_grammar::Selector as LabelSelector;
use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;
use std::fmt;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Namespaces the service lives in; shown in the header and used by `cluster_access`.
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub gates: Vec<Gate>,
    #[serde(default)]
    pub load: Option<golive_load::LoadConfig>,
    /// Where Prometheus and Alertmanager are, for the monitoring checks.
    #[serde(default)]
    pub monitoring: Option<super::monitor::Monitoring>,
    #[serde(default)]
    pub runbook: Vec<Phase>,
    #[serde(default)]
    pub signoff: Vec<String>,
}

impl Plan {
    /// Every check of every gate, in plan order.
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.gates.iter().flat_map(|g| &g.checks)
    }

    /// The `prometheus` checks, in plan order.
    pub fn prometheus_checks(&self) -> Vec<&super::monitor::PrometheusCheck> {
        self.checks()
            .filter_map(|c| match c {
                Check::Prometheus(p) => Some(p),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub id: Spanned<String>,
    pub title: String,
    pub group: String,
    #[serde(default)]
    pub description: Option<String>,
    pub checks: Vec<Check>,
}

/// One piece of evidence a gate needs. Written as a single-key map: `- pods_ready: {namespace: x}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The API server answers and every resource the plan reads can be listed and watched.
    ClusterAccess(ClusterAccessCheck),
    DeploymentsReady(DeploymentsCheck),
    PodsReady(PodsCheck),
    ClusterIssuersReady(IssuersCheck),
    IssuersReady(NamespacedIssuersCheck),
    CertificatesReady(CertificatesCheck),
    SealingKey(SealingKeyCheck),
    DefaultDeny(DefaultDenyCheck),
    DnsEgress(DnsEgressCheck),
    Allow(ReachabilityCheck),
    Deny(ReachabilityCheck),
    /// The last load test met every threshold of the plan's `load` section.
    LoadThresholds(EmptyCheck),
    SecretExists(SecretExistsCheck),
    ConfigValue(ConfigValueCheck),
    IngressTls(IngressTlsCheck),
    PodSecurity(WorkloadsCheck),
    ResourcesSet(WorkloadsCheck),
    Hpa(HpaCheck),
    Pdb(PdbCheck),
    PvcAccess(PvcAccessCheck),
    ResourceExists(ResourceExistsCheck),
    InitContainerSucceeded(InitContainerCheck),
    JobSucceeded(JobCheck),
    Http(HttpCheck),
    Sse(SseCheck),
    Tcp(TcpCheck),
    Expression(ExpressionCheck),
    /// The rolling update of Deployments, StatefulSets and DaemonSets, with fail-fast on
    /// broken pods of the new revision.
    Rollout(super::deploy::RolloutCheck),
    /// Warning events on the service's objects since a moment of the go-live.
    WarningEvents(super::deploy::WarningEventsCheck),
    /// A Prometheus query against a condition, minimum traffic and a pre-deploy baseline.
    Prometheus(super::monitor::PrometheusCheck),
    /// Alertmanager's active alerts matching the matchers.
    Alerts(super::monitor::AlertsCheck),
    /// Prometheus scrapes the service's targets.
    Scraped(super::monitor::ScrapedCheck),
    /// What the namespace's ServiceAccounts may do through RBAC: no admin, edit or
    /// wildcard grants, no secrets beyond the namespace, no escalation paths.
    Rbac(super::rbac::RbacCheck),
    /// Trivy Operator scanned every running image, none over the limits.
    ImagesScanned(super::operations::ImagesScannedCheck),
    /// No `:latest` or untagged image; a tag without a digest warns.
    ImagesPinned(super::operations::ImagesPinnedCheck),
    /// The service's hosts resolve to its Ingress's addresses.
    DnsRecords(super::operations::DnsRecordsCheck),
    /// A Velero Schedule covers the namespace and its newest Backup completed recently.
    Backups(super::operations::BackupsCheck),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyCheck {}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterAccessCheck {}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentsCheck {
    pub namespace: String,
    /// Every one of these must exist and be fully available.
    #[serde(default)]
    pub names: Vec<String>,
    /// At least one of these names must exist; each that exists must be available.
    #[serde(default)]
    pub any_of: Vec<String>,
    /// Deployments matching this label selector (an alternative to `any_of`).
    /// With none of `names`, `any_of` and `selector`: every Deployment in the namespace.
    #[serde(default)]
    pub selector: Option<Selector>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PodsCheck {
    pub namespace: String,
    #[serde(default)]
    pub selector: Option<Selector>,
    /// Restarts above this count warn even when the pod is Ready.
    #[serde(default = "default_max_restarts")]
    pub max_restarts: u32,
}

fn default_max_restarts() -> u32 {
    5
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuersCheck {
    /// Empty means every ClusterIssuer in the cluster.
    #[serde(default)]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamespacedIssuersCheck {
    pub namespace: String,
    #[serde(default)]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesCheck {
    pub namespace: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default = "default_cert_warn")]
    pub warn_within: PlanDuration,
    #[serde(default = "default_cert_fail")]
    pub fail_within: PlanDuration,
}

fn default_cert_warn() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(21 * 86_400))
}

fn default_cert_fail() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(7 * 86_400))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SealingKeyCheck {
    /// The sealed-secrets controller's namespace, where its keys live.
    #[serde(default = "default_kube_system")]
    pub namespace: String,
    /// The controller's `--key-renew-period`; the newest key older than this warns.
    #[serde(default = "default_renewal")]
    pub renewal: PlanDuration,
}

fn default_kube_system() -> String {
    "kube-system".into()
}

fn default_renewal() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(30 * 86_400))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ingress,
    Egress,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultDenyCheck {
    pub namespace: String,
    #[serde(default = "both_directions")]
    pub directions: Vec<Direction>,
}

fn both_directions() -> Vec<Direction> {
    vec![Direction::Ingress, Direction::Egress]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsEgressCheck {
    pub namespace: String,
    #[serde(default = "default_kube_system")]
    pub dns_namespace: String,
    #[serde(default = "default_dns_selector")]
    pub dns_selector: Selector,
}

fn default_dns_selector() -> Selector {
    Selector {
        text: "k8s-app=kube-dns".into(),
        parsed: LabelSelector::labels([("k8s-app", "kube-dns")]),
    }
}

/// One side of a connection: pods by namespace and label selector, pods in the
/// namespaces a selector matches, or addresses outside the cluster.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub namespace_selector: Option<Selector>,
    #[serde(default)]
    pub selector: Option<Selector>,
    /// An address or CIDR outside the cluster, e.g. `0.0.0.0/0` or `203.0.113.10`.
    #[serde(default)]
    pub cidr: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReachabilityCheck {
    pub from: Peer,
    pub to: Peer,
    /// `3000/TCP`, `53/UDP`, `443` (TCP).
    pub ports: Vec<PortText>,
}

/// A label selector string, checked when the plan is read so a typo has a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub text: String,
    pub parsed: LabelSelector,
}

impl Selector {
    pub fn new(text: &str) -> Result<Self, String> {
        Ok(Self {
            text: text.to_string(),
            parsed: LabelSelector::parse(text).map_err(|e| e.to_string())?,
        })
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Selector::new(&text).map_err(de::Error::custom)
    }
}

impl Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// `3000/TCP`, `53/UDP`, `443` (TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortText(pub golive_netpol::PortSpec);

impl fmt::Display for PortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for PortText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(PortText).map_err(de::Error::custom)
    }
}

impl Serialize for PortText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Secrets by name or label, read as metadata only: neither key material nor key names.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretExistsCheck {
    pub namespace: String,
    /// Every one of these must exist.
    #[serde(default)]
    pub names: Vec<String>,
    /// At least one Secret must match (every match is checked).
    #[serde(default)]
    pub selector: Option<Selector>,
    /// Younger Secrets fail: e.g. a credential created minutes ago by a hurried fix.
    #[serde(default)]
    pub min_age: Option<PlanDuration>,
    /// `key` (any value) or `key=value`, each required on every selected Secret.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Annotation keys, or `key=value`, each required on every selected Secret.
    #[serde(default)]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// The key's text as is.
    #[default]
    Text,
    Yaml,
    Json,
}

/// A key of a ConfigMap, optionally parsed and followed by a dotted path.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapSource {
    pub name: String,
    pub key: String,
    #[serde(default)]
    pub format: ValueFormat,
    /// `database.maxPoolSize`, `cors.allowedOrigins`, `items[0].name`; needs `format`.
    #[serde(default)]
    pub path: Option<String>,
}

/// An environment variable of a Deployment's pod template.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSource {
    pub deployment: String,
    /// The container; the first one when absent.
    #[serde(default)]
    pub container: Option<String>,
    pub name: String,
}

/// Where a configuration value is read from: exactly one of `config_map` and `env`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSource {
    pub namespace: String,
    #[serde(default)]
    pub config_map: Option<ConfigMapSource>,
    #[serde(default)]
    pub env: Option<EnvSource>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigValueCheck {
    pub namespace: String,
    #[serde(default)]
    pub config_map: Option<ConfigMapSource>,
    #[serde(default)]
    pub env: Option<EnvSource>,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub one_of: Vec<String>,
    #[serde(default)]
    pub not_one_of: Vec<String>,
    /// A regular expression the whole value must match.
    #[serde(default)]
    pub matches: Option<Pattern>,
    /// A list value holds this item, or a text value holds this substring.
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub not_contains: Option<String>,
    /// The value names a Secret in the namespace, which must exist (metadata only).
    #[serde(default)]
    pub names_secret: bool,
}

impl ConfigValueCheck {
    pub fn source(&self) -> ValueSource {
        ValueSource {
            namespace: self.namespace.clone(),
            config_map: self.config_map.clone(),
            env: self.env.clone(),
        }
    }
}

/// A regular expression, compiled when the plan is read so a typo has a position.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub regex: regex::Regex,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Self, String> {
        let anchored = format!("^(?:{text})$");
        regex::Regex::new(&anchored)
            .map(|regex| Self {
                text: text.to_string(),
                regex,
            })
            .map_err(|e| format!("`{text}` is not a regular expression: {e}"))
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Pattern::new(&text).map_err(de::Error::custom)
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngressTlsCheck {
    pub namespace: String,
    #[serde(default)]
    pub names: Vec<String>,
    /// With neither `names` nor `selector`: every Ingress in the namespace.
    #[serde(default)]
    pub selector: Option<Selector>,
}

/// Deployments by name or label; with neither, every Deployment in the namespace.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadsCheck {
    pub namespace: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub selector: Option<Selector>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HpaCheck {
    pub namespace: String,
    /// The Deployment the HPA must target.
    pub workload: String,
    #[serde(default = "default_min_replicas")]
    pub min_replicas_at_least: u32,
    #[serde(default)]
    pub max_replicas_at_most: Option<u32>,
}

fn default_min_replicas() -> u32 {
    2
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PdbCheck {
    pub namespace: String,
    /// The Deployment whose pods the PDB must select.
    pub workload: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PvcAccessCheck {
    pub namespace: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub selector: Option<Selector>,
    #[serde(default = "default_access_mode")]
    pub access_mode: String,
}

fn default_access_mode() -> String {
    "ReadWriteMany".into()
}

/// Any kind, by apiVersion and kind: `kyverno.io/v1 ClusterPolicy`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceExistsCheck {
    pub api_version: String,
    pub kind: String,
    /// Defaults to the lower-case plural of `kind` (`policy` → `policies`).
    #[serde(default)]
    pub plural: Option<String>,
    /// Absent for cluster-scoped kinds.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub selector: Option<Selector>,
    /// Require `status.conditions[type=Ready]` to be `True`.
    #[serde(default)]
    pub ready: bool,
    /// A dotted path that must be present and not null: `spec.jwt`,
    /// `spec.template.spec.containers[name=envoy]`.
    #[serde(default)]
    pub has_path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InitContainerCheck {
    pub namespace: String,
    /// The Deployment whose current pods are read.
    pub workload: String,
    pub container: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobCheck {
    pub namespace: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub selector: Option<Selector>,
}

fn default_get() -> String {
    "GET".into()
}

fn default_status() -> u16 {
    200
}

fn default_probe_within() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(5))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub url: String,
    #[serde(default = "default_get")]
    pub method: String,
    #[serde(default = "default_status")]
    pub status: u16,
    /// A dotted path into the JSON body, compared with `equals`.
    #[serde(default)]
    pub json_path: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    /// The response must arrive within this.
    #[serde(default = "default_probe_within")]
    pub within: PlanDuration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SseCheck {
    pub url: String,
    /// The first event must arrive within this; the stream is not read to its end.
    #[serde(default = "default_probe_within")]
    pub first_event_within: PlanDuration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// `host:port`. Empty: nothing to probe, the item is a manual attestation.
    pub address: String,
    #[serde(default = "default_probe_within")]
    pub within: PlanDuration,
    /// The runbook step that records who attested, when no address is given.
    #[serde(default)]
    pub attested_in: Option<String>,
}

/// A named input of an expression.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpressionValue {
    ConfigValue(ValueSource),
    /// `spec.maxReplicas` of the HPA targeting the Deployment: the worst case, not today's count.
    HpaMax(HpaRef),
    HpaMin(HpaRef),
    Literal(f64),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HpaRef {
    pub namespace: String,
    pub workload: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressionCheck {
    pub values: std::collections::BTreeMap<String, ExpressionValue>,
    /// `pool * replicas <= max_connections - reserved`: + - * / and one comparison.
    pub expr: String,
}
