//! Scenario timelines played against a running sim, observed through kube.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use std::time::Duration;

use futures::StreamExt;
use golive_sim::{NamedText, Scenario, Sim, SimConfig};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::watcher;
use serde_json::json;
use support::{client_for, eventually, fixture_config};

const TIMELINE: &str = r#"
steps:
  - at: 200ms
    note: the CA secret appears and the issuer turns ready
    patch:
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      name: internal-ca
      merge:
        status:
          conditions: [{type: Ready, status: "True", message: Signing CA verified}]
  - at: 300ms
    apply:
      apiVersion: v1
      kind: Namespace
      metadata: {name: gravl-prod}
  - at: 400ms
    delete: {apiVersion: v1, kind: Pod, namespace: gravl-staging, name: web-5c2a}
  - at: 450ms
    delete: {apiVersion: v1, kind: Pod, namespace: gravl-staging, name: never-existed}
"#;

#[tokio::test]
async fn scenario_steps_apply_at_their_offsets_and_reach_watchers() {
    let config = SimConfig {
        scenario_text: Some(NamedText::new("timeline.yaml", TIMELINE)),
        ..fixture_config()
    };
    let started = tokio::time::Instant::now();
    let sim = Sim::start(config).await.expect("sim starts");
    let namespaces: Api<Namespace> = Api::all(client_for(&sim));
    let mut stream = std::pin::pin!(watcher(namespaces, watcher::Config::default()));
    let applied = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = stream.next().await {
            if let Ok(watcher::Event::Apply(ns)) = event
                && ns.metadata.name.as_deref() == Some("gravl-prod")
            {
                return ns;
            }
        }
        panic!("watch ended before gravl-prod appeared");
    })
    .await
    .expect("gravl-prod appears");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let labels = applied.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("gravl-prod")
    );

    eventually("every step has run", || {
        let done = sim.scenarios_finished();
        async move { done }
    })
    .await;
    let issuer = sim
        .get("cert-manager.io/v1", "ClusterIssuer", None, "internal-ca")
        .expect("issuer stored");
    assert_eq!(issuer["status"]["conditions"][0]["status"], "True");
    assert!(
        sim.get("v1", "Pod", Some("gravl-staging"), "web-5c2a")
            .is_none()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn scenario_played_later_counts_from_play() {
    let sim = Sim::start(fixture_config()).await.expect("sim starts");
    let scenario = Scenario::from_text(
        "inline",
        "steps:\n  - at: 100ms\n    apply: {apiVersion: v1, kind: ConfigMap, metadata: {name: flag, namespace: default}, data: {on: \"yes\"}}\n",
    )
    .expect("valid");
    sim.play(scenario).expect("kinds are served");
    eventually("the config map appears", || {
        let found = sim
            .get("v1", "ConfigMap", Some("default"), "flag")
            .is_some();
        async move { found }
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn scenario_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "steps:\n  - at: 10s\n    apply: {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n  - at: ten seconds\n    delete: {apiVersion: v1, kind: Namespace, name: a}\n",
    )
    .expect("write");
    let error = Sim::start(SimConfig {
        scenario: Some(path.clone()),
        ..SimConfig::default()
    })
    .await
    .expect_err("bad duration");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:4:", path.display())),
        "{message}"
    );
    assert!(message.contains("ten seconds"), "{message}");
}

#[tokio::test]
async fn unknown_kind_load_error_names_file_document_and_missing_crd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("issuers.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: x}\n",
    )
    .expect("write");
    let error = Sim::start(SimConfig {
        manifests: vec![dir.path().to_path_buf()],
        ..SimConfig::default()
    })
    .await
    .expect_err("no CRD loaded");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("document 2"), "{message}");
    assert!(
        message.contains("clusterissuers.cert-manager.io"),
        "{message}"
    );
}

#[tokio::test]
async fn crd_order_within_one_load_does_not_matter() {
    let objects_first = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: require-labels}\nspec: {background: true}\n";
    let crd = std::fs::read_to_string(support::crds_dir().join("kyverno.yaml")).expect("crd file");
    let sim = Sim::start(SimConfig {
        manifest_texts: vec![
            NamedText::new("policies.yaml", objects_first),
            NamedText::new("kyverno.yaml", crd),
        ],
        ..SimConfig::default()
    })
    .await
    .expect("loads regardless of order");
    assert!(
        sim.get("kyverno.io/v1", "ClusterPolicy", None, "require-labels")
            .is_some()
    );
    let error = sim
        .apply(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}))
        .expect_err("unknown kind");
    assert!(error.to_string().contains("widgets.example.com"), "{error}");
    sim.shutdown().await;
}

