//! `golive check --plan volundr` as a user runs it: the real binary against the simulator
//! loaded with the Volundr demo cluster, made compliant, then broken one item at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive_sim::{Sim, SimConfig};
use serde_json::{Value, json};
use std::process::Command;
use support::*;

const COMPLIANT_CONFIG: &str = "identity:\n  adapter: EnvoyHeaderIdentityAdapter\nauthorization:\n  adapter: SimpleRoleAuthorizationAdapter\ncredentials:\n  store: vault\nsecrets:\n  injection: csi\ngit:\n  existingSecret: volundr-git-token\ncors:\n  allowedOrigins: [https://volundr.example.com]\nlogging:\n  format: json\ndatabase:\n  maxPoolSize: 10\n  maxConnections: 200\n";

async fn volundr_sim() -> (Sim, tempfile::TempDir, std::path::PathBuf) {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = Sim::start(SimConfig {
        manifests: vec![
            root().join("assets/crds"),
            root().join("assets/demo/volundr"),
        ],
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("the simulator starts with the volundr demo manifests");
    (sim, dir, kubeconfig)
}

fn set_config(sim: &Sim, config: &str) {
    sim.merge_patch(
        "v1",
        "ConfigMap",
        Some("volundr"),
        "volundr-config",
        json!({"data": {"config.yaml": config}}),
    )
    .expect("patch the ConfigMap");
}

/// Fixes the demo's three deliberate findings.
fn make_compliant(sim: &Sim) {
    set_config(sim, COMPLIANT_CONFIG);
    sim.merge_patch(
        "policy/v1",
        "PodDisruptionBudget",
        Some("volundr"),
        "volundr-api",
        json!({"spec": {"minAvailable": 1}}),
    )
    .expect("patch the PDB");
}

/// Runs `golive check --plan volundr` with the plan's service URL pointed at a live demo
/// service, so the HTTP and SSE gates are probed for real.
async fn check(kubeconfig: &std::path::Path) -> (i32, Value) {
    let kubeconfig = kubeconfig.to_path_buf();
    let service = golive::demo::service::DemoService::start()
        .await
        .expect("demo service on loopback");
    let url = service.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_golive"))
            .args([
                "check",
                "--plan",
                "volundr",
                "--format",
                "json",
                "--wait",
                "10",
                "--kubeconfig",
            ])
            .arg(&kubeconfig)
            .env_remove("VOLUNDR_POSTGRES")
            .env("VOLUNDR_URL", url)
            .output()
    })
    .await
    .expect("join")
    .expect("golive runs");
    drop(service);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["gates"]
        .as_array()
        .map(|gates| {
            gates
                .iter()
                .map(|g| {
                    (
                        g["id"].as_str().unwrap_or("?").to_string(),
                        g["status"].as_str().unwrap_or("?").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn compliant_cluster_passes_every_cluster_gate_and_never_reads_secret_data() {
    let (sim, _dir, kubeconfig) = volundr_sim().await;
    make_compliant(&sim);
    let (code, report) = check(&kubeconfig).await;
    assert_eq!(
        code, 0,
        "GO: every gate passes, postgres is a recorded attestation: {report}"
    );
    for (id, status) in statuses(&report) {
        let want = if id == "postgres-reachable" {
            "warn"
        } else {
            "pass"
        };
        assert_eq!(status, want, "{id}: {report}");
    }
    assert_eq!(sim.request_counts().secret_data_responses, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn demo_cluster_is_no_go_on_its_three_findings() {
    let (sim, _dir, kubeconfig) = volundr_sim().await;
    let (code, report) = check(&kubeconfig).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "no-go");
    let failing: Vec<String> = statuses(&report)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(failing, vec!["cors", "pdb", "log-format-json"], "{report}");
    assert_eq!(sim.request_counts().secret_data_responses, 0);
    sim.shutdown().await;
}

type Break = fn(&Sim);

#[tokio::test]
async fn each_broken_item_fails_only_its_own_gate() {
    let cases: Vec<(&str, Break)> = vec![
        ("migrations-applied", |s| {
            s.merge_patch("v1", "Pod", Some("volundr"), "volundr-api-7c9f8d-abcde",
                json!({"status": {"initContainerStatuses": [{"name": "migrate", "ready": false, "restartCount": 3, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}))
                .expect("patch");
        }),
        ("db-secret", |s| {
            s.delete("v1", "Secret", Some("volundr"), "volundr-db")
                .expect("delete")
        }),
        ("anthropic-secret", |s| {
            s.delete("v1", "Secret", Some("volundr"), "volundr-anthropic-api")
                .expect("delete")
        }),
        ("ingress-tls", |s| {
            s.merge_patch("cert-manager.io/v1", "Certificate", Some("volundr"), "volundr-tls",
                json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Failed"}]}}))
                .expect("patch");
        }),
        ("identity-adapter", |s| {
            set_config(
                s,
                &COMPLIANT_CONFIG.replace("EnvoyHeaderIdentityAdapter", "AllowAllIdentityAdapter"),
            )
        }),
        ("authorization-adapter", |s| {
            set_config(
                s,
                &COMPLIANT_CONFIG.replace(
                    "SimpleRoleAuthorizationAdapter",
                    "AllowAllAuthorizationAdapter",
                ),
            )
        }),
        ("storage-rwx", |s| {
            s.delete("storage.k8s.io/v1", "StorageClass", None, "nfs-rwx")
                .expect("delete")
        }),
        ("envoy-jwt", |s| {
            s.delete(
                "gateway.envoyproxy.io/v1alpha1",
                "SecurityPolicy",
                Some("volundr"),
                "volundr-sessions-jwt",
            )
            .expect("delete")
        }),
        ("credential-store", |s| {
            set_config(
                s,
                &COMPLIANT_CONFIG.replace("store: vault", "store: memory"),
            )
        }),
        ("secret-injection", |s| {
            s.delete(
                "storage.k8s.io/v1",
                "CSIDriver",
                None,
                "secrets-store.csi.k8s.io",
            )
            .expect("delete")
        }),
        ("git-token-secret", |s| {
            s.delete("v1", "Secret", Some("volundr"), "volundr-git-token")
                .expect("delete")
        }),
        ("pod-security", |s| {
            s.merge_patch("apps/v1", "Deployment", Some("volundr"), "volundr-api",
                json!({"spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": false}}}}}))
                .expect("patch");
        }),
        ("cors", |s| {
            set_config(
                s,
                &COMPLIANT_CONFIG.replace("[https://volundr.example.com]", "[\"*\"]"),
            )
        }),
        ("hpa", |s| {
            s.merge_patch(
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                Some("volundr"),
                "volundr-api",
                json!({"spec": {"minReplicas": 1}}),
            )
            .expect("patch");
        }),
        ("pdb", |s| {
            s.delete(
                "policy/v1",
                "PodDisruptionBudget",
                Some("volundr"),
                "volundr-api",
            )
            .expect("delete")
        }),
        ("network-policy", |s| {
            s.delete(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                Some("volundr"),
                "default-deny",
            )
            .expect("delete")
        }),
        ("kyverno-pvc-isolation", |s| {
            s.delete(
                "kyverno.io/v1",
                "ClusterPolicy",
                None,
                "volundr-pvc-isolation",
            )
            .expect("delete")
        }),
        ("log-format-json", |s| {
            set_config(s, &COMPLIANT_CONFIG.replace("format: json", "format: text"))
        }),
        ("db-pool", |s| {
            set_config(
                s,
                &COMPLIANT_CONFIG.replace("maxPoolSize: 10", "maxPoolSize: 40"),
            )
        }),
    ];
    for (id, breaks) in cases {
        let (sim, _dir, kubeconfig) = volundr_sim().await;
        make_compliant(&sim);
        breaks(&sim);
        let (code, report) = check(&kubeconfig).await;
        assert_eq!(code, 1, "{id}: {report}");
        let failing: Vec<String> = statuses(&report)
            .into_iter()
            .filter(|(_, s)| s != "pass" && s != "warn")
            .map(|(g, _)| g)
            .collect();
        assert_eq!(failing, vec![id.to_string()], "breaking {id}: {report}");
        assert_eq!(sim.request_counts().secret_data_responses, 0, "{id}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn cluster_without_kyverno_fails_the_policy_gate_as_not_served() {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let cluster = std::fs::read_to_string(root().join("assets/demo/volundr/cluster.yaml"))
        .expect("the demo cluster");
    let without_policy: Vec<&str> = cluster
        .split("\n---\n")
        .filter(|doc| !doc.contains("kind: ClusterPolicy"))
        .collect();
    let crds = [
        "cert-manager.yaml",
        "envoy-gateway.yaml",
        "gateway-api.yaml",
    ]
    .iter()
    .map(|f| root().join("assets/crds").join(f))
    .collect();
    let sim = Sim::start(SimConfig {
        manifests: crds,
        manifest_texts: vec![golive_sim::NamedText::new(
            "volundr-without-kyverno.yaml",
            without_policy.join("\n---\n"),
        )],
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("the simulator starts");
    make_compliant(&sim);
    let (code, report) = check(&kubeconfig).await;
    assert_eq!(code, 1, "{report}");
    let failing: Vec<String> = statuses(&report)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(g, _)| g)
        .collect();
    assert_eq!(
        failing,
        vec!["cluster-access", "kyverno-pvc-isolation"],
        "{report}"
    );
    let kyverno = report["gates"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["id"] == "kyverno-pvc-isolation"))
        .expect("kyverno gate");
    assert!(
        kyverno["summary"]
            .as_str()
            .unwrap_or("")
            .contains("not served"),
        "{kyverno}"
    );
    sim.shutdown().await;
}
