//! `dns_records`: each host resolves, A/AAAA or through CNAMEs, to where its Ingress is
//! exposed (`status.loadBalancer.ingress`: IPs or a hostname) or to the addresses the
//! plan names. The lookups are `crate::dns`; a host not yet looked up, looked up too long
//! ago, or whose nameserver did not answer is unknown.

use super::json::{describe, name};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{ClusterView, INGRESSES, WatchKey};
use crate::dns::{DnsAnswer, DnsAnswers, DnsOutcome, Lookup, dns_key, normal};
use crate::plan::{Check, DnsExpect, DnsRecordsCheck, Plan};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;

const KIND: &str = "dns_records";

/// Answers older than this no longer count (the cockpit looks up every 20 s).
const STALE_AFTER_SECONDS: i64 = 300;

/// One host to check and what it must resolve to.
struct Target {
    host: String,
    /// The Ingress serving it, when the check reads Ingresses.
    ingress: Option<String>,
    /// IPs and hostnames; empty when the Ingress has no address yet.
    expected: Vec<String>,
    /// Why there is nothing to compare with.
    missing: Option<String>,
}

fn ingress_hosts(ing: &Value) -> Vec<String> {
    ing["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["host"].as_str())
        .map(normal)
        .collect()
}

fn load_balancer(ing: &Value) -> Vec<String> {
    ing["status"]["loadBalancer"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["ip"].as_str().or_else(|| a["hostname"].as_str()))
        .map(normal)
        .collect()
}

/// The hosts of `c` with what each must resolve to; wildcard hosts are skipped (no
/// single name to look up).
fn targets(c: &DnsRecordsCheck, view: &ClusterView) -> (Vec<Target>, Vec<String>) {
    let ns = c.namespace.as_str();
    let ingresses: Vec<Value> = if c.reads_ingresses() {
        view.objects(&INGRESSES, Some(ns)).collect()
    } else {
        Vec::new()
    };
    let mut hosts: Vec<String> = if c.hosts.is_empty() {
        ingresses.iter().flat_map(ingress_hosts).collect()
    } else {
        c.hosts.iter().map(|h| normal(h)).collect()
    };
    let mut seen = BTreeSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    let (wildcards, hosts): (Vec<String>, Vec<String>) =
        hosts.into_iter().partition(|h| h.starts_with("*."));
    let targets = hosts
        .into_iter()
        .map(|host| match &c.expect {
            DnsExpect::Addresses(list) => Target {
                host,
                ingress: None,
                expected: list.iter().map(|a| normal(a)).collect(),
                missing: None,
            },
            DnsExpect::Ingress(_) => {
                match ingresses.iter().find(|i| ingress_hosts(i).contains(&host)) {
                    None => Target {
                        missing: Some(format!("no Ingress in {ns} serves {host}")),
                        host,
                        ingress: None,
                        expected: Vec::new(),
                    },
                    Some(i) => {
                        let expected = load_balancer(i);
                        Target {
                            missing: expected.is_empty().then(|| {
                                format!("{} has no status.loadBalancer address yet", describe(i))
                            }),
                            host,
                            ingress: Some(name(i).to_string()),
                            expected,
                        }
                    }
                }
            }
        })
        .collect();
    (targets, wildcards)
}

/// Every name the plan's `dns_records` checks need looked up, given the Ingresses in
/// `view`: each host, and each expected hostname (to compare its addresses).
pub fn dns_lookups(plan: &Plan, view: &ClusterView) -> BTreeSet<Lookup> {
    let mut lookups = BTreeSet::new();
    for check in plan.checks() {
        let Check::DnsRecords(c) = check else {
            continue;
        };
        let ns = c.nameserver().map(str::to_string);
        for t in targets(c, view).0 {
            for e in t.expected.iter().filter(|e| e.parse::<IpAddr>().is_err()) {
                lookups.insert((ns.clone(), e.clone()));
            }
            lookups.insert((ns.clone(), t.host));
        }
    }
    lookups
}

/// The fresh answer for `host`, or why there is none.
fn answer<'a>(answers: &'a DnsAnswers, key: &str, now: Timestamp) -> Result<&'a DnsAnswer, String> {
    let a = answers
        .get(key)
        .ok_or_else(|| format!("not looked up yet: {key}"))?;
    let age = now.as_second() - a.at.as_second();
    if age > STALE_AFTER_SECONDS {
        return Err(format!("stale: {key} last looked up {age}s ago"));
    }
    Ok(a)
}

fn resolved_text(cnames: &[String], addresses: &[IpAddr]) -> String {
    let addrs: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
    if cnames.is_empty() {
        addrs.join(", ")
    } else {
        format!("{} via CNAME {}", addrs.join(", "), cnames.join(" → "))
    }
}

