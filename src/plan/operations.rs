//! Specs of the checks over what surrounds the workloads: their images (scanned by Trivy
//! Operator, pinned by digest), the DNS records that send users to them, and the Velero
//! backups that would bring them back.

use super::duration::PlanDuration;
use serde::{Deserialize, Serialize};

/// Every container image running in `namespace` has a Trivy Operator
/// `VulnerabilityReport` for its digest, and none is over the limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesScannedCheck {
    pub namespace: String,
    /// The most vulnerabilities of each severity one image may carry.
    #[serde(default)]
    pub max: SeverityLimits,
}

/// Per-severity ceilings; a severity left out is not limited (critical defaults to 0,
/// high to 5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityLimits {
    #[serde(default = "no_critical")]
    pub critical: Option<u64>,
    #[serde(default = "five_high")]
    pub high: Option<u64>,
    #[serde(default)]
    pub medium: Option<u64>,
    #[serde(default)]
    pub low: Option<u64>,
}

fn no_critical() -> Option<u64> {
    Some(0)
}

fn five_high() -> Option<u64> {
    Some(5)
}

impl Default for SeverityLimits {
    fn default() -> Self {
        Self {
            critical: no_critical(),
            high: five_high(),
            medium: None,
            low: None,
        }
    }
}

/// No container in `namespace` runs `:latest` or an untagged image; a tag without a
/// digest warns (a tag can be moved, a digest cannot).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesPinnedCheck {
    pub namespace: String,
}

/// Each host resolves (A/AAAA, through CNAMEs) to where its Ingress is exposed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsRecordsCheck {
    pub namespace: String,
    /// The hosts to resolve; empty means every host of every Ingress in `namespace`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `ADDR:PORT` of the nameserver to ask; unset or empty means the system resolver.
    #[serde(default)]
    pub nameserver: Option<String>,
    /// `ingress` (the Ingress's `status.loadBalancer` addresses) or a list of addresses
    /// and hostnames.
    #[serde(default)]
    pub expect: DnsExpect,
}

impl DnsRecordsCheck {
    /// The nameserver the plan names, `None` for the system resolver.
    pub fn nameserver(&self) -> Option<&str> {
        self.nameserver
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Whether the check reads Ingresses (for hosts, expected addresses or both).
    pub fn reads_ingresses(&self) -> bool {
        self.hosts.is_empty() || matches!(self.expect, DnsExpect::Ingress(_))
    }
}

/// What a host must resolve to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DnsExpect {
    /// The `status.loadBalancer.ingress` addresses of the Ingress serving the host.
    Ingress(IngressWord),
    /// These IP addresses or hostnames (a CNAME target).
    Addresses(Vec<String>),
}

/// The one word `ingress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IngressWord {
    #[default]
    Ingress,
}

impl Default for DnsExpect {
    fn default() -> Self {
        DnsExpect::Ingress(IngressWord::Ingress)
    }
}

/// A Velero Schedule covers `namespace`, and the newest Backup that includes it completed
/// within `max_age`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsCheck {
    pub namespace: String,
    #[serde(default = "one_day")]
    pub max_age: PlanDuration,
    /// Where Velero keeps its Backups and Schedules.
    #[serde(default = "velero")]
    pub velero_namespace: String,
}

fn one_day() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(86_400))
}

fn velero() -> String {
    "velero".into()
}

/// `ADDR:PORT`, `[v6]:PORT` or a bare address (port 53).
pub fn nameserver_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    text.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| format!("nameserver `{text}` is not ADDR:PORT or an IP address"))
}

/// What serde cannot say about a `dns_records` check.
pub fn dns_errors(c: &DnsRecordsCheck) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(ns) = c.nameserver()
        && let Err(e) = nameserver_addr(ns)
    {
        errors.push(e);
    }
    if let DnsExpect::Addresses(a) = &c.expect
        && a.iter().all(|a| a.trim().is_empty())
    {
        errors.push("`expect` needs `ingress` or at least one address".into());
    }
    errors
}
