//! Kubernetes NetworkPolicy semantics for golive: reachability, explanations,
//! lints and gate findings. Pure: no I/O except the optional YAML file reader.

pub mod cidr;
pub mod engine;
pub mod eval;
pub mod gates;
pub mod lint;
pub mod model;
pub mod port;
pub mod selector;

pub use cidr::Cidr;
pub use engine::{Analyzer, Bits, Matrix, matrix};
pub use eval::{DirectionVerdict, Explanation, IpMatch, RuleRef};
pub use gates::{
    DnsTarget, DnsTargets, EndpointSelector, EndpointSelectorError, Finding, Status, allow,
    default_deny, deny, dns_egress, find_dns,
};
pub use lint::{Lint, Severity, lint, lint_with_dns};
pub use model::{
    Direction, Endpoint, EndpointKind, EndpointPreference, ExternalAddr, LoadError, LookupError,
    Model, ModelBuilder, Namespace, Peer, Policy, Rule, Service, ServicePort,
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
