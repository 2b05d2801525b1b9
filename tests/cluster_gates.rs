//! Gates over the real kube client and watchers against the simulated API server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::gates::Status;
use serde_json::json;
use std::time::Duration;
use support::*;

const WAIT: Duration = Duration::from_secs(10);

fn synced(view: &golive::cluster::ClusterView) -> bool {
    view.keys().all(|(_, s)| s.synced)
}

#[tokio::test]
async fn gates_follow_the_cluster_as_it_changes() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", WAIT, synced).await;
    assert_eq!(live.gate(&plan, "cluster-issuers").status, Status::Fail);
    assert_eq!(live.gate(&plan, "cert-manager").status, Status::Pass);

    sim.merge_patch(
        "cert-manager.io/v1",
        "ClusterIssuer",
        None,
        "internal-ca-issuer",
        json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified", "message": "Signing CA verified", "observedGeneration": 1}]}}),
    )
    .expect("patch the issuer");
    live.wait_until("the issuer to turn Ready", WAIT, |v| {
        v.object(
            &golive::cluster::CLUSTER_ISSUERS,
            None,
            "internal-ca-issuer",
        )
        .is_some_and(|o| o["status"]["conditions"][0]["status"] == "True")
    })
    .await;
    assert_eq!(live.gate(&plan, "cluster-issuers").status, Status::Pass);

    sim.merge_patch(
        "apps/v1",
        "Deployment",
        Some("cert-manager"),
        "cert-manager-webhook",
        json!({"status": {"availableReplicas": 0}}),
    )
    .expect("patch the webhook");
    live.wait_until("the webhook to go down", WAIT, |v| {
        v.object(
            &golive::cluster::DEPLOYMENTS,
            Some("cert-manager"),
            "cert-manager-webhook",
        )
        .is_some_and(|o| o["status"]["availableReplicas"] == 0)
    })
    .await;
    let g = live.gate(&plan, "cert-manager");
    assert_eq!(g.status, Status::Fail, "{}", g.summary);

    sim.delete(
        "v1",
        "Secret",
        Some("kube-system"),
        "sealed-secrets-keyx7k2q",
    )
    .expect("delete the key");
    live.wait_until("the key to disappear", WAIT, |v| {
        v.object(
            &golive::cluster::SECRETS,
            Some("kube-system"),
            "sealed-secrets-keyx7k2q",
        )
        .is_none()
    })
    .await;
    assert_eq!(live.gate(&plan, "sealed-secrets").status, Status::Fail);
    sim.shutdown().await;
}

#[tokio::test]
async fn forbidden_secrets_are_named_and_never_pass() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&["secrets"]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list or fail", WAIT, |v| {
        v.keys().all(|(_, s)| s.synced || s.error.is_some())
    })
    .await;
    let key = live.gate(&plan, "sealed-secrets");
    assert_eq!(key.status, Status::Unknown, "{}", key.summary);
    let access = live.gate(&plan, "cluster-access");
    assert_eq!(access.status, Status::Fail);
    let evidence: Vec<String> = access.checks[0]
        .evidence
        .iter()
        .map(|e| e.detail.clone())
        .collect();
    assert!(
        evidence.iter().any(|e| e.contains("forbidden: golive needs list and watch on secrets in kube-system")),
        "{evidence:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn secrets_are_only_ever_read_as_metadata() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", WAIT, synced).await;
    assert_eq!(live.gate(&plan, "sealed-secrets").status, Status::Pass);
    let counts = sim.request_counts();
    assert!(counts.of("secrets", "list") >= 1, "{counts:?}");
    assert_eq!(
        counts.secret_data_responses, 0,
        "a Secret with data was sent: {counts:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_watch_relists_and_keeps_the_view_current() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", WAIT, synced).await;
    let lists_before = sim
        .request_counts()
        .of("clusterissuers.cert-manager.io", "list");
    // Changes made while the history is expired and the watches are cut must still arrive.
    sim.expire_history();
    sim.drop_watches();
    sim.merge_patch(
        "cert-manager.io/v1",
        "ClusterIssuer",
        None,
        "internal-ca-issuer",
        json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified", "observedGeneration": 1}]}}),
    )
    .expect("patch");
    live.wait_until("the change after the 410 to arrive", WAIT, |v| {
        v.object(
            &golive::cluster::CLUSTER_ISSUERS,
            None,
            "internal-ca-issuer",
        )
        .is_some_and(|o| o["status"]["conditions"][0]["status"] == "True")
    })
    .await;
    live.wait_until("every watch to be healthy again", WAIT, |v| {
        v.keys().all(|(_, s)| s.synced && s.error.is_none())
    })
    .await;
    assert_eq!(live.gate(&plan, "cluster-issuers").status, Status::Pass);
    assert!(
        sim.request_counts()
            .of("clusterissuers.cert-manager.io", "list")
            > lists_before,
        "the watcher re-listed after the 410"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_api_server_is_stale_not_green() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", WAIT, synced).await;
    assert_eq!(live.gate(&plan, "cert-manager").status, Status::Pass);
    sim.shutdown().await;
    live.wait_until(
        "a watch error after the server went away",
        Duration::from_secs(30),
        |v| {
            v.freshness(&golive::cluster::DEPLOYMENTS, Some("cert-manager"))
                != golive::cluster::Freshness::Fresh
        },
    )
    .await;
    let g = live.gate(&plan, "cert-manager");
    assert_eq!(g.status, Status::Unknown, "{}", g.summary);
    assert!(g.summary.contains("stale"), "{}", g.summary);
}
