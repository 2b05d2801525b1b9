//! Verdict tables of `images_scanned`, `images_pinned`, `dns_records` and `backups`, on
//! views built by hand and from the Gravl demo's objects.

use super::*;
use crate::cluster::{
    ClusterEvent, PODS, VELERO_SCHEDULES, VULNERABILITY_REPORTS, WatchError, WatchErrorKind,
};
use crate::dns::{DnsAnswer, DnsAnswers, DnsOutcome, dns_key};
use crate::plan::{
    BackupsCheck, DnsExpect, DnsRecordsCheck, ImagesPinnedCheck, ImagesScannedCheck, SeverityLimits,
};
use serde_json::{Value, json};

const OPERATIONS: &str = include_str!("../../assets/demo/gravl/operations.yaml");
const CLUSTER: &str = include_str!("../../assets/demo/gravl/cluster.yaml");

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("valid timestamp")
}

fn demo_objects() -> Vec<Value> {
    let mut all: Vec<Value> = serde_saphyr::from_multiple(CLUSTER).expect("cluster parses");
    all.extend(serde_saphyr::from_multiple::<Value>(OPERATIONS).expect("operations parse"));
    all
}

/// A view with each of `keys` listed from the matching `objects`.
fn view_of(keys: &[WatchKey], objects: &[Value]) -> ClusterView {
    super::test_views::synced(keys, objects, now())
}

fn ctx() -> Context {
    Context::new(now())
}

fn run(check: &impl CheckKind, view: &ClusterView, ctx: &Context) -> CheckVerdict {
    check.evaluate(view, ctx).unwrap_or_else(|v| v)
}

fn evidence(v: &CheckVerdict) -> String {
    v.evidence
        .iter()
        .map(|e| format!("{}: {}", e.object, e.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pod(name: &str, images: &[(&str, &str, &str)]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .map(|(c, image, _)| json!({"name": c, "image": image}))
        .collect();
    let statuses: Vec<Value> = images
        .iter()
        .map(|(c, image, id)| json!({"name": c, "image": image, "imageID": id, "ready": true}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"containers": containers},
           "status": {"phase": "Running", "containerStatuses": statuses}})
}

fn report(name: &str, repo: &str, tag: &str, digest: &str, high: u64) -> Value {
    let vulns: Vec<Value> = (0..high)
        .map(|i| {
            json!({"vulnerabilityID": format!("CVE-2024-{:04}", 1000 + i), "resource": "openssl",
                   "installedVersion": "3.0.13", "fixedVersion": if i == 0 { "" } else { "3.0.15" },
                   "severity": "HIGH", "score": 7.0 + i as f64 / 10.0, "title": "t",
                   "lastModifiedDate": "", "publishedDate": ""})
        })
        .collect();
    json!({"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
           "metadata": {"name": name, "namespace": "shop"},
           "report": {"updateTimestamp": "2026-11-25T10:00:00Z",
                      "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.57.1"},
                      "registry": {"server": "ghcr.io"},
                      "artifact": {"repository": repo, "tag": tag, "digest": digest},
                      "summary": {"criticalCount": 0, "highCount": high, "mediumCount": 0,
                                  "lowCount": 0, "unknownCount": 0},
                      "vulnerabilities": vulns}})
}

fn scanned() -> ImagesScannedCheck {
    ImagesScannedCheck {
        namespace: "shop".into(),
        max: SeverityLimits::default(),
    }
}

fn scan_view(objects: &[Value]) -> ClusterView {
    view_of(&scanned().watches(), objects)
}

#[test]
fn image_references_come_apart_like_the_container_runtime_reads_them() {
    let r = images::ImageRef::parse("ghcr.io/gravl/backend:1.9.1@sha256:abc");
    assert_eq!(
        (r.registry.as_str(), r.repository.as_str()),
        ("ghcr.io", "gravl/backend")
    );
    assert_eq!(r.tag.as_deref(), Some("1.9.1"));
    assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
    let hub = images::ImageRef::parse("postgres:16.4");
    assert_eq!(hub.registry, "index.docker.io");
    assert_eq!(hub.repository, "library/postgres");
    let port = images::ImageRef::parse("registry.local:5000/team/app");
    assert_eq!(port.registry, "registry.local:5000");
    assert_eq!(port.tag, None);
}

#[test]
fn images_under_the_limits_with_reports_for_their_digests_pass() {
    let objects = [
        pod(
            "api-1",
            &[("api", "ghcr.io/shop/api:2.0", "ghcr.io/shop/api@sha256:aaa")],
        ),
        report("replicaset-api-api", "shop/api", "2.0", "sha256:aaa", 2),
    ];
    let v = run(&scanned(), &scan_view(&objects), &ctx());
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
    assert!(
        evidence(&v).contains("0 critical, 2 high, 0 medium, 0 low, scanned 2h ago"),
        "{}",
        evidence(&v)
    );
}

#[test]
fn an_image_over_the_high_limit_fails_naming_the_worst_cves() {
    let objects = [
        pod(
            "api-1",
            &[("api", "ghcr.io/shop/api:2.0", "ghcr.io/shop/api@sha256:aaa")],
        ),
        report("replicaset-api-api", "shop/api", "2.0", "sha256:aaa", 7),
    ];
    let v = run(&scanned(), &scan_view(&objects), &ctx());
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary.starts_with("ghcr.io/shop/api:2.0: 7 HIGH (max 5), worst CVE-2024-1006 openssl 3.0.13 → 3.0.15 (HIGH)"),
        "{}",
        v.summary
    );
    // A CVE without a published fix says so.
    let all = run(
        &ImagesScannedCheck {
            namespace: "shop".into(),
            max: SeverityLimits {
                high: Some(0),
                ..Default::default()
            },
        },
        &scan_view(&objects),
        &ctx(),
    );
    assert!(
        evidence(&all).contains("worst: CVE-2024-1006"),
        "{}",
        evidence(&all)
    );
    let one = [
        pod(
            "api-1",
            &[("api", "ghcr.io/shop/api:2.0", "ghcr.io/shop/api@sha256:aaa")],
        ),
        report("replicaset-api-api", "shop/api", "2.0", "sha256:aaa", 1),
    ];
    let lone = run(
        &ImagesScannedCheck {
            namespace: "shop".into(),
            max: SeverityLimits {
                high: Some(0),
                ..Default::default()
            },
        },
        &scan_view(&one),
        &ctx(),
    );
    assert!(
        lone.summary
            .contains("CVE-2024-1000 openssl 3.0.13 → no fix"),
        "{}",
        lone.summary
    );
}

