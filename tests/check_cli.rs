//! `golive check` as a user runs it: the real binary, a kubeconfig, the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use serde_json::{Value, json};
use std::process::Command;
use support::*;

fn golive() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golive"))
}

async fn check_json(kubeconfig: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    check_json_env(kubeconfig, extra, &[]).await
}

async fn check_json_env(
    kubeconfig: &std::path::Path,
    extra: &[&str],
    env: &[(&str, String)],
) -> (i32, Value) {
    let kubeconfig = kubeconfig.to_path_buf();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        golive()
            .envs(env)
            .args([
                "check",
                "--plan",
                "gravl",
                "--format",
                "json",
                "--kubeconfig",
            ])
            .arg(&kubeconfig)
            .args(&extra)
            .output()
    })
    .await
    .expect("join")
    .expect("golive runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn gate<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["gates"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["id"] == id))
        .unwrap_or_else(|| panic!("gate {id} in {report}"))
}

#[tokio::test]
async fn report_cluster_is_no_go_with_the_issuer_and_dns_evidence() {
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    let (code, report) = check_json(&kubeconfig, &["--wait", "10"]).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "no-go");
    assert_eq!(report["plan"], "Gravl production go-live");
    assert_eq!(gate(&report, "cluster-issuers")["status"], "fail");
    assert_eq!(gate(&report, "network-policies")["status"], "fail");
    assert_eq!(gate(&report, "load-test")["status"], "unknown");
    assert_eq!(gate(&report, "cert-manager")["status"], "pass");
    let issuers = &gate(&report, "cluster-issuers")["checks"][0];
    assert_eq!(issuers["kind"], "cluster_issuers_ready");
    assert!(
        issuers["evidence"].to_string().contains("ErrGetKeyPair"),
        "{issuers}"
    );
    let dns = gate(&report, "network-policies")["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["kind"] == "dns_egress").cloned())
        .expect("dns check");
    assert_eq!(dns["status"], "fail");
    assert!(
        dns["fix"]
            .as_str()
            .unwrap_or("")
            .contains("kubernetes.io/metadata.name"),
        "{dns}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn fixed_cluster_with_a_passing_load_result_is_go() {
    let (sim, dir, kubeconfig) = gravl_sim(&[]).await;
    // Monitoring answered by the demo's stand-in, before its story's deploy: healthy.
    let standin = golive::demo::standin::StandIn::start(1)
        .await
        .expect("stand-in");
    // DNS answered by the demo's DNS stand-in, as `golive demo` wires it.
    let dns =
        golive::demo::dns_standin::DnsStandIn::start(golive::demo::dns_standin::gravl_records())
            .await
            .expect("DNS stand-in");
    let monitoring = [
        ("GRAVL_PROMETHEUS_URL", standin.url()),
        ("GRAVL_ALERTMANAGER_URL", standin.url()),
        ("GRAVL_DNS_SERVER", dns.address()),
    ];
    // The seeded image problem fixed (postgres rebuilt, rescanned) and last night's
    // backup stamped now, as the demo story does.
    sim.merge_patch(
        "aquasecurity.github.io/v1alpha1",
        "VulnerabilityReport",
        Some("gravl-staging"),
        "replicaset-postgres-6f9b7c5d8-postgres",
        json!({"report": {"summary": {"criticalCount": 0, "highCount": 0, "mediumCount": 1, "lowCount": 1, "unknownCount": 0}, "vulnerabilities": []}}),
    )
    .expect("fix the postgres image");
    let now = jiff::Timestamp::now().to_string();
    sim.merge_patch(
        "velero.io/v1",
        "Backup",
        Some("velero"),
        "gravl-staging-daily-20261125020000",
        json!({"status": {"startTimestamp": now, "completionTimestamp": now}}),
    )
    .expect("a fresh backup");
    sim.merge_patch(
        "cert-manager.io/v1",
        "ClusterIssuer",
        None,
        "internal-ca-issuer",
        json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified", "observedGeneration": 1}]}}),
    )
    .expect("fix the issuer");
    sim.merge_patch(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        Some("gravl-staging"),
        "allow-dns-egress",
        json!({"spec": {"egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}}),
    )
    .expect("fix the DNS rule");
    sim.delete(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        Some("gravl-staging"),
        "ci-deploy",
    )
    .expect("unbind edit from the staging pods' account");
    let (code, report) = check_json_env(&kubeconfig, &["--wait", "10"], &monitoring).await;
    assert_eq!(code, 3, "only the load gate is undecided: {report}");
    assert_eq!(report["verdict"], "unknown");

    let summary = dir.path().join("summary.json");
    // Every number the plan's thresholds read: golive judges them again, so an export
    // that only says `ok` (or lacks p(99) or the failure rate) would not be `go`.
    let passing = json!({"metrics": {"http_reqs": {"count": 3000, "rate": 150.0},
            "http_req_duration": {"avg": 3.0, "med": 2.5, "p(95)": 7.0, "p(99)": 12.0},
            "http_req_failed": {"rate": 0.0, "passes": 0, "fails": 3000}},
        "thresholds": {"http_req_duration": [{"expr": "p(95)<200", "ok": true, "value": 7.0}],
                       "http_reqs": [{"expr": "rate>100", "ok": true, "value": 150.0}]}});
    std::fs::write(&summary, passing.to_string()).expect("write summary");
    let summary_arg = summary.to_string_lossy().to_string();
    let (code, report) = check_json_env(
        &kubeconfig,
        &["--wait", "10", "--load-summary", &summary_arg],
        &monitoring,
    )
    .await;
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verdict"], "go");
    // Monitoring's sources are shown as the cluster's are: reachable, ready, versions.
    let sources = report["monitoring"].as_str().unwrap_or_default();
    assert!(
        sources.starts_with("Prometheus ") && sources.contains(" ready · Alertmanager "),
        "{report}"
    );

    let failing = json!({"metrics": {"http_reqs": {"count": 600, "rate": 19.8}},
        "thresholds": {"http_reqs": [{"expr": "rate>100", "ok": false, "value": 19.8}]}});
    std::fs::write(&summary, failing.to_string()).expect("write summary");
    let (code, report) = check_json_env(
        &kubeconfig,
        &["--wait", "10", "--load-summary", &summary_arg],
        &monitoring,
    )
    .await;
    assert_eq!(code, 1, "{report}");
    assert!(
        gate(&report, "load-test")["summary"]
            .as_str()
            .unwrap_or("")
            .contains("rate>100 (measured 19.8)")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn forbidden_secrets_are_unknown_and_cluster_access_names_them() {
    let (sim, _dir, kubeconfig) = gravl_sim(&["secrets"]).await;
    let (code, report) = check_json(&kubeconfig, &["--wait", "10"]).await;
    assert_eq!(code, 1);
    assert_eq!(gate(&report, "sealed-secrets")["status"], "unknown");
    let access = gate(&report, "cluster-access");
    assert_eq!(access["status"], "fail");
    assert!(
        access["summary"]
            .as_str()
            .unwrap_or("")
            .contains("secrets in kube-system"),
        "{access}"
    );
    assert_eq!(sim.request_counts().secret_data_responses, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn unreachable_cluster_fails_access_and_decides_nothing_else() {
    let (sim, _dir, kubeconfig) = gravl_sim(&[]).await;
    sim.shutdown().await;
    let (code, report) = check_json(&kubeconfig, &["--wait", "3"]).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(gate(&report, "cluster-access")["status"], "fail");
    for id in [
        "cert-manager",
        "cluster-issuers",
        "sealed-secrets",
        "staging-pods",
    ] {
        assert_eq!(
            gate(&report, id)["status"],
            "unknown",
            "{id}: {}",
            gate(&report, id)
        );
    }
}

#[test]
fn a_bad_deploy_moment_is_exit_2_saying_what_is_expected() {
    for bad in ["yesterday", "-30 parsecs", "2099-01-01T00:00:00Z"] {
        let output = golive()
            .args(["check", "--plan", "gravl", "--deployed-at", bad])
            .output()
            .expect("golive runs");
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(
                "expected an RFC 3339 time like 2026-12-04T10:00:00Z or how long ago like -30m"
            ),
            "{bad}: {stderr}"
        );
    }
}

#[test]
fn a_bad_plan_is_exit_2_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, "name: x\ngates:\n  - id: a\n    title: t\n    group: g\n    checks: [{pods_ready: {namespce: x}}]\n")
        .expect("write plan");
    let output = golive()
        .args(["check", "--plan"])
        .arg(&path)
        .output()
        .expect("golive runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plan.yaml:6:"), "{stderr}");
    assert!(stderr.contains("unknown field `namespce`"), "{stderr}");
    let output = golive()
        .args(["plan", "validate"])
        .arg(&path)
        .output()
        .expect("golive runs");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn netpol_explain_finds_the_report_dns_mistake_in_manifests() {
    let output = golive()
        .args(["netpol", "explain", "--manifests"])
        .arg(root().join("assets/demo/gravl"))
        .args([
            "--from",
            "gravl-staging/backend",
            "--to",
            "kube-system/coredns",
            "--port",
            "53/UDP",
        ])
        .output()
        .expect("golive runs");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("DENIED"), "{stdout}");
    assert!(
        stdout.contains("{name=kube-system}, which matches no namespace"),
        "{stdout}"
    );
}
