//! `golive rbac` output is all golive needs: the simulator, authorizing every request as
//! the ServiceAccount `golive/golive` with only that output's Roles and bindings (403 with
//! the API server's `Status` for the rest), gives every gate the same decided verdict as
//! full access, over the real kube client. One rule less, and `cluster_access` names the
//! resource and points to `golive rbac`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::commands::rbac::{Identity, manifests};
use golive::gates::{self, GateVerdict, Status};
use golive::plan::LoadedPlan;
use golive_sim::{Authorization, Sim, SimConfig};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

fn golive_identity() -> Identity {
    Identity::ServiceAccount {
        namespace: "golive".into(),
    }
}

async fn sim(
    demo: &str,
    authorization: Option<Authorization>,
) -> (Sim, tempfile::TempDir, PathBuf) {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = Sim::start(SimConfig {
        manifests: vec![
            root().join("assets/crds"),
            root().join(format!("assets/demo/{demo}")),
        ],
        authorization,
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("the simulator starts with the demo manifests");
    (sim, dir, kubeconfig)
}

/// Every gate once every watch has answered (listed or failed).
async fn verdicts(plan: &LoadedPlan, kubeconfig: &std::path::Path) -> Vec<GateVerdict> {
    let mut live = LiveView::start(plan, kubeconfig).await;
    live.wait_until("every watch to answer", Duration::from_secs(15), |v| {
        v.keys().all(|(_, s)| s.synced || s.error.is_some())
    })
    .await;
    let ctx = gates::Context::new(jiff::Timestamp::now());
    plan.plan
        .gates
        .iter()
        .map(|g| gates::evaluate_gate(g, &live.view, &ctx))
        .collect()
}

fn reads_cluster(plan: &LoadedPlan, id: &str) -> bool {
    plan.plan
        .gates
        .iter()
        .find(|g| g.id.value == id)
        // dns_records also needs answers from a nameserver, which this test does not ask.
        .is_some_and(|g| {
            g.checks.iter().any(|c| {
                !gates::watches(c).is_empty() && !matches!(c, golive::plan::Check::DnsRecords(_))
            })
        })
}

async fn golive_rbac_is_enough(demo: &str, plan: LoadedPlan) {
    let role = manifests(&plan.plan, &golive_identity());
    let (full, _dir, kubeconfig) = sim(demo, None).await;
    let expected = verdicts(&plan, &kubeconfig).await;
    full.shutdown().await;

    let authorization = Authorization::service_account("golive", "golive", role);
    let (restricted, _dir2, kubeconfig) = sim(demo, Some(authorization)).await;
    let got = verdicts(&plan, &kubeconfig).await;
    assert_eq!(
        restricted.request_counts().forbidden,
        0,
        "golive asked for something outside its role"
    );
    for (want, have) in expected.iter().zip(&got) {
        assert_eq!(
            (have.status, &have.summary),
            (want.status, &want.summary),
            "{demo} gate {} differs under the generated role",
            have.id
        );
        if reads_cluster(&plan, &have.id) {
            assert_ne!(
                have.status,
                Status::Unknown,
                "{demo} gate {} is undecided: {}",
                have.id,
                have.summary
            );
        }
    }
    let access = got.iter().find(|g| g.id == "cluster-access");
    if let Some(access) = access {
        assert_eq!(access.status, Status::Pass, "{}", access.summary);
    }
    restricted.shutdown().await;
}

#[tokio::test]
async fn golive_rbac_output_decides_every_gravl_gate_on_a_cluster_denying_the_rest() {
    golive_rbac_is_enough("gravl", gravl()).await;
}

#[tokio::test]
async fn golive_rbac_output_decides_every_volundr_gate_on_a_cluster_denying_the_rest() {
    let plan = golive::plan::load_with_env("volundr", |_| None).expect("volundr");
    golive_rbac_is_enough("volundr", plan).await;
}

#[tokio::test]
async fn a_rule_missing_from_the_role_is_named_by_cluster_access_with_the_way_to_fix_it() {
    let plan = gravl();
    let mut role = manifests(&plan.plan, &golive_identity());
    let cluster_role = role
        .iter_mut()
        .find(|o| o["kind"] == "ClusterRole")
        .expect("gravl reads cluster-wide resources");
    let rules = cluster_role["rules"].as_array_mut().expect("rules");
    let rbac_rule = rules
        .iter_mut()
        .find(|r| r["apiGroups"][0] == "rbac.authorization.k8s.io")
        .expect("a rule for the RBAC objects");
    let kept: Vec<Value> = rbac_rule["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| *r != "rolebindings")
        .cloned()
        .collect();
    rbac_rule["resources"] = Value::Array(kept);
    let authorization = Authorization::service_account("golive", "golive", role);
    let (sim, _dir, kubeconfig) = sim("gravl", Some(authorization)).await;
    let got = verdicts(&plan, &kubeconfig).await;
    let access = got.iter().find(|g| g.id == "cluster-access").expect("gate");
    assert_eq!(access.status, Status::Fail);
    assert!(
        access
            .summary
            .contains("forbidden: rolebindings.rbac.authorization.k8s.io in all namespaces"),
        "{}",
        access.summary
    );
    let fix = access.checks[0].fix.as_deref().unwrap_or_default();
    assert!(fix.contains("golive rbac --plan"), "{fix}");
    let denied = access.checks[0]
        .evidence
        .iter()
        .find(|e| e.object.starts_with("rolebindings"))
        .expect("evidence for the denied watch");
    assert!(
        denied.detail.contains(
            "User \"system:serviceaccount:golive:golive\" cannot list resource \"rolebindings\""
        ),
        "{}",
        denied.detail
    );
    let rbac = got.iter().find(|g| g.id == "rbac").expect("gate");
    assert_eq!(rbac.status, Status::Unknown);
    assert!(
        rbac.summary.contains("forbidden to read rolebindings"),
        "{}",
        rbac.summary
    );
    assert!(sim.request_counts().forbidden > 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_simulator_answers_what_the_role_does_not_allow_with_a_forbidden_status() {
    let plan = gravl();
    let role = manifests(&plan.plan, &golive_identity());
    let authorization = Authorization::service_account("golive", "golive", role);
    let (sim, _dir, kubeconfig) = sim("gravl", Some(authorization)).await;
    let client = golive::cluster::connect(&golive::cluster::Target {
        kubeconfig: Some(kubeconfig),
        context: None,
    })
    .await
    .expect("client")
    .client;
    use k8s_openapi::api::core::v1::{ConfigMap, Pod};
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), "gravl-staging");
    assert!(
        pods.list(&Default::default()).await.is_ok(),
        "the role lets golive list staging pods"
    );
    let configmaps: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "kube-system");
    match configmaps.list(&Default::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403);
            assert_eq!(status.reason, "Forbidden");
            assert!(
                status.message.contains(
                    "User \"system:serviceaccount:golive:golive\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""
                ),
                "{}",
                status.message
            );
        }
        other => panic!("expected 403, got {other:?}"),
    }
    // Read-only: even a resource golive reads cannot be written.
    let mut pod: Pod = pods
        .get("backend-7c9d8f6b5-2xkqp")
        .await
        .expect("get is in the role");
    pod.metadata.labels = None;
    pod.metadata.managed_fields = None;
    assert!(matches!(
        pods.replace("backend-7c9d8f6b5-2xkqp", &Default::default(), &pod)
            .await,
        Err(kube::Error::Api(s)) if s.code == 403
    ));
    sim.shutdown().await;
}

