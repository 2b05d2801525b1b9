//! A check kind in one place. Each kind's plan spec (in `crate::plan::model`) implements
//! [`CheckKind`] next to its gate family: its name in a plan, the watches it reads and its
//! evaluation. `for_each_kind!` is the one dispatch from a [`Check`] to its kind.
//!
//! Adding a kind: the spec struct and its `Check` variant in `plan/model.rs`, an
//! `impl CheckKind` in the family's file, one arm below (the compiler points at it), and
//! its section in `docs/plan.md`. ARCHITECTURE.md walks through it.

use super::{CheckVerdict, Context};
use crate::cluster::{ClusterView, Reads, WatchKey};

/// What golive knows about one kind of check.
pub trait CheckKind {
    /// The kind's key in a plan (`deployments_ready`): the serde tag of its `Check` variant.
    const NAME: &'static str;

    /// The watches its evidence comes from; the cockpit and `check` start exactly these.
    fn watches(&self) -> Vec<WatchKey>;

    /// The fields it reads, for the resources whose objects golive cuts down as they
    /// arrive (pods: a real one is 6–15 KB). A watched resource not named here is kept
    /// whole, so a check that declares nothing never reads a dropped field. The
    /// projection tests evaluate every kind on cut and whole objects and compare.
    fn reads(&self) -> Vec<Reads> {
        Vec::new()
    }

    /// The verdict, or the early verdict (`Err`) when the evidence is missing or stale.
    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict>;
}