#[test]
fn an_image_without_a_report_is_unknown_never_pass() {
    let objects = [
        pod(
            "api-1",
            &[("api", "ghcr.io/shop/api:2.0", "ghcr.io/shop/api@sha256:aaa")],
        ),
        pod(
            "web-1",
            &[("web", "ghcr.io/shop/web:1.0", "ghcr.io/shop/web@sha256:bbb")],
        ),
        report("replicaset-api-api", "shop/api", "2.0", "sha256:aaa", 0),
    ];
    let v = run(&scanned(), &scan_view(&objects), &ctx());
    assert_eq!(v.status, Status::Unknown);
    assert_eq!(
        v.summary,
        "no vulnerability scanner reports for image ghcr.io/shop/web:1.0"
    );
    assert!(
        evidence(&v).contains("run by web-1/web"),
        "{}",
        evidence(&v)
    );
}

#[test]
fn a_report_for_an_older_digest_of_the_same_tag_does_not_count() {
    let objects = [
        pod(
            "api-1",
            &[(
                "api",
                "ghcr.io/shop/api:2.0",
                "ghcr.io/shop/api@sha256:new0000000000000",
            )],
        ),
        report(
            "replicaset-api-api",
            "shop/api",
            "2.0",
            "sha256:old0000000000000",
            0,
        ),
    ];
    let v = run(&scanned(), &scan_view(&objects), &ctx());
    assert_eq!(v.status, Status::Unknown);
    assert!(
        v.summary.contains(
            "at digest sha256:new000000000…: reports exist only for sha256:old000000000…"
        ),
        "{}",
        v.summary
    );
}

