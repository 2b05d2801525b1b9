//! `images_scanned`, `images_pinned`, `dns_records` and `backups` over the real kube client
//! and watchers against the simulator, and DNS through hickory-resolver against a real
//! hickory DNS server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::dns::{DnsOutcome, resolve, resolve_all};
use golive::gates::{self, Status};
use golive::plan::LoadedPlan;
use hickory_server::Server;
use hickory_server::proto::rr::rdata::{A, CNAME, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use serde_json::json;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use support::*;

const WAIT: Duration = Duration::from_secs(10);
const LOOKUP: Duration = Duration::from_secs(1);

enum Rec {
    A(Ipv4Addr),
    Cname(&'static str),
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("a DNS name")
}

/// A real authoritative hickory server for `gravl.example.` on 127.0.0.1, answering UDP.
async fn dns_server(records: &[(&str, Rec)]) -> (Server<Catalog>, String) {
    let origin = name("gravl.example.");
    let mut zone = InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        name("ns.gravl.example."),
        name("hostmaster.gravl.example."),
        1,
        3600,
        600,
        86_400,
        60,
    );
    assert!(zone.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1));
    for (owner, rec) in records {
        let data = match rec {
            Rec::A(ip) => RData::A(A(*ip)),
            Rec::Cname(target) => RData::CNAME(CNAME(name(target))),
        };
        assert!(zone.upsert_mut(Record::from_rdata(name(owner), 60, data), 1));
    }
    let mut catalog = Catalog::new();
    let handler: Arc<dyn ZoneHandler> = Arc::new(zone);
    catalog.upsert(LowerName::new(&origin), vec![handler]);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind UDP");
    let addr = socket.local_addr().expect("address").to_string();
    let mut server = Server::new(catalog);
    server.register_socket(socket);
    (server, addr)
}

