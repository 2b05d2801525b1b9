//! DNS lookups for the `dns_records` checks, through hickory-resolver. The I/O happens
//! here; gates read the answers from `gates::Context::dns`, so evaluation stays pure and a
//! host not yet looked up is `unknown`. Which names to look up depends on the cluster
//! (an Ingress's hosts), so the caller passes them: `gates::dns_lookups(plan, view)`.

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

/// Answers keyed by [`dns_key`].
pub type DnsAnswers = BTreeMap<String, DnsAnswer>;

/// One name to look up: the nameserver (`None`: the system resolver) and the host.
pub type Lookup = (Option<String>, String);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsAnswer {
    pub at: Timestamp,
    pub outcome: DnsOutcome,
}

/// What the resolver said about one name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsOutcome {
    /// The CNAMEs followed, in order (without the trailing dot), and the addresses at
    /// the end of the chain.
    Resolved {
        cnames: Vec<String>,
        addresses: Vec<IpAddr>,
    },
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no A or AAAA record (at the end of its CNAMEs).
    NoAnswer,
    /// The nameserver answered with an error code (SERVFAIL, REFUSED).
    Error(String),
    /// No nameserver answered: down, unreachable or too slow.
    Unreachable(String),
}

/// The stable key an answer is kept under.
pub fn dns_key(nameserver: Option<&str>, host: &str) -> String {
    format!(
        "dns {} @{}",
        normal(host),
        nameserver.unwrap_or("system resolver")
    )
}

/// `Gravl.Example.com.` → `gravl.example.com`.
pub fn normal(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn options(timeout: Duration) -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 1;
    // /etc/hosts entries are not DNS records: they would hide a missing record.
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.cache_size = 0;
    opts
}

fn resolver(nameserver: Option<&str>, timeout: Duration) -> Result<TokioResolver, String> {
    let builder = match nameserver {
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("the system resolver's configuration: {e}"))?,
        Some(text) => {
            let addr = crate::plan::nameserver_addr(text)?;
            let mut server = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut server.connections {
                c.port = addr.port();
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
    };
    builder
        .with_options(options(timeout))
        .build()
        .map_err(|e| format!("resolver set-up: {e}"))
}

fn outcome(result: Result<hickory_resolver::lookup_ip::LookupIp, NetError>) -> DnsOutcome {
    match result {
        Ok(found) => {
            let mut cnames = Vec::new();
            let mut addresses = Vec::new();
            for record in found.as_lookup().answers() {
                match &record.data {
                    RData::CNAME(c) => cnames.push(normal(&c.0.to_string())),
                    RData::A(a) => addresses.push(IpAddr::V4(a.0)),
                    RData::AAAA(a) => addresses.push(IpAddr::V6(a.0)),
                    _ => {}
                }
            }
            addresses.sort();
            addresses.dedup();
            if addresses.is_empty() {
                DnsOutcome::NoAnswer
            } else {
                DnsOutcome::Resolved { cnames, addresses }
            }
        }
        Err(e) if e.is_nx_domain() => DnsOutcome::NxDomain,
        Err(e) if e.is_no_records_found() => DnsOutcome::NoAnswer,
        Err(e @ NetError::Dns(_)) => DnsOutcome::Error(e.to_string()),
        Err(e) => DnsOutcome::Unreachable(e.to_string()),
    }
}

/// Looks up one host (as a fully qualified name: no search domains appended).
pub async fn resolve(nameserver: Option<&str>, host: &str, timeout: Duration) -> DnsAnswer {
    let at = Timestamp::now();
    let resolver = match resolver(nameserver, timeout) {
        Ok(r) => r,
        Err(e) => {
            return DnsAnswer {
                at,
                outcome: DnsOutcome::Unreachable(e),
            };
        }
    };
    let fqdn = format!("{}.", normal(host));
    // The resolver bounds each attempt; this bounds the whole (A and AAAA, TCP fallback).
    let outcome = match tokio::time::timeout(timeout * 3, resolver.lookup_ip(fqdn)).await {
        Ok(result) => outcome(result),
        Err(_) => DnsOutcome::Unreachable(format!("no answer within {:?}", timeout * 3)),
    };
    DnsAnswer { at, outcome }
}

/// Looks up every name concurrently, each bounded by `timeout`.
pub async fn resolve_all(lookups: &BTreeSet<Lookup>, timeout: Duration) -> DnsAnswers {
    let runs = lookups.iter().map(|(ns, host)| async move {
        (
            dns_key(ns.as_deref(), host),
            resolve(ns.as_deref(), host, timeout).await,
        )
    });
    futures::future::join_all(runs).await.into_iter().collect()
}

/// How long one lookup attempt may take before the nameserver counts as unreachable.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
