//! The demo environment: simulated cluster with its scenario, and the demo service.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::gates::Status;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn demo_starts_with_the_webhook_unready_and_a_live_service() {
    install_crypto();
    let demo = golive::demo::start("gravl").await.expect("the demo starts");
    let target = demo
        .plan
        .plan
        .load
        .as_ref()
        .expect("gravl has a load test")
        .target
        .clone();
    let target = target.unwrap_or_default();
    assert_eq!(
        target.trim_end_matches('/'),
        demo.service.url(),
        "the plan's load target is the demo service"
    );
    let mut live = LiveView::start(&demo.plan, &demo.kubeconfig).await;
    live.wait_until("the scenario's first step", Duration::from_secs(10), |v| {
        v.object(
            &golive::cluster::DEPLOYMENTS,
            Some("cert-manager"),
            "cert-manager-webhook",
        )
        .is_some_and(|d| d["status"]["availableReplicas"] == 0)
            && v.keys().all(|(_, s)| s.synced)
    })
    .await;
    assert_eq!(live.gate(&demo.plan, "cert-manager").status, Status::Fail);
    assert_eq!(
        live.gate(&demo.plan, "network-policies").status,
        Status::Fail
    );
    // The report's "least privilege verified": the staging pods' account is bound to edit.
    let rbac = live.gate(&demo.plan, "rbac");
    assert_eq!(rbac.status, Status::Fail);
    assert_eq!(
        rbac.summary,
        "default: ClusterRole edit via RoleBinding/ci-deploy"
    );

    let url = format!("{}/health", demo.service.url());
    let body = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-fsS", &url])
            .output()
    })
    .await
    .expect("join")
    .expect("curl runs");
    assert!(String::from_utf8_lossy(&body.stdout).contains("ok"));
    demo.shutdown().await;
}

#[tokio::test]
async fn volundr_demo_probes_the_demo_service_and_fails_only_the_seeded_items() {
    install_crypto();
    let demo = golive::demo::start("volundr")
        .await
        .expect("the volundr demo starts");
    let mut live = LiveView::start(&demo.plan, &demo.kubeconfig).await;
    live.wait_until("every watch to list", Duration::from_secs(10), |v| {
        v.keys().all(|(_, s)| s.synced)
    })
    .await;
    let probes = golive::probe::run_probes(&demo.plan.plan, Duration::from_secs(5)).await;
    let ctx = golive::gates::Context::new(jiff::Timestamp::now()).with_probes(probes);
    let status = |id: &str| {
        let g = demo
            .plan
            .plan
            .gates
            .iter()
            .find(|g| g.id.value == id)
            .expect("gate");
        golive::gates::evaluate_gate(g, &live.view, &ctx)
    };
    for id in ["health", "sessions-stream", "events-health", "rbac"] {
        let v = status(id);
        assert_eq!(v.status, Status::Pass, "{id}: {}", v.summary);
    }
    for id in ["cors", "pdb", "log-format-json"] {
        assert_eq!(status(id).status, Status::Fail, "{id} is seeded to fail");
    }
    demo.shutdown().await;
}

/// The demo's deploy, ten times faster: backend 1.9.0 crash-loops and the rollout fails
/// within seconds with the pod, its reason and the way back; 1.9.1 then rolls out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_deploy_fails_fast_offers_the_undo_and_then_completes() {
    install_crypto();
    let demo = golive::demo::start_at_speed("gravl", 10)
        .await
        .expect("the demo starts");
    let gate = |view: &golive::cluster::ClusterView, id: &str| {
        let g = demo
            .plan
            .plan
            .gates
            .iter()
            .find(|g| g.id.value == id)
            .expect("gate");
        golive::gates::evaluate_gate(
            g,
            view,
            &golive::gates::Context::new(jiff::Timestamp::now()),
        )
    };
    let mut live = LiveView::start(&demo.plan, &demo.kubeconfig).await;
    live.wait_until("every watch to list", Duration::from_secs(10), |v| {
        v.keys().all(|(_, s)| s.synced)
    })
    .await;
    let before = gate(&live.view, "rollout");
    assert_eq!(before.status, Status::Pass, "{}", before.summary);
    assert!(
        before.summary.contains("backend rev 3"),
        "{}",
        before.summary
    );

    live.wait_until("the new pod's crash loop", Duration::from_secs(15), |v| {
        gate(v, "rollout").status == Status::Fail
    })
    .await;
    let failed = gate(&live.view, "rollout");
    assert!(
        failed.summary.contains(
            "backend: new pod backend-5b7f9d4c8-k2m7x container backend CrashLoopBackOff"
        ),
        "{}",
        failed.summary
    );
    let check = &failed.checks[0];
    assert_eq!(
        check.fix.as_deref(),
        Some(
            "the way back: kubectl rollout undo deployment/backend -n gravl-staging --to-revision=3"
        )
    );
    let evidence: Vec<String> = check
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.object, e.detail))
        .collect();
    assert!(
        evidence.iter().any(|e| e == "Deployment gravl-staging/backend: image backend: ghcr.io/gravl/backend:1.8.0 → ghcr.io/gravl/backend:1.9.0"),
        "{evidence:#?}"
    );
    assert!(
        evidence.iter().any(|e| e
            .starts_with("Deployment gravl-staging/backend: failing: rev 3 → 4, 1/2 updated")
            || e.starts_with(
                "Deployment gravl-staging/backend: progressing: rev 3 → 4, 1/2 updated"
            )),
        "{evidence:#?}"
    );
    live.wait_until("the BackOff warning event", Duration::from_secs(5), |v| {
        gate(v, "warning-events").status == Status::Fail
    })
    .await;
    let events = gate(&live.view, "warning-events");
    assert!(events.summary.contains("BackOff"), "{}", events.summary);

    live.wait_until("revision 5 rolled out", Duration::from_secs(15), |v| {
        gate(v, "rollout").status == Status::Pass
    })
    .await;
    let done = gate(&live.view, "rollout");
    assert!(done.summary.contains("backend rev 5"), "{}", done.summary);
    assert_eq!(demo.sim.scenario_errors(), Vec::<String>::new());
    demo.shutdown().await;
}