#[test]
fn without_the_vulnerability_report_crd_every_image_is_unknown() {
    let objects = [pod(
        "api-1",
        &[("api", "ghcr.io/shop/api:2.0", "ghcr.io/shop/api@sha256:aaa")],
    )];
    let mut view = ClusterView::new("test", "http://test", scanned().watches());
    view.apply(
        ClusterEvent::Synced {
            key: WatchKey::namespaced(PODS, "shop"),
            objects: objects.iter().map(crate::cluster::Stored::new).collect(),
        },
        now(),
    );
    let key = WatchKey::namespaced(VULNERABILITY_REPORTS, "shop");
    view.apply(
        ClusterEvent::Failed {
            key,
            error: WatchError {
                kind: WatchErrorKind::NotServed,
                message: "the server could not find the requested resource".into(),
            },
        },
        now(),
    );
    let v = run(&scanned(), &view, &ctx());
    assert_eq!(v.status, Status::Unknown);
    assert!(
        v.summary
            .starts_with("no vulnerability scanner reports for image ghcr.io/shop/api:2.0"),
        "{}",
        v.summary
    );
    assert!(v.fix.as_deref().unwrap_or("").contains("Trivy Operator"));
}

#[test]
fn the_demo_postgres_image_is_over_the_high_limit() {
    let check = ImagesScannedCheck {
        namespace: "gravl-staging".into(),
        max: SeverityLimits::default(),
    };
    let v = run(&check, &view_of(&check.watches(), &demo_objects()), &ctx());
    assert_eq!(v.status, Status::Fail, "{}", v.summary);
    assert_eq!(
        v.summary,
        "docker.io/library/postgres:16.4: 7 HIGH (max 5), worst CVE-2024-37371 libkrb5-3 1.20.1-2+deb12u1 → 1.20.1-2+deb12u2 (HIGH)"
    );
}

#[test]
fn latest_and_untagged_images_fail_a_tag_without_digest_warns_a_digest_passes() {
    let check = ImagesPinnedCheck {
        namespace: "shop".into(),
    };
    let judge = |image: &str| {
        let objects = [pod("p", &[("c", image, "")])];
        run(&check, &view_of(&check.watches(), &objects), &ctx())
    };
    assert_eq!(judge("ghcr.io/shop/api:latest").status, Status::Fail);
    let untagged = judge("nginx");
    assert_eq!(untagged.status, Status::Fail);
    assert_eq!(untagged.summary, "nginx has no tag (:latest)");
    let tagged = judge("ghcr.io/shop/api:2.0");
    assert_eq!(tagged.status, Status::Warn);
    assert_eq!(tagged.summary, "tag without digest: ghcr.io/shop/api:2.0");
    assert_eq!(
        judge("ghcr.io/shop/api:2.0@sha256:aaa").status,
        Status::Pass
    );
    // A registry port is not a tag.
    assert_eq!(judge("registry.local:5000/shop/api").status, Status::Fail);
}

// --- dns_records ---------------------------------------------------------------------

fn ingress(name: &str, hosts: &[&str], lb: Value) -> Value {
    let rules: Vec<Value> = hosts.iter().map(|h| json!({"host": h})).collect();
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"rules": rules},
           "status": {"loadBalancer": {"ingress": lb}}})
}

fn dns_check() -> DnsRecordsCheck {
    DnsRecordsCheck {
        namespace: "shop".into(),
        hosts: Vec::new(),
        nameserver: Some("127.0.0.1:5353".into()),
        expect: DnsExpect::default(),
    }
}

fn answered(entries: &[(&str, DnsOutcome)]) -> DnsAnswers {
    entries
        .iter()
        .map(|(host, outcome)| {
            (
                dns_key(Some("127.0.0.1:5353"), host),
                DnsAnswer {
                    at: now(),
                    outcome: outcome.clone(),
                },
            )
        })
        .collect()
}

fn resolved(cnames: &[&str], addresses: &[&str]) -> DnsOutcome {
    DnsOutcome::Resolved {
        cnames: cnames.iter().map(|c| c.to_string()).collect(),
        addresses: addresses
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect(),
    }
}

fn judge_dns(check: &DnsRecordsCheck, objects: &[Value], answers: DnsAnswers) -> CheckVerdict {
    let ctx = Context::new(now()).with_dns(answers);
    run(check, &view_of(&check.watches(), objects), &ctx)
}