/// One host's verdict and the words for it.
fn judge(t: &Target, ns: Option<&str>, answers: &DnsAnswers, now: Timestamp) -> (Status, String) {
    if let Some(why) = &t.missing {
        let status = if t.ingress.is_some() {
            Status::Unknown
        } else {
            Status::Fail
        };
        return (status, why.clone());
    }
    let expected = t.expected.join(", ");
    let a = match answer(answers, &dns_key(ns, &t.host), now) {
        Ok(a) => a,
        Err(why) => return (Status::Unknown, why),
    };
    let (cnames, addresses) = match &a.outcome {
        DnsOutcome::Resolved { cnames, addresses } => (cnames, addresses),
        DnsOutcome::NxDomain => {
            return (
                Status::Fail,
                format!("NXDOMAIN: no such name; expected {expected}"),
            );
        }
        DnsOutcome::NoAnswer => {
            return (
                Status::Fail,
                format!("no A or AAAA record; expected {expected}"),
            );
        }
        DnsOutcome::Error(e) => return (Status::Fail, format!("{e}; expected {expected}")),
        DnsOutcome::Unreachable(e) => {
            return (Status::Unknown, format!("resolver not reachable: {e}"));
        }
    };
    let got = resolved_text(cnames, addresses);
    if t.expected.iter().any(|e| cnames.contains(e)) {
        return (Status::Pass, got);
    }
    let mut allowed: BTreeSet<IpAddr> = BTreeSet::new();
    let mut unresolved = Vec::new();
    for e in &t.expected {
        if let Ok(ip) = e.parse::<IpAddr>() {
            allowed.insert(ip);
            continue;
        }
        match answer(answers, &dns_key(ns, e), now).map(|a| &a.outcome) {
            Ok(DnsOutcome::Resolved { addresses, .. }) => allowed.extend(addresses),
            Ok(_) => {}
            Err(why) => unresolved.push(why),
        }
    }
    if addresses.iter().all(|a| allowed.contains(a)) {
        return (Status::Pass, got);
    }
    if !unresolved.is_empty() {
        return (
            Status::Unknown,
            format!(
                "resolves to {got}; cannot compare: {}",
                unresolved.join("; ")
            ),
        );
    }
    (
        Status::Fail,
        format!("resolves to {got}, expected {expected}"),
    )
}

pub fn dns_records(
    c: &DnsRecordsCheck,
    view: &ClusterView,
    ctx: &Context,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    if c.reads_ingresses() {
        require_fresh(KIND, view, &INGRESSES, Some(ns), false)?;
    }
    let (targets, wildcards) = targets(c, view);
    if targets.is_empty() {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Unknown,
            format!("no Ingress host in {ns} to look up"),
        )
        .with_fix("name the hosts under `hosts:`, or add the Ingress that serves them"));
    }
    let server = c.nameserver().unwrap_or("the system resolver");
    let mut evidence: Vec<Evidence> = wildcards
        .iter()
        .map(|w| Evidence::new(format!("host {w}"), "a wildcard: not looked up"))
        .collect();
    let mut status = Status::Pass;
    let mut faults = Vec::new();
    for t in &targets {
        let (s, text) = judge(t, c.nameserver(), ctx.dns(), ctx.now());
        status = status.max(s);
        let object = match &t.ingress {
            Some(i) => format!("host {} (Ingress {ns}/{i})", t.host),
            None => format!("host {}", t.host),
        };
        if s != Status::Pass {
            faults.push((s, format!("{}: {text}", t.host)));
        }
        evidence.push(Evidence::new(object, format!("{text} (asked {server})")));
    }
    let summary = if status == Status::Pass {
        let n = targets.len();
        let hosts = if n == 1 { "host" } else { "hosts" };
        match &c.expect {
            DnsExpect::Ingress(_) => format!("{n} {hosts} resolve to their Ingress's addresses"),
            DnsExpect::Addresses(_) => format!("{n} {hosts} resolve to the expected addresses"),
        }
    } else {
        let shown: Vec<String> = faults
            .into_iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, t)| t)
            .collect();
        shown.join("; ")
    };
    let verdict = CheckVerdict::new(KIND, status, summary).with_evidence(evidence);
    Ok(match status {
        Status::Fail => verdict.with_fix(
            "point each host at the Ingress's load-balancer address (an A record for an IP, a CNAME for a hostname) at the DNS provider",
        ),
        Status::Unknown => verdict.with_fix(format!(
            "golive asks {server}: set `nameserver:` to one it can reach; an Ingress without an address waits for its controller"
        )),
        _ => verdict,
    })
}

impl CheckKind for DnsRecordsCheck {
    const NAME: &'static str = KIND;

    fn watches(&self) -> Vec<WatchKey> {
        if self.reads_ingresses() {
            vec![WatchKey::namespaced(INGRESSES, &self.namespace)]
        } else {
            Vec::new()
        }
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        dns_records(self, view, ctx)
    }
}