/// Runs `$body` with `$kind` bound to the [`CheckKind`] behind `$check`. Kinds that share a
/// spec struct (`allow`/`deny`, `pod_security`/`resources_set`) go through a small adapter.
macro_rules! for_each_kind {
    ($check:expr, |$kind:ident| $body:expr) => {
        match $check {
            $crate::plan::Check::ClusterAccess(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::DeploymentsReady(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::PodsReady(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::ClusterIssuersReady(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::IssuersReady(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::CertificatesReady(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::SealingKey(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::DefaultDeny(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::DnsEgress(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Allow(c) => {
                let $kind = &$crate::gates::netpol::Allow(c);
                $body
            }
            $crate::plan::Check::Deny(c) => {
                let $kind = &$crate::gates::netpol::Deny(c);
                $body
            }
            $crate::plan::Check::LoadThresholds(_) => {
                let $kind = &$crate::gates::load::LoadThresholds;
                $body
            }
            $crate::plan::Check::SecretExists(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::ConfigValue(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::IngressTls(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::PodSecurity(c) => {
                let $kind = &$crate::gates::podspec::PodSecurity(c);
                $body
            }
            $crate::plan::Check::ResourcesSet(c) => {
                let $kind = &$crate::gates::podspec::ResourcesSet(c);
                $body
            }
            $crate::plan::Check::Hpa(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Pdb(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::PvcAccess(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::ResourceExists(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::InitContainerSucceeded(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::JobSucceeded(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Http(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Sse(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Tcp(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Expression(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Rollout(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::WarningEvents(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Prometheus(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Alerts(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Scraped(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Rbac(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::ImagesScanned(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::ImagesPinned(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::DnsRecords(c) => {
                let $kind = c;
                $body
            }
            $crate::plan::Check::Backups(c) => {
                let $kind = c;
                $body
            }
        }
    };
}
pub(crate) use for_each_kind;

/// The name of the kind behind a check, for a generic `$body`.
pub(crate) fn name_of<K: CheckKind>(_: &K) -> &'static str {
    K::NAME
}

/// Every kind's name, in the order of the `Check` enum.
pub const KIND_NAMES: &[&str] = &[
    <crate::plan::ClusterAccessCheck as CheckKind>::NAME,
    <crate::plan::DeploymentsCheck as CheckKind>::NAME,
    <crate::plan::PodsCheck as CheckKind>::NAME,
    <crate::plan::IssuersCheck as CheckKind>::NAME,
    <crate::plan::NamespacedIssuersCheck as CheckKind>::NAME,
    <crate::plan::CertificatesCheck as CheckKind>::NAME,
    <crate::plan::SealingKeyCheck as CheckKind>::NAME,
    <crate::plan::DefaultDenyCheck as CheckKind>::NAME,
    <crate::plan::DnsEgressCheck as CheckKind>::NAME,
    <super::netpol::Allow<'static> as CheckKind>::NAME,
    <super::netpol::Deny<'static> as CheckKind>::NAME,
    <super::load::LoadThresholds as CheckKind>::NAME,
    <crate::plan::SecretExistsCheck as CheckKind>::NAME,
    <crate::plan::ConfigValueCheck as CheckKind>::NAME,
    <crate::plan::IngressTlsCheck as CheckKind>::NAME,
    <super::podspec::PodSecurity<'static> as CheckKind>::NAME,
    <super::podspec::ResourcesSet<'static> as CheckKind>::NAME,
    <crate::plan::HpaCheck as CheckKind>::NAME,
    <crate::plan::PdbCheck as CheckKind>::NAME,
    <crate::plan::PvcAccessCheck as CheckKind>::NAME,
    <crate::plan::ResourceExistsCheck as CheckKind>::NAME,
    <crate::plan::InitContainerCheck as CheckKind>::NAME,
    <crate::plan::JobCheck as CheckKind>::NAME,
    <crate::plan::HttpCheck as CheckKind>::NAME,
    <crate::plan::SseCheck as CheckKind>::NAME,
    <crate::plan::TcpCheck as CheckKind>::NAME,
    <crate::plan::ExpressionCheck as CheckKind>::NAME,
    <crate::plan::RolloutCheck as CheckKind>::NAME,
    <crate::plan::WarningEventsCheck as CheckKind>::NAME,
    <crate::plan::PrometheusCheck as CheckKind>::NAME,
    <crate::plan::AlertsCheck as CheckKind>::NAME,
    <crate::plan::ScrapedCheck as CheckKind>::NAME,
    <crate::plan::RbacCheck as CheckKind>::NAME,
    <crate::plan::ImagesScannedCheck as CheckKind>::NAME,
    <crate::plan::ImagesPinnedCheck as CheckKind>::NAME,
    <crate::plan::DnsRecordsCheck as CheckKind>::NAME,
    <crate::plan::BackupsCheck as CheckKind>::NAME,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{self, Check};
    use std::collections::BTreeSet;

    /// The variant names serde knows, read from its "unknown variant" message.
    fn serde_tags() -> BTreeSet<String> {
        let err = serde_json::from_str::<Check>(r#"{"no_such_kind": {}}"#)
            .expect_err("no such kind")
            .to_string();
        let (_, listed) = err
            .split_once("expected one of ")
            .expect("serde lists the variants");
        listed
            .split(", ")
            .map(|t| {
                t.trim_matches(|c: char| c == '`' || c.is_whitespace())
                    .to_string()
            })
            .map(|t| t.split('`').next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn kind_names_are_exactly_the_plan_keys() {
        let names: BTreeSet<String> = KIND_NAMES.iter().map(|n| n.to_string()).collect();
        assert_eq!(names.len(), KIND_NAMES.len(), "a kind name is used twice");
        assert_eq!(names, serde_tags());
    }

    #[test]
    fn every_check_dispatches_to_the_kind_of_its_plan_key() {
        // The kinds no built-in plan uses yet.
        let extra = "name: extra\nmonitoring: {prometheus: {url: \"http://127.0.0.1:9\"}, alertmanager: {url: \"http://127.0.0.1:9\"}}\ngates:\n  - id: x\n    title: X\n    group: g\n    checks:\n      - issuers_ready: {namespace: a}\n      - job_succeeded: {namespace: a, name: migrate}\n      - prometheus: {query: up, condition: \"== 1\"}\n      - alerts: {matchers: [\"namespace=a\"]}\n      - scraped: {job: a}\n";
        let extra = plan::parse("extra.yaml", extra, |_| None).expect("valid plan");
        let builtin =
            ["gravl", "volundr"].map(|n| plan::load_with_env(n, |_| None).expect("built-in"));
        let mut seen = BTreeSet::new();
        for loaded in builtin.iter().chain([&extra]) {
            for check in loaded.plan.gates.iter().flat_map(|g| &g.checks) {
                let json = serde_json::to_value(check).expect("checks serialize");
                let tag = json
                    .as_object()
                    .and_then(|o| o.keys().next())
                    .expect("a check is a one-key map")
                    .clone();
                assert_eq!(crate::gates::kind_name(check), tag);
                seen.insert(tag);
            }
        }
        let missing: Vec<&str> = KIND_NAMES
            .iter()
            .copied()
            .filter(|n| !seen.contains(*n))
            .collect();
        assert!(missing.is_empty(), "no built-in plan uses {missing:?}");
    }
}