#[test]
fn dns_records_look_up_each_ingress_host_and_expected_hostname() {
    let objects = [
        ingress(
            "web",
            &["shop.example", "*.shop.example"],
            json!([{"ip": "198.51.100.7"}]),
        ),
        ingress(
            "api",
            &["api.shop.example"],
            json!([{"hostname": "lb-1.elb.example"}]),
        ),
    ];
    let plan = crate::plan::parse(
        "p.yaml",
        "name: p\ngates:\n  - id: dns\n    title: d\n    group: g\n    checks:\n      - dns_records: {namespace: shop, nameserver: \"127.0.0.1:5353\"}\n",
        |_| None,
    )
    .expect("valid plan");
    let view = view_of(&dns_check().watches(), &objects);
    let lookups: Vec<String> = dns_lookups(&plan.plan, &view)
        .into_iter()
        .map(|(ns, host)| format!("{host}@{}", ns.unwrap_or_default()))
        .collect();
    assert_eq!(
        lookups,
        [
            "api.shop.example@127.0.0.1:5353",
            "lb-1.elb.example@127.0.0.1:5353",
            "shop.example@127.0.0.1:5353"
        ]
    );
}

#[test]
fn a_host_resolving_to_the_ingress_address_passes() {
    let objects = [ingress(
        "web",
        &["shop.example"],
        json!([{"ip": "198.51.100.7"}]),
    )];
    let v = judge_dns(
        &dns_check(),
        &objects,
        answered(&[("shop.example", resolved(&[], &["198.51.100.7"]))]),
    );
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
    assert_eq!(v.summary, "1 host resolve to their Ingress's addresses");
    assert_eq!(
        evidence(&v),
        "host shop.example (Ingress shop/web): 198.51.100.7 (asked 127.0.0.1:5353)"
    );
}

#[test]
fn a_cname_chain_to_the_load_balancer_hostname_passes() {
    let objects = [ingress(
        "api",
        &["api.shop.example"],
        json!([{"hostname": "lb-1.elb.example"}]),
    )];
    let v = judge_dns(
        &dns_check(),
        &objects,
        answered(&[(
            "api.shop.example",
            resolved(&["edge.shop.example", "lb-1.elb.example"], &["203.0.113.9"]),
        )]),
    );
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
    assert!(
        evidence(&v).contains("203.0.113.9 via CNAME edge.shop.example → lb-1.elb.example"),
        "{}",
        evidence(&v)
    );
    // Or an A record at the load balancer's own addresses.
    let v = judge_dns(
        &dns_check(),
        &objects,
        answered(&[
            ("api.shop.example", resolved(&[], &["203.0.113.9"])),
            (
                "lb-1.elb.example",
                resolved(&[], &["203.0.113.9", "203.0.113.10"]),
            ),
        ]),
    );
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
}

#[test]
fn a_host_pointing_elsewhere_fails_with_both_addresses() {
    let objects = [ingress(
        "web",
        &["shop.example"],
        json!([{"ip": "198.51.100.7"}]),
    )];
    let v = judge_dns(
        &dns_check(),
        &objects,
        answered(&[("shop.example", resolved(&[], &["192.0.2.44"]))]),
    );
    assert_eq!(v.status, Status::Fail);
    assert_eq!(
        v.summary,
        "shop.example: resolves to 192.0.2.44, expected 198.51.100.7"
    );
    assert!(v.fix.is_some());
}

#[test]
fn nxdomain_and_no_answer_fail_an_unreachable_resolver_is_unknown() {
    let objects = [ingress(
        "web",
        &["shop.example"],
        json!([{"ip": "198.51.100.7"}]),
    )];
    let nx = judge_dns(
        &dns_check(),
        &objects,
        answered(&[("shop.example", DnsOutcome::NxDomain)]),
    );
    assert_eq!(nx.status, Status::Fail);
    assert_eq!(
        nx.summary,
        "shop.example: NXDOMAIN: no such name; expected 198.51.100.7"
    );
    let empty = judge_dns(
        &dns_check(),
        &objects,
        answered(&[("shop.example", DnsOutcome::NoAnswer)]),
    );
    assert_eq!(empty.status, Status::Fail);
    let down = judge_dns(
        &dns_check(),
        &objects,
        answered(&[(
            "shop.example",
            DnsOutcome::Unreachable("request timed out".into()),
        )]),
    );
    assert_eq!(down.status, Status::Unknown);
    assert_eq!(
        down.summary,
        "shop.example: resolver not reachable: request timed out"
    );
    let never = judge_dns(&dns_check(), &objects, DnsAnswers::new());
    assert_eq!(never.status, Status::Unknown);
    let mut old = answered(&[("shop.example", resolved(&[], &["198.51.100.7"]))]);
    for a in old.values_mut() {
        a.at = "2026-11-25T11:00:00Z".parse().expect("time");
    }
    let stale = judge_dns(&dns_check(), &objects, old);
    assert_eq!(stale.status, Status::Unknown);
    assert!(stale.summary.contains("stale"), "{}", stale.summary);
}