/// The demo's Prometheus and Alertmanager stand-in answers the Gravl plan's monitoring
/// through the real client, and refuses anything else as Prometheus would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitoring_stand_in_answers_the_gravl_plan_and_refuses_other_queries() {
    install_crypto();
    let standin = golive::demo::standin::StandIn::start(1)
        .await
        .expect("stand-in");
    let url = standin.url();
    let plan = golive::plan::load_with_env("gravl", |var| match var {
        "GRAVL_PROMETHEUS_URL" | "GRAVL_ALERTMANAGER_URL" => Some(url.clone()),
        _ => None,
    })
    .expect("plan");
    let metrics = golive::metrics::poll::once(&plan.plan, &Default::default(), &Default::default())
        .await
        .expect("the plan monitors");
    let ctx = golive::gates::Context::new(jiff::Timestamp::now())
        .with_metrics(Some(std::sync::Arc::new(metrics)));
    for id in ["error-rate", "latency", "alerts", "metrics-scraped"] {
        let g = plan
            .plan
            .gates
            .iter()
            .find(|g| g.id.value == id)
            .expect("gate");
        let v =
            golive::gates::evaluate_gate(g, &golive::cluster::ClusterView::new("", "", []), &ctx);
        assert_eq!(v.status, Status::Pass, "{id}: {}", v.summary);
    }
    let endpoint = golive::metrics::client::Endpoint::new(url);
    let version = golive::metrics::client::buildinfo(&endpoint, Duration::from_secs(5))
        .await
        .expect("buildinfo");
    assert!(version.contains("golive-standin"), "{version}");
    let other =
        golive::metrics::client::instant(&endpoint, "up", None, Duration::from_secs(5)).await;
    match other {
        Err(golive::metrics::prom::PromError::Api {
            status: 400,
            error_type,
            error,
        }) => {
            assert_eq!(error_type, "bad_data");
            assert!(
                error.contains("stand-in answers only the demo plan's queries"),
                "{error}"
            );
        }
        other => panic!("expected bad_data, got {other:?}"),
    }
}

/// `golive demo --chaos`: its fault scenario loads against the demo cluster (every denied
/// resource served, every duration valid) and plays without a step failing.
#[tokio::test]
async fn the_chaos_demo_starts_and_its_faults_play_without_errors() {
    install_crypto();
    let demo = golive::demo::start_with("gravl", 50, true)
        .await
        .expect("the chaos demo starts");
    let addr = demo.sim.addr();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    // At 50× the chaos scenario's outage (15 s in, 10 s long) is 0.3 s in, 0.2 s long.
    let mut saw_outage = false;
    while tokio::time::Instant::now() < deadline && !saw_outage {
        saw_outage = status_of(addr, "/api/v1/namespaces").await == Some(503);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_outage, "the chaos scenario's outage never came");
    assert!(
        demo.sim.scenario_errors().is_empty(),
        "{:?}",
        demo.sim.scenario_errors()
    );
}

/// The status of `GET path` over a fresh connection; `None` when it cannot be read.
async fn status_of(addr: std::net::SocketAddr, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.ok()?;
    String::from_utf8_lossy(&head[9..12]).parse().ok()
}
