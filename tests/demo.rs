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
    let ctx = golive::gates::Context {
        now: jiff::Timestamp::now(),
        load: None,
        probes,
        moments: Default::default(),
    };
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
    for id in ["health", "sessions-stream", "events-health"] {
        let v = status(id);
        assert_eq!(v.status, Status::Pass, "{id}: {}", v.summary);
    }
    for id in ["cors", "pdb", "log-format-json"] {
        assert_eq!(status(id).status, Status::Fail, "{id} is seeded to fail");
    }
    demo.shutdown().await;
}