#[test]
fn an_ingress_without_an_address_yet_is_unknown_and_explicit_hosts_need_no_ingress() {
    let objects = [ingress("web", &["shop.example"], json!([]))];
    let v = judge_dns(&dns_check(), &objects, DnsAnswers::new());
    assert_eq!(v.status, Status::Unknown);
    assert!(
        v.summary
            .contains("Ingress shop/web has no status.loadBalancer address yet"),
        "{}",
        v.summary
    );
    let listed = DnsRecordsCheck {
        hosts: vec!["status.shop.example".into()],
        expect: DnsExpect::Addresses(vec!["192.0.2.1".into()]),
        ..dns_check()
    };
    assert!(listed.watches().is_empty());
    let v = judge_dns(
        &listed,
        &[],
        answered(&[("status.shop.example", resolved(&[], &["192.0.2.1"]))]),
    );
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
}

// --- backups ---------------------------------------------------------------------------

fn schedule(name: &str, included: Value, paused: bool) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
           "metadata": {"name": name, "namespace": "velero"},
           "spec": {"schedule": "0 2 * * *", "paused": paused,
                    "template": {"includedNamespaces": included}},
           "status": {"phase": "Enabled"}})
}

fn backup(name: &str, included: Value, phase: &str, done: &str, errors: u64) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Backup",
           "metadata": {"name": name, "namespace": "velero",
                        "labels": {"velero.io/schedule-name": "daily"}},
           "spec": {"includedNamespaces": included},
           "status": {"phase": phase, "startTimestamp": done, "completionTimestamp": done,
                      "errors": errors, "warnings": 0}})
}

fn backups_check() -> BackupsCheck {
    BackupsCheck {
        namespace: "shop".into(),
        max_age: crate::plan::duration::PlanDuration(std::time::Duration::from_secs(86_400)),
        velero_namespace: "velero".into(),
    }
}

fn judge_backups(objects: &[Value]) -> CheckVerdict {
    let check = backups_check();
    run(&check, &view_of(&check.watches(), objects), &ctx())
}

#[test]
fn a_fresh_completed_backup_under_a_schedule_passes() {
    let v = judge_backups(&[
        schedule("daily", json!(["shop"]), false),
        backup(
            "daily-1",
            json!(["shop"]),
            "Completed",
            "2026-11-25T02:00:00Z",
            0,
        ),
        backup(
            "daily-0",
            json!(["shop"]),
            "Failed",
            "2026-11-24T02:00:00Z",
            3,
        ),
    ]);
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
    assert_eq!(
        v.summary,
        "Backup daily-1 Completed at 2026-11-25T02:00:00Z (10h ago), 0 errors, 0 warnings (Schedule daily)"
    );
    // `*` and an empty list include every namespace too.
    for all in [json!(["*"]), json!([])] {
        let v = judge_backups(&[
            schedule("daily", all.clone(), false),
            backup("daily-1", all, "Completed", "2026-11-25T02:00:00Z", 0),
        ]);
        assert_eq!(v.status, Status::Pass, "{}", v.summary);
    }
}