#[test]
fn golive_rbac_prints_the_role_the_tests_apply_as_yaml_kubectl_reads() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(["rbac", "--plan", "gravl", "--namespace", "golive"])
        .output()
        .expect("golive runs");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(text.starts_with("# golive rbac --plan gravl"), "{text}");
    let printed: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML");
    let printed: Vec<Value> = printed.into_iter().filter(|o| !o.is_null()).collect();
    assert_eq!(printed, manifests(&gravl().plan, &golive_identity()));
    let kinds: Vec<&str> = printed.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds[..3],
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]
    );
    // Read-only: no verb but get, list and watch anywhere.
    for object in &printed {
        for rule in object["rules"].as_array().into_iter().flatten() {
            for verb in rule["verbs"].as_array().expect("verbs") {
                assert!(
                    ["get", "list", "watch"].contains(&verb.as_str().unwrap_or("")),
                    "{rule}"
                );
            }
        }
    }

    let text = std::process::Command::new(env!("CARGO_BIN_EXE_golive"))
        .args([
            "rbac", "--plan", "gravl", "--format", "text", "--group", "sre",
        ])
        .output()
        .expect("golive runs")
        .stdout;
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(text.contains("as Group sre"), "{text}");
    assert!(
        text.contains("cluster-wide         rbac.authorization.k8s.io    clusterrolebindings, clusterroles, rolebindings, roles"),
        "{text}"
    );
}

/// The rbac gate follows the cluster's RBAC objects as they change, through the watches.
#[tokio::test]
async fn the_rbac_gate_follows_bindings_as_they_change_over_the_watches() {
    let plan = gravl();
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    let gate_is = |status: Status, words: &'static str| {
        let plan = plan.clone();
        move |v: &golive::cluster::ClusterView| {
            let g = plan
                .plan
                .gates
                .iter()
                .find(|g| g.id.value == "rbac")
                .expect("gate");
            let verdict = gates::evaluate_gate(g, v, &gates::Context::default());
            verdict.status == status && verdict.summary.contains(words)
        }
    };
    live.wait_until(
        "the seeded edit binding to fail",
        Duration::from_secs(10),
        gate_is(
            Status::Fail,
            "default: ClusterRole edit via RoleBinding/ci-deploy",
        ),
    )
    .await;
    sim.delete(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        Some("gravl-staging"),
        "ci-deploy",
    )
    .expect("unbind edit");
    live.wait_until(
        "the gate to pass once the binding is gone",
        Duration::from_secs(10),
        gate_is(Status::Pass, "least privilege"),
    )
    .await;
    sim.apply(serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "all-service-accounts-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:serviceaccounts"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
    }))
    .expect("a cluster-wide grant to every account");
    live.wait_until(
        "a new group grant to fail the gate",
        Duration::from_secs(10),
        gate_is(
            Status::Fail,
            "ClusterRole cluster-admin via ClusterRoleBinding/all-service-accounts-admin",
        ),
    )
    .await;
    sim.shutdown().await;
}
