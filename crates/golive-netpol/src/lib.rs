//! Kubernetes NetworkPolicy semantics for golive: reachability, explanations,
//! lints and gate findings. Pure: no I/O except the optional YAML file reader.
//!
//! ```
//! use golive_netpol::{DnsTarget, Model, Status, dns_egress, explain, lint};
//!
//! let manifests = concat!(
//!     include_str!("../tests/fixtures/gravl-cluster.yaml"),
//!     "\n---\n",
//!     include_str!("../tests/fixtures/gravl-policies-broken.yaml"),
//! );
//! let model = Model::from_yaml(manifests, "gravl.yaml")?;
//!
//! let dns = dns_egress(&model, "gravl-staging", &DnsTarget::default());
//! assert_eq!(dns.status, Status::Fail);
//! assert!(dns.summary.ends_with("selects namespaces {name=kube-system}, which matches no namespace"));
//!
//! let why = explain(&model, "gravl-staging/backend", "kube-system/coredns", "53/UDP".parse()?)?;
//! assert!(!why.allowed());
//! assert_eq!(lint(&model)[0].code, "namespace-selector-matches-nothing");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! * Build a [`Model`] with [`ModelBuilder`] (YAML, `serde_json::Value` objects) or
//!   [`Model::from_values`] for a live cluster view.
//! * Ask [`explain`], [`matrix`] (or keep an [`Analyzer`] for incremental updates), [`lint`].
//! * Evaluate gates: [`default_deny`], [`dns_egress`], [`allow`], [`deny`] → [`Finding`].

pub mod cidr;
pub mod dns;
pub mod engine;
pub mod eval;
pub mod finding;
pub mod gates;
pub mod lint;
pub mod load;
pub mod model;
pub mod port;
pub mod selector;
pub mod suggestion;

pub use cidr::Cidr;
pub use dns::{DnsTarget, DnsTargets, dns_egress, find_dns};
pub use engine::{Analyzer, Bits, Matrix, matrix};
pub use eval::{DirectionVerdict, Explanation, IpMatch, RuleRef};
pub use finding::{Finding, Status};
pub use gates::{EndpointSelector, EndpointSelectorError, allow, default_deny, deny};
pub use lint::{Lint, Severity, lint, lint_with_dns};
pub use load::{EndpointPreference, LoadError, ModelBuilder};
pub use model::{
    Direction, Endpoint, EndpointKind, ExternalAddr, LookupError, Model, Namespace, Peer, Policy,
    Rule, Service, ServicePort,
};
pub use port::{ContainerPort, PortRef, PortRule, PortSpec, PortSpecError, Protocol};
pub use selector::{Labels, Selector, SelectorError};

/// Explains whether `from` can reach `to` on `port`; names are `namespace/name`,
/// an IP, a CIDR or `external`.
pub fn explain(
    model: &Model,
    from: &str,
    to: &str,
    port: PortSpec,
) -> Result<Explanation, LookupError> {
    let from = model.resolve(from)?;
    let to = model.resolve(to)?;
    Ok(eval::explain_endpoints(
        model,
        &from,
        &to,
        port,
        IpMatch::All,
    ))
}