#[test]
fn an_old_backup_fails_a_partially_failed_one_warns_a_failed_one_fails() {
    let old = judge_backups(&[
        schedule("daily", json!(["shop"]), false),
        backup(
            "daily-1",
            json!(["shop"]),
            "Completed",
            "2026-11-23T02:00:00Z",
            0,
        ),
    ]);
    assert_eq!(old.status, Status::Fail);
    assert!(
        old.summary.ends_with("older than max_age 1d"),
        "{}",
        old.summary
    );
    let partial = judge_backups(&[
        schedule("daily", json!(["shop"]), false),
        backup(
            "daily-1",
            json!(["shop"]),
            "PartiallyFailed",
            "2026-11-25T02:00:00Z",
            2,
        ),
    ]);
    assert_eq!(partial.status, Status::Warn);
    assert!(
        partial.summary.contains("PartiallyFailed"),
        "{}",
        partial.summary
    );
    assert!(partial.summary.contains("2 errors"), "{}", partial.summary);
    let failed = judge_backups(&[
        schedule("daily", json!(["shop"]), false),
        backup(
            "daily-1",
            json!(["shop"]),
            "Failed",
            "2026-11-25T02:00:00Z",
            1,
        ),
        backup(
            "daily-0",
            json!(["shop"]),
            "Completed",
            "2026-11-25T01:00:00Z",
            0,
        ),
    ]);
    assert_eq!(failed.status, Status::Fail);
    assert!(
        failed.summary.starts_with("newest Backup daily-1 Failed"),
        "{}",
        failed.summary
    );
}

#[test]
fn no_schedule_covering_the_namespace_fails_and_no_backup_fails() {
    let elsewhere = judge_backups(&[
        schedule("daily", json!(["other"]), false),
        schedule("paused", json!(["shop"]), true),
        backup(
            "manual",
            json!(["shop"]),
            "Completed",
            "2026-11-25T02:00:00Z",
            0,
        ),
    ]);
    assert_eq!(elsewhere.status, Status::Fail);
    assert_eq!(elsewhere.summary, "no Velero Schedule covers shop");
    assert!(evidence(&elsewhere).contains("Schedule velero/paused: covers shop but is paused"));
    let excluded = judge_backups(&[json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
        "metadata": {"name": "all", "namespace": "velero"},
        "spec": {"schedule": "@daily", "template": {"excludedNamespaces": ["shop"]}}})]);
    assert_eq!(excluded.status, Status::Fail);
    let none = judge_backups(&[schedule("daily", json!(["shop"]), false)]);
    assert_eq!(none.status, Status::Fail);
    assert!(
        none.summary
            .starts_with("no finished Velero Backup includes shop"),
        "{}",
        none.summary
    );
}

#[test]
fn velero_not_installed_fails_and_unlisted_backups_are_unknown() {
    let check = backups_check();
    let mut view = ClusterView::new("test", "http://test", check.watches());
    view.apply(
        ClusterEvent::Failed {
            key: WatchKey::namespaced(VELERO_SCHEDULES, "velero"),
            error: WatchError {
                kind: WatchErrorKind::NotServed,
                message: "the server could not find the requested resource".into(),
            },
        },
        now(),
    );
    let v = run(&check, &view, &ctx());
    assert_eq!(v.status, Status::Fail);
    assert!(v.summary.contains("not served"), "{}", v.summary);
    let pending = ClusterView::new("test", "http://test", check.watches());
    assert_eq!(run(&check, &pending, &ctx()).status, Status::Unknown);
}

#[test]
fn the_demo_backups_pass_with_the_partially_failed_one_in_the_past() {
    let check = BackupsCheck {
        namespace: "gravl-staging".into(),
        ..backups_check()
    };
    let v = run(&check, &view_of(&check.watches(), &demo_objects()), &ctx());
    assert_eq!(v.status, Status::Pass, "{}", v.summary);
}