/// An address where nothing answers DNS: a port just freed.
async fn silent_address() -> String {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind UDP");
    socket.local_addr().expect("address").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hickory_resolver_against_a_real_dns_server_reads_a_cname_chain_and_nxdomain() {
    let (mut server, addr) = dns_server(&[
        (
            "staging.gravl.example.",
            Rec::A(Ipv4Addr::new(198, 51, 100, 20)),
        ),
        (
            "api.staging.gravl.example.",
            Rec::Cname("edge.gravl.example."),
        ),
        ("edge.gravl.example.", Rec::Cname("staging.gravl.example.")),
        ("mail.gravl.example.", Rec::Cname("nowhere.gravl.example.")),
    ])
    .await;
    let ns = Some(addr.as_str());
    let direct = resolve(ns, "staging.gravl.example", LOOKUP).await;
    assert_eq!(
        direct.outcome,
        DnsOutcome::Resolved {
            cnames: vec![],
            addresses: vec!["198.51.100.20".parse().unwrap()]
        }
    );
    let chained = resolve(ns, "API.staging.gravl.example.", LOOKUP).await;
    assert_eq!(
        chained.outcome,
        DnsOutcome::Resolved {
            cnames: vec!["edge.gravl.example".into(), "staging.gravl.example".into()],
            addresses: vec!["198.51.100.20".parse().unwrap()]
        }
    );
    let missing = resolve(ns, "typo.gravl.example", LOOKUP).await;
    assert_eq!(missing.outcome, DnsOutcome::NxDomain);
    let dangling = resolve(ns, "mail.gravl.example", LOOKUP).await;
    assert!(
        matches!(
            dangling.outcome,
            DnsOutcome::NxDomain | DnsOutcome::NoAnswer
        ),
        "{:?}",
        dangling.outcome
    );
    let silent = silent_address().await;
    let down = resolve(Some(silent.as_str()), "staging.gravl.example", LOOKUP).await;
    assert!(
        matches!(down.outcome, DnsOutcome::Unreachable(_)),
        "{:?}",
        down.outcome
    );
    server.shutdown_gracefully().await.expect("server stops");
}

fn gravl_with_dns(addr: &str) -> LoadedPlan {
    let addr = addr.to_string();
    golive::plan::load_with_env("gravl", move |var| {
        (var == "GRAVL_DNS_SERVER").then(|| addr.clone())
    })
    .expect("the gravl plan")
}

async fn dns_gate(plan: &LoadedPlan, live: &LiveView) -> gates::GateVerdict {
    let lookups = gates::dns_lookups(&plan.plan, &live.view);
    let dns = resolve_all(&lookups, LOOKUP).await;
    let g = plan
        .plan
        .gates
        .iter()
        .find(|g| g.id.value == "dns-records")
        .expect("dns-records gate");
    gates::evaluate_gate(
        g,
        &live.view,
        &gates::Context::new(jiff::Timestamp::now()).with_dns(dns),
    )
}

fn evidence(g: &gates::GateVerdict) -> String {
    g.checks
        .iter()
        .flat_map(|c| &c.evidence)
        .map(|e| format!("{}: {}", e.object, e.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Gravl plan's `dns-records` gate: the demo Ingress's hosts from the simulator through
/// the real watchers, looked up on a real DNS server, in each verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dns_records_gate_matches_mismatches_nxdomain_and_resolver_down() {
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let (mut good, good_addr) = dns_server(&[
        (
            "staging.gravl.example.",
            Rec::A(Ipv4Addr::new(198, 51, 100, 20)),
        ),
        (
            "api.staging.gravl.example.",
            Rec::Cname("staging.gravl.example."),
        ),
    ])
    .await;
    let plan = gravl_with_dns(&good_addr);
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", WAIT, |v| {
        v.keys().all(|(_, s)| s.synced)
    })
    .await;
    let v = dns_gate(&plan, &live).await;
    assert_eq!(v.status, Status::Pass, "{}\n{}", v.summary, evidence(&v));
    assert_eq!(v.summary, "2 hosts resolve to their Ingress's addresses");
    assert!(
        evidence(&v).contains("api.staging.gravl.example (Ingress gravl-staging/gravl): 198.51.100.20 via CNAME staging.gravl.example"),
        "{}",
        evidence(&v)
    );

    // The record points at last month's load balancer.
    let (mut stale, stale_addr) = dns_server(&[
        (
            "staging.gravl.example.",
            Rec::A(Ipv4Addr::new(192, 0, 2, 44)),
        ),
        (
            "api.staging.gravl.example.",
            Rec::Cname("staging.gravl.example."),
        ),
    ])
    .await;
    let v = dns_gate(&gravl_with_dns(&stale_addr), &live).await;
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary
            .contains("staging.gravl.example: resolves to 192.0.2.44, expected 198.51.100.20"),
        "{}",
        v.summary
    );

    // The API record was never created.
    let (mut partial, partial_addr) = dns_server(&[(
        "staging.gravl.example.",
        Rec::A(Ipv4Addr::new(198, 51, 100, 20)),
    )])
    .await;
    let v = dns_gate(&gravl_with_dns(&partial_addr), &live).await;
    assert_eq!(v.status, Status::Fail);
    assert_eq!(
        v.summary,
        "api.staging.gravl.example: NXDOMAIN: no such name; expected 198.51.100.20"
    );

    let silent = silent_address().await;
    let v = dns_gate(&gravl_with_dns(&silent), &live).await;
    assert_eq!(v.status, Status::Unknown, "{}", v.summary);
    assert!(
        v.summary.contains("resolver not reachable"),
        "{}",
        v.summary
    );

    // The Ingress moves to a new load balancer: the same records now mismatch.
    sim.merge_patch(
        "networking.k8s.io/v1",
        "Ingress",
        Some("gravl-staging"),
        "gravl",
        json!({"status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.99"}]}}}),
    )
    .expect("patch the Ingress");
    live.wait_until("the new address", WAIT, |v| {
        v.object(&golive::cluster::INGRESSES, Some("gravl-staging"), "gravl")
            .is_some_and(|i| i["status"]["loadBalancer"]["ingress"][0]["ip"] == "198.51.100.99")
    })
    .await;
    let v = dns_gate(&plan, &live).await;
    assert_eq!(v.status, Status::Fail, "{}", v.summary);
    for s in [&mut good, &mut stale, &mut partial] {
        s.shutdown_gracefully().await.expect("server stops");
    }
    sim.shutdown().await;
}