#[tokio::test]
async fn scenario_with_an_unserved_kind_fails_at_start_naming_the_step() {
    let text = "steps:\n  - at: 1s\n    apply:\n      apiVersion: cert-manager.io/v1\n      kind: ClusterIsuer\n      metadata: {name: typo}\n";
    let error = Sim::start(SimConfig {
        scenario_text: Some(NamedText::new("typo.yaml", text)),
        ..fixture_config()
    })
    .await
    .expect_err("unknown kind");
    let message = error.to_string();
    assert!(message.starts_with("typo.yaml:2:"), "{message}");
    assert!(message.contains("ClusterIsuer"), "{message}");
}

/// The status of `GET path` over a fresh connection, or the connection error.
async fn status_of(addr: std::net::SocketAddr, path: &str) -> Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&head[9..12])
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())
}

/// Faults in a scenario: each starts at its step and those with `for` end by themselves.
#[tokio::test]
async fn scenario_faults_start_at_their_step_and_end_by_themselves() {
    let text = r#"
steps:
  - {at: 100ms, fault: {outage: 503, for: 400ms}}
  - {at: 700ms, fault: {deny: namespaces, for: 400ms}}
  - {at: 1300ms, fault: {stop_accepting: 400ms}}
  - {at: 1900ms, fault: {latency: 700ms, for: 300ms}}
"#;
    let config = SimConfig {
        scenario_text: Some(NamedText::new("faults.yaml", text)),
        ..fixture_config()
    };
    let sim = Sim::start(config).await.unwrap();
    let addr = sim.addr();
    let path = "/api/v1/namespaces";
    let start = tokio::time::Instant::now();
    let at = |ms: u64| tokio::time::sleep_until(start + Duration::from_millis(ms));
    assert_eq!(status_of(addr, path).await, Ok(200));
    at(250).await;
    assert_eq!(status_of(addr, path).await, Ok(503), "during the outage");
    at(600).await;
    assert_eq!(status_of(addr, path).await, Ok(200), "after the outage");
    at(850).await;
    assert_eq!(status_of(addr, path).await, Ok(403), "namespaces denied");
    assert_eq!(
        status_of(addr, "/api/v1/pods").await,
        Ok(200),
        "only namespaces"
    );
    at(1200).await;
    assert_eq!(status_of(addr, path).await, Ok(200), "allowed again");
    at(1450).await;
    assert!(
        status_of(addr, path).await.is_err(),
        "the listener is closed"
    );
    at(1800).await;
    assert_eq!(status_of(addr, path).await, Ok(200), "listening again");
    at(1950).await;
    let asked = tokio::time::Instant::now();
    assert_eq!(status_of(addr, path).await, Ok(200));
    assert!(
        asked.elapsed() >= Duration::from_millis(500),
        "answers delayed"
    );
    at(2400).await;
    let asked = tokio::time::Instant::now();
    assert_eq!(status_of(addr, path).await, Ok(200));
    assert!(
        asked.elapsed() < Duration::from_millis(300),
        "no delay after"
    );
    assert!(
        sim.scenario_errors().is_empty(),
        "{:?}",
        sim.scenario_errors()
    );
    sim.shutdown().await;
}

/// Two faults of one kind that overlap hold until the later one ends: the first one's
/// timer does not end the second early.
#[tokio::test]
async fn overlapping_faults_of_one_kind_hold_until_the_last_ends() {
    let text = r#"
steps:
  - {at: 100ms, fault: {outage: 503, for: 500ms}}
  - {at: 400ms, fault: {outage: 503, for: 600ms}}
  - {at: 1100ms, fault: {deny: pods, for: 200ms}}
  - {at: 1200ms, fault: {deny: pods, for: 400ms}}
"#;
    let config = SimConfig {
        scenario_text: Some(NamedText::new("overlap.yaml", text)),
        ..fixture_config()
    };
    let sim = Sim::start(config).await.unwrap();
    let addr = sim.addr();
    let start = tokio::time::Instant::now();
    let at = |ms: u64| tokio::time::sleep_until(start + Duration::from_millis(ms));
    let namespaces = "/api/v1/namespaces";
    at(250).await;
    assert_eq!(status_of(addr, namespaces).await, Ok(503));
    at(750).await;
    assert_eq!(
        status_of(addr, namespaces).await,
        Ok(503),
        "the first outage ended at 600 ms, the second holds to 1000 ms"
    );
    at(1050).await;
    assert_eq!(status_of(addr, namespaces).await, Ok(200), "outages over");
    at(1400).await;
    assert_eq!(
        status_of(addr, "/api/v1/pods").await,
        Ok(403),
        "the first deny ended at 1300 ms, the second holds to 1600 ms"
    );
    at(1700).await;
    assert_eq!(
        status_of(addr, "/api/v1/pods").await,
        Ok(200),
        "denies over"
    );
    assert!(
        sim.scenario_errors().is_empty(),
        "{:?}",
        sim.scenario_errors()
    );
    sim.shutdown().await;
}