#[test]
fn the_new_kinds_judge_cut_objects_as_they_judge_whole_ones() {
    let plan = crate::plan::load_with_env("gravl", |var| {
        (var == "GRAVL_DNS_SERVER").then(|| "127.0.0.1:5353".to_string())
    })
    .expect("gravl");
    let mut objects = demo_objects();
    // A real report: every vulnerability with its description, links and CVSS vectors.
    for o in objects
        .iter_mut()
        .filter(|o| o["kind"] == "VulnerabilityReport")
    {
        for v in o["report"]["vulnerabilities"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            v["description"] = json!("d".repeat(2_000));
            v["links"] = json!(vec!["https://avd.aquasec.com/nvd/x"; 12]);
            v["cvss"] = json!({"nvd": {"V3Score": 7.5, "V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}});
        }
    }
    let mut digests = objects.clone();
    for o in digests
        .iter_mut()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["namespace"] == "gravl-staging")
    {
        for s in o["status"]["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let image = s["image"].as_str().unwrap_or_default().to_string();
            // The digests the demo's reports were made for.
            let digest = match image.as_str() {
                "ghcr.io/gravl/backend:1.8.0" => {
                    "sha256:3c7e2a41d9b8f06e5a1c4d2b7f9e8a6c5d4b3a2918f7e6d5c4b3a29180f7e6d5"
                }
                "ghcr.io/gravl/frontend:1.8.0" => {
                    "sha256:8a1f4c2e6b9d3a7f5e1c8b4d2a6f9e3c7b5d1a8f4e2c6b9d3a7f5e1c8b4d2a6f"
                }
                _ => "sha256:d2b4f6a8c0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3",
            };
            let repo = image.split(':').next().unwrap_or_default().to_string();
            s["imageID"] = json!(format!("{repo}@{digest}"));
        }
    }
    let dns = answered(&[
        ("staging.gravl.example", resolved(&[], &["198.51.100.20"])),
        (
            "api.staging.gravl.example",
            resolved(&["staging.gravl.example"], &["198.51.100.20"]),
        ),
    ]);
    let ctx = Context::new(now()).with_dns(dns);
    for (case, objs) in [("demo", objects.clone()), ("digests", digests)] {
        let (whole, projected) = super::projection_tests::both_ways(&plan.plan, &objs, &ctx);
        assert_eq!(
            whole, projected,
            "{case}: verdicts differ on projected objects"
        );
        let gates = whole.as_array().expect("gates");
        for id in ["image-scanning", "images-pinned", "dns-records", "backups"] {
            let g = gates.iter().find(|g| g["id"] == id).expect("gate");
            assert_ne!(g["status"], "unknown", "{case} {id}: {}", g["summary"]);
        }
    }
    let watches = plan_watch_specs(&plan.plan);
    let reports = watches
        .iter()
        .find(|w| w.key.resource == VULNERABILITY_REPORTS)
        .expect("gravl watches reports");
    let postgres = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "replicaset-postgres-6f9b7c5d8-postgres")
        .expect("the postgres report");
    let size = |v: &Value| serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
    let slim = reports.projection.project(postgres);
    assert!(
        size(&slim) * 5 < size(postgres),
        "projected {} of {} bytes",
        size(&slim),
        size(postgres)
    );
}

#[test]
fn a_backup_timed_later_than_now_is_unknown_not_fresh() {
    let future = judge_backups(&[
        schedule("daily", json!(["shop"]), false),
        backup(
            "daily-1",
            json!(["shop"]),
            "Completed",
            "2027-06-01T02:00:00Z",
            0,
        ),
    ]);
    assert_eq!(future.status, Status::Unknown, "{}", future.summary);
    assert!(
        future.summary.contains("later than now"),
        "{}",
        future.summary
    );
}

#[test]
fn of_two_reports_for_one_digest_the_worst_counts_and_one_without_counts_is_unknown() {
    let api = pod(
        "api-1",
        &[("api", "ghcr.io/shop/api:2.0", "ghcr.io/shop/api@sha256:aaa")],
    );
    // The clean report listed first, the bad one second (another ReplicaSet's scan).
    let objects = [
        api.clone(),
        report("replicaset-api-a-api", "shop/api", "2.0", "sha256:aaa", 0),
        report("replicaset-api-b-api", "shop/api", "2.0", "sha256:aaa", 9),
    ];
    let v = run(&scanned(), &scan_view(&objects), &ctx());
    assert_eq!(v.status, Status::Fail, "{}", v.summary);

    let mut no_summary = report("replicaset-api-a-api", "shop/api", "2.0", "sha256:aaa", 0);
    no_summary["report"]
        .as_object_mut()
        .expect("a report")
        .remove("summary");
    let v = run(&scanned(), &scan_view(&[api, no_summary]), &ctx());
    assert_eq!(v.status, Status::Unknown, "{}", v.summary);
    assert!(
        evidence(&v).contains("has no summary of counts"),
        "{}",
        evidence(&v)
    );
}
