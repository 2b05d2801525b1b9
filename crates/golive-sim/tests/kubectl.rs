//! The real kubectl binary against the simulated API server: discovery,
//! server-side Table printing, short names, 403s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use std::path::Path;

use support::start_fixture_sim;

fn kubectl_path() -> Option<&'static str> {
    ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Runs kubectl with a private HOME so no cache or config leaks between tests.
async fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> (bool, String, String) {
    let Some(binary) = kubectl_path() else {
        unreachable!("callers check kubectl_path first");
    };
    let output = tokio::process::Command::new(binary)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .output()
        .await
        .expect("kubectl runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

macro_rules! require_kubectl {
    () => {
        if kubectl_path().is_none() {
            println!("kubectl not installed: skipping this kubectl test");
            return;
        }
    };
}

fn header_and_rows(stdout: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = stdout.lines();
    let header = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pods_all_namespaces_prints_ready_status_restarts_age() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
    let (ok, stdout, stderr) = kubectl(&kubeconfig, dir.path(), &["get", "pods", "-A"]).await;
    assert!(ok, "kubectl failed: {stderr}");
    let (header, rows) = header_and_rows(&stdout);
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{stdout}"
    );
    assert_eq!(rows.len(), 3, "{stdout}");
    let web = rows
        .iter()
        .find(|r| r[1] == "web-5c2a")
        .expect("web pod row");
    assert_eq!(
        web[..5],
        ["gravl-staging", "web-5c2a", "1/2", "CrashLoopBackOff", "5"]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_clusterissuers_prints_crd_printer_columns() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
    let (ok, stdout, stderr) = kubectl(&kubeconfig, dir.path(), &["get", "clusterissuers"]).await;
    assert!(ok, "kubectl failed: {stderr}");
    let (header, rows) = header_and_rows(&stdout);
    assert_eq!(header, ["NAME", "READY", "AGE"], "{stdout}");
    assert_eq!(rows[0][..2], ["internal-ca", "False"], "{stdout}");
    assert_eq!(rows[1][..2], ["letsencrypt-prod", "True"], "{stdout}");

    let (ok, wide, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["get", "clusterissuers", "-o", "wide"],
    )
    .await;
    assert!(ok, "kubectl failed: {stderr}");
    assert!(wide.contains("secret internal-ca not found"), "{wide}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_secrets_shows_type_and_key_count_but_no_key_names() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
    let (ok, stdout, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["get", "secrets", "-n", "kube-system"],
    )
    .await;
    assert!(ok, "kubectl failed: {stderr}");
    let (header, rows) = header_and_rows(&stdout);
    assert_eq!(header, ["NAME", "TYPE", "DATA", "AGE"], "{stdout}");
    assert_eq!(
        rows[0][..3],
        ["sealed-secrets-keyabcde", "kubernetes.io/tls", "2"]
    );
    assert!(!stdout.contains("tls.key"), "{stdout}");
    assert_eq!(
        sim.request_counts().secret_data_responses,
        0,
        "a Table carries no Secret data"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_ns_show_labels_includes_the_metadata_name_label() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
    let (ok, stdout, stderr) =
        kubectl(&kubeconfig, dir.path(), &["get", "ns", "--show-labels"]).await;
    assert!(ok, "kubectl failed: {stderr}");
    let (header, rows) = header_and_rows(&stdout);
    assert_eq!(header, ["NAME", "STATUS", "AGE", "LABELS"], "{stdout}");
    let kube_system = rows.iter().find(|r| r[0] == "kube-system").expect("row");
    assert_eq!(kube_system[3], "kubernetes.io/metadata.name=kube-system");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_short_names_and_forbidden_resources_behave_like_a_cluster() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    sim.deny("clusterissuers.cert-manager.io");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");

    let (ok, stdout, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["get", "deploy", "-n", "gravl-staging"],
    )
    .await;
    assert!(ok, "kubectl failed: {stderr}");
    let (header, rows) = header_and_rows(&stdout);
    assert_eq!(
        header,
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{stdout}"
    );
    assert_eq!(rows[0][..4], ["api", "2/2", "2", "2"]);

    let (ok, _, stderr) = kubectl(&kubeconfig, dir.path(), &["get", "clusterissuers"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("clusterissuers.cert-manager.io is forbidden: User \"golive-sim\" cannot list resource \"clusterissuers\" in API group \"cert-manager.io\" at the cluster scope"),
        "{stderr}"
    );

    let (ok, stdout, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &[
            "get",
            "po",
            "-n",
            "gravl-staging",
            "-l",
            "tier=frontend",
            "-o",
            "name",
        ],
    )
    .await;
    assert!(ok, "kubectl failed: {stderr}");
    assert_eq!(stdout.trim(), "pod/web-5c2a");
    assert!(sim.request_counts().verb("discovery") > 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_label_get_all_and_delete_work_against_the_demo() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");

    let manifest = dir.path().join("ns.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gravl-prod\n",
    )
    .expect("write manifest");
    let manifest = manifest.display().to_string();
    let (ok, _, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["create", "--validate=false", "-f", &manifest],
    )
    .await;
    assert!(ok, "create failed: {stderr}");
    let (ok, _, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["label", "namespace", "gravl-prod", "team=gravl"],
    )
    .await;
    assert!(ok, "label failed: {stderr}");
    let namespace = sim
        .get("v1", "Namespace", None, "gravl-prod")
        .expect("created");
    assert_eq!(namespace["metadata"]["labels"]["team"], "gravl");
    assert_eq!(
        namespace["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "gravl-prod"
    );

    let (ok, stdout, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["get", "all", "-n", "gravl-staging"],
    )
    .await;
    assert!(ok, "get all failed: {stderr}");
    assert!(stdout.contains("pod/web-5c2a"), "{stdout}");
    assert!(stdout.contains("deployment.apps/api"), "{stdout}");

    let (ok, _, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &[
            "delete",
            "pod",
            "web-5c2a",
            "-n",
            "gravl-staging",
            "--timeout=10s",
        ],
    )
    .await;
    assert!(ok, "delete failed: {stderr}");
    assert!(
        sim.get("v1", "Pod", Some("gravl-staging"), "web-5c2a")
            .is_none()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_events_prints_last_seen_type_reason_object_message() {
    require_kubectl!();
    let sim = start_fixture_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
    let (ok, stdout, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["get", "events", "-n", "gravl-staging"],
    )
    .await;
    assert!(ok, "kubectl failed: {stderr}");
    let (header, rows) = header_and_rows(&stdout);
    assert_eq!(
        header,
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{stdout}"
    );
    assert_eq!(
        rows[0][1..4],
        ["Warning", "BackOff", "pod/web-5c2a"],
        "{stdout}"
    );
    assert!(
        stdout.contains("Back-off restarting failed container proxy"),
        "{stdout}"
    );

    // describe finds events by involvedObject name, namespace and uid.
    let (ok, described, stderr) = kubectl(
        &kubeconfig,
        dir.path(),
        &["describe", "pod", "web-5c2a", "-n", "gravl-staging"],
    )
    .await;
    assert!(ok, "kubectl describe failed: {stderr}");
    assert!(described.contains("BackOff"), "{described}");
    sim.shutdown().await;
}
