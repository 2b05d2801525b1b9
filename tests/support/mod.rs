//! Shared set-up for integration tests: the simulated cluster on loopback, loaded with
//! the Gravl demo manifests, those manifests as objects for tests without the simulator,
//! and a live view fed by the real kube watchers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
#![allow(dead_code)]

use golive::cluster::{self, ClusterView, Target};
use golive::gates;
use golive::plan::{self, LoadedPlan};
use golive_sim::{Sim, SimConfig};
use jiff::Timestamp;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn gravl() -> LoadedPlan {
    plan::load_with_env("gravl", |_| None).expect("the built-in gravl plan is valid")
}

const GRAVL_CLUSTER: &str = include_str!("../../assets/demo/gravl/cluster.yaml");
const GRAVL_POLICIES: &str = include_str!("../../assets/demo/gravl/network-policies.yaml");
const GRAVL_RBAC: &str = include_str!("../../assets/demo/gravl/rbac.yaml");
const GRAVL_OPERATIONS: &str = include_str!("../../assets/demo/gravl/operations.yaml");

/// The Gravl demo cluster, its NetworkPolicies and RBAC as API objects, for feeding a view or
/// the cockpit without the simulator.
pub fn gravl_objects() -> Vec<serde_json::Value> {
    let mut all = serde_saphyr::from_multiple::<serde_json::Value>(GRAVL_CLUSTER)
        .expect("the demo cluster parses");
    all.extend(
        serde_saphyr::from_multiple::<serde_json::Value>(GRAVL_POLICIES)
            .expect("the demo policies parse"),
    );
    all.extend(
        serde_saphyr::from_multiple::<serde_json::Value>(GRAVL_RBAC).expect("the demo RBAC parses"),
    );
    all.extend(
        serde_saphyr::from_multiple::<serde_json::Value>(GRAVL_OPERATIONS)
            .expect("the demo's Ingress, scans and backups parse"),
    );
    all.retain(|o| !o.is_null());
    // The simulator stamps creation times when it serves objects; the fixture must too.
    for o in &mut all {
        if o["metadata"].get("creationTimestamp").is_none() {
            o["metadata"]["creationTimestamp"] = serde_json::json!("2026-11-15T03:00:00Z");
        }
    }
    all
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The simulator with the CRDs and the Gravl demo cluster, plus a kubeconfig for it.
pub async fn gravl_sim(deny: &[&str]) -> (Sim, tempfile::TempDir, PathBuf) {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = Sim::start(SimConfig {
        manifests: vec![root().join("assets/crds"), root().join("assets/demo/gravl")],
        deny: deny.iter().map(|s| s.to_string()).collect(),
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("the simulator starts with the demo manifests");
    (sim, dir, kubeconfig)
}

/// A view of the plan's resources kept current by the real watchers.
pub struct LiveView {
    pub view: ClusterView,
    rx: mpsc::Receiver<cluster::ClusterEvent>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LiveView {
    pub async fn start(plan: &LoadedPlan, kubeconfig: &std::path::Path) -> Self {
        let target = Target {
            kubeconfig: Some(kubeconfig.to_path_buf()),
            context: None,
        };
        let connection = cluster::connect(&target)
            .await
            .expect("client from the sim kubeconfig");
        let watches = gates::plan_watch_specs(&plan.plan);
        let view = ClusterView::for_watches(&connection.context, &connection.server, &watches);
        let (tx, rx) = mpsc::channel(1024);
        let tasks = cluster::watch::spawn_watchers(&connection.client, watches, tx);
        Self { view, rx, tasks }
    }

    /// Applies events until `done(view)` holds; panics with `what` after `timeout`.
    pub async fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&ClusterView) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.view) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => self.view.apply(event, Timestamp::now()),
                Ok(None) => panic!("watchers ended while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    pub fn gate(&self, plan: &LoadedPlan, id: &str) -> gates::GateVerdict {
        let g = plan
            .plan
            .gates
            .iter()
            .find(|g| g.id.value == id)
            .expect("gate exists");
        gates::evaluate_gate(g, &self.view, &gates::Context::new(Timestamp::now()))
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A pod the size and shape of a real one (~13 KB of JSON): managedFields from two
/// managers, an Istio sidecar and init container, 25 environment variables, probes, a
/// projected token volume, an owner, a dozen labels and annotations.
pub fn realistic_pod(namespace: &str, i: usize) -> serde_json::Value {
    use serde_json::json;
    let name = format!("api-7d9f8c6b5-{i:05}");
    let env: Vec<serde_json::Value> = (0..25)
        .map(|k| json!({"name": format!("APP_SETTING_{k}"), "value": format!("value-{k}-{}", "v".repeat(24))}))
        .collect();
    let fields = |manager: &str, sub: &str| {
        json!({"manager": manager, "operation": "Update", "apiVersion": "v1",
               "time": "2026-11-24T06:00:00Z", "fieldsType": "FieldsV1", "subresource": sub,
               "fieldsV1": {"f:metadata": {"f:labels": (0..12).map(|k| (format!("f:label-{k}"), json!({}))).collect::<serde_json::Map<_, _>>()},
                            "f:spec": {"f:containers": (0..2).map(|k| (format!("k:{{\"name\":\"c{k}\"}}"), json!({".": {}, "f:env": (0..25).map(|e| (format!("k:{{\"name\":\"APP_SETTING_{e}\"}}"), json!({".": {}, "f:name": {}, "f:value": {}}))).collect::<serde_json::Map<_, _>>()}))).collect::<serde_json::Map<_, _>>()},
                            "f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:podIP": {}}}})
    };
    let labels: serde_json::Map<String, serde_json::Value> = (0..10)
        .map(|k| {
            (
                format!("example.com/label-{k}"),
                json!(format!("value-{k}")),
            )
        })
        .chain([
            ("app".to_string(), json!("api")),
            ("pod-template-hash".to_string(), json!("7d9f8c6b5")),
        ])
        .collect();
    let probe = json!({"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                       "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 1,
                       "successThreshold": 1, "failureThreshold": 3});
    let running = json!({"running": {"startedAt": "2026-11-24T06:01:00Z"}});
    let conditions: Vec<serde_json::Value> = ["Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-24T06:01:10Z"}))
        .collect();
    let statuses: Vec<serde_json::Value> = ["api", "istio-proxy"]
        .iter()
        .map(|c| json!({
            "name": c, "ready": true, "started": true, "restartCount": 0, "state": running,
            "image": "registry.example.com/api:1.42.0",
            "imageID": "registry.example.com/api@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            "containerID": "containerd://3333333333333333333333333333333333333333333333333333333333333333"}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace, "labels": labels,
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(1500),
                "sidecar.istio.io/status": format!("{{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"],\"volumes\":[\"istio-envoy\",\"istio-data\",\"istio-podinfo\",\"istio-token\",\"istiod-ca-cert\"],\"revision\":\"default\"}}"),
                "prometheus.io/scrape": "true", "prometheus.io/port": "15020",
                "kubectl.kubernetes.io/restartedAt": "2026-11-24T06:00:00Z"
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7d9f8c6b5",
                                 "uid": "0b1c2d3e-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [fields("kube-controller-manager", ""), fields("kubelet", "status")]
        },
        "spec": {
            "serviceAccountName": "api",
            "initContainers": [{"name": "istio-init", "image": "docker.io/istio/proxyv2:1.24.0",
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"],
                "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}, "runAsUser": 0}}],
            "containers": [
                {"name": "api", "image": "registry.example.com/api:1.42.0", "env": env,
                 "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                 "livenessProbe": probe, "readinessProbe": probe,
                 "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
                 "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true},
                                  {"name": "config", "mountPath": "/etc/api"}]},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0",
                 "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning"],
                 "env": env, "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                 "readinessProbe": probe,
                 "volumeMounts": [{"name": "istio-envoy", "mountPath": "/etc/istio/proxy"}]}
            ],
            "volumes": [
                {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}},
                {"name": "config", "configMap": {"name": "api-config", "defaultMode": 420}},
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}
            ],
            "nodeName": format!("node-{:03}", i % 200),
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]
        },
        "status": {
            "phase": "Running", "qosClass": "Burstable",
            "hostIP": format!("10.1.{}.{}", i / 250 % 250, i % 250),
            "podIP": format!("10.2.{}.{}", i / 250 % 250, i % 250),
            "podIPs": [{"ip": format!("10.2.{}.{}", i / 250 % 250, i % 250)}],
            "startTime": "2026-11-24T06:00:30Z",
            "conditions": conditions,
            "initContainerStatuses": [{"name": "istio-init", "ready": true, "restartCount": 0, "image": "docker.io/istio/proxyv2:1.24.0",
                "imageID": "docker.io/istio/proxyv2@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "containerID": "containerd://1111111111111111111111111111111111111111111111111111111111111111",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-11-24T06:00:40Z", "finishedAt": "2026-11-24T06:00:41Z"}}}],
            "containerStatuses": statuses
        }
    })
}