/// Images and backups through the real watchers: the demo's seeded CVE problem fails,
/// a rescan fixes it; backups go from stale to fresh to partially failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_backup_gates_follow_trivy_and_velero_objects() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", WAIT, |v| {
        v.keys().all(|(_, s)| s.synced)
    })
    .await;
    let scan = live.gate(&plan, "image-scanning");
    assert_eq!(scan.status, Status::Fail, "{}", scan.summary);
    assert!(
        scan.summary.starts_with(
            "docker.io/library/postgres:16.4: 7 HIGH (max 5), worst CVE-2024-37371 libkrb5-3"
        ),
        "{}",
        scan.summary
    );
    let pinned = live.gate(&plan, "images-pinned");
    assert_eq!(pinned.status, Status::Warn, "{}", pinned.summary);
    // The demo's static backup is days old by now.
    let backups = live.gate(&plan, "backups");
    assert_eq!(backups.status, Status::Fail, "{}", backups.summary);
    assert!(
        backups.summary.contains("older than max_age 1d"),
        "{}",
        backups.summary
    );

    sim.merge_patch(
        "aquasecurity.github.io/v1alpha1",
        "VulnerabilityReport",
        Some("gravl-staging"),
        "replicaset-postgres-6f9b7c5d8-postgres",
        json!({"report": {"summary": {"criticalCount": 0, "highCount": 0, "mediumCount": 0, "lowCount": 0, "unknownCount": 0}, "vulnerabilities": []}}),
    )
    .expect("rescan postgres");
    let now = jiff::Timestamp::now().to_string();
    sim.merge_patch(
        "velero.io/v1",
        "Backup",
        Some("velero"),
        "gravl-staging-daily-20261125020000",
        json!({"status": {"completionTimestamp": now}}),
    )
    .expect("tonight's backup");
    live.wait_until("the rescan and the new backup", WAIT, |v| {
        let fresh = |id: &str| {
            let g = plan.plan.gates.iter().find(|g| g.id.value == id).unwrap();
            gates::evaluate_gate(g, v, &gates::Context::new(jiff::Timestamp::now())).status
        };
        fresh("image-scanning") == Status::Pass && fresh("backups") == Status::Pass
    })
    .await;

    sim.merge_patch(
        "velero.io/v1",
        "Backup",
        Some("velero"),
        "gravl-staging-daily-20261125020000",
        json!({"status": {"phase": "PartiallyFailed", "errors": 2}}),
    )
    .expect("a partial backup");
    live.wait_until("the partial backup", WAIT, |v| {
        v.object(
            &golive::cluster::VELERO_BACKUPS,
            Some("velero"),
            "gravl-staging-daily-20261125020000",
        )
        .is_some_and(|b| b["status"]["phase"] == "PartiallyFailed")
    })
    .await;
    let partial = live.gate(&plan, "backups");
    assert_eq!(partial.status, Status::Warn, "{}", partial.summary);
    assert!(partial.summary.contains("2 errors"), "{}", partial.summary);
    sim.shutdown().await;
}

/// A cluster with neither Trivy Operator nor Velero: scanning is unknown with the words,
/// backups fail, and nothing passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trivy_and_velero_scanning_is_unknown_and_backups_fail() {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = golive_sim::Sim::start(golive_sim::SimConfig {
        manifests: vec![
            root().join("assets/crds/cert-manager.yaml"),
            root().join("assets/demo/gravl/cluster.yaml"),
        ],
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("the simulator starts");
    let plan = gravl();
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list or fail", WAIT, |v| {
        v.keys().all(|(_, s)| s.synced || s.error.is_some())
    })
    .await;
    let scan = live.gate(&plan, "image-scanning");
    assert_eq!(scan.status, Status::Unknown, "{}", scan.summary);
    assert!(
        scan.summary
            .starts_with("no vulnerability scanner reports for image ghcr.io/gravl/"),
        "{}",
        scan.summary
    );
    let backups = live.gate(&plan, "backups");
    assert_eq!(backups.status, Status::Fail, "{}", backups.summary);
    assert!(
        backups.summary.contains("not served"),
        "{}",
        backups.summary
    );
    sim.shutdown().await;
}
