//! Every built-in-kind object golive ships under `assets/` (the demo clusters and
//! policies, the CRDs, the objects a scenario applies) is one a strict client accepts:
//! it deserializes into its k8s-openapi type, and no field the API marks required is
//! missing. k8s-openapi itself is lenient (a missing required field becomes its default:
//! `imageID: ""`), so strictness is checked by serializing the typed value back: a
//! required field is always written, so a key the typed value has and the document lacks
//! is a required field the document left out. The official Python client refuses such
//! objects (`containerStatuses[].imageID` must not be None).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests stop at the first surprise

use k8s_openapi::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// API groups served by every API server: a document in one of them is a built-in kind.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "storage.k8s.io",
    "coordination.k8s.io",
    "events.k8s.io",
    "discovery.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "apiregistration.k8s.io",
];

/// Keys of `typed` (the document read into its type and written back) that `original`
/// lacks, as paths (`status.containerStatuses[0].imageID`).
fn missing_keys(original: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (original, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (key, value) in t {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match o.get(key) {
                    None => out.push(here),
                    Some(inner) => missing_keys(inner, value, &here, out),
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                missing_keys(a, b, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn strictly<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    missing_keys(doc, &back, "", &mut missing);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("required fields missing: {}", missing.join(", ")))
    }
}

macro_rules! built_in_kinds {
    ($($t:ty),* $(,)?) => {
        /// The strict check for a document of this apiVersion and kind; None for a kind
        /// not listed here.
        fn check(api_version: &str, kind: &str, doc: &Value) -> Option<Result<(), String>> {
            $(
                if api_version == <$t as Resource>::API_VERSION && kind == <$t as Resource>::KIND {
                    return Some(strictly::<$t>(doc));
                }
            )*
            None
        }
    };
}

use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac, storage};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

built_in_kinds!(
    core::v1::Pod,
    core::v1::Service,
    core::v1::Namespace,
    core::v1::Secret,
    core::v1::ConfigMap,
    core::v1::ServiceAccount,
    core::v1::Endpoints,
    core::v1::Event,
    core::v1::Node,
    core::v1::PersistentVolumeClaim,
    core::v1::ResourceQuota,
    core::v1::LimitRange,
    apps::v1::Deployment,
    apps::v1::ReplicaSet,
    apps::v1::StatefulSet,
    apps::v1::DaemonSet,
    batch::v1::Job,
    batch::v1::CronJob,
    autoscaling::v2::HorizontalPodAutoscaler,
    policy::v1::PodDisruptionBudget,
    networking::v1::NetworkPolicy,
    networking::v1::Ingress,
    networking::v1::IngressClass,
    rbac::v1::Role,
    rbac::v1::RoleBinding,
    rbac::v1::ClusterRole,
    rbac::v1::ClusterRoleBinding,
    k8s_openapi::api::discovery::v1::EndpointSlice,
    k8s_openapi::api::events::v1::Event,
    storage::v1::StorageClass,
    storage::v1::CSIDriver,
    CustomResourceDefinition,
);

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The API objects of one file: each document, the items of a `List`, and the objects a
/// scenario's steps apply.
fn objects(text: &str) -> Vec<(String, Value)> {
    let docs = serde_saphyr::from_multiple::<Value>(text).expect("assets parse as YAML");
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let place = format!("document {}", i + 1);
        if let Some(steps) = doc.get("steps").and_then(Value::as_array) {
            for (s, step) in steps.iter().enumerate() {
                if let Some(object) = step.get("apply") {
                    out.push((format!("{place}, steps[{s}].apply"), stamped(object)));
                }
            }
        } else if let Some(items) = doc.get("items").and_then(Value::as_array) {
            for (n, item) in items.iter().enumerate() {
                out.push((format!("{place}, items[{n}]"), item.clone()));
            }
        } else if !doc.is_null() {
            out.push((place, doc));
        }
    }
    out
}

/// `value` with the scenario's `$(now)` written as a time, as the simulator stamps it
/// when the step plays.
fn stamped(value: &Value) -> Value {
    match value {
        Value::String(s) if s == "$(now)" => Value::String("2026-11-25T03:00:00Z".into()),
        Value::Array(items) => Value::Array(items.iter().map(stamped).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), stamped(v))).collect())
        }
        other => other.clone(),
    }
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

#[test]
fn every_built_in_kind_in_assets_is_accepted_by_a_strict_client() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (place, object) in objects(&text) {
            let (Some(api_version), Some(kind)) = (
                object.get("apiVersion").and_then(Value::as_str),
                object.get("kind").and_then(Value::as_str),
            ) else {
                continue; // a plan, or a scenario's header
            };
            if !BUILT_IN_GROUPS.contains(&group_of(api_version)) {
                continue; // a custom resource: its CRD's schema, not k8s-openapi, says what it needs
            }
            let name = object["metadata"]["name"].as_str().unwrap_or("?");
            let at = format!(
                "{} ({place}, {kind} {name})",
                file.strip_prefix(&root).unwrap_or(file).display()
            );
            match check(api_version, kind, &object) {
                Some(Ok(())) => checked += 1,
                Some(Err(e)) => problems.push(format!("{at}: {e}")),
                None => problems.push(format!(
                    "{at}: no k8s-openapi type listed for {api_version} {kind}: add it to built_in_kinds!"
                )),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} objects are not what a strict client accepts:\n{}",
        problems.len(),
        checked + problems.len(),
        problems.join("\n")
    );
    assert!(
        checked > 50,
        "only {checked} objects checked: are the assets where they were?"
    );
}

#[test]
fn a_pod_without_image_id_is_refused_by_the_strict_check() {
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"containerStatuses": [{"name": "c", "image": "i", "ready": true, "restartCount": 0}]}
    });
    let e = check("v1", "Pod", &pod).unwrap().unwrap_err();
    assert!(e.contains("status.containerStatuses[0].imageID"), "{e}");
}

/// The demo cluster as a client reads it: from the simulator, after the whole story has
/// played (its patches and applied objects included). List items come without
/// `apiVersion` and `kind`, as from a real API server; a client fills them in from the list.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_cluster_as_served_after_its_story_is_accepted_by_a_strict_client() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let demo = golive::demo::start_at_speed("gravl", 60).await.unwrap();
    // The story is about three minutes; at 60x it is over in three seconds.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let target = golive::cluster::Target {
        kubeconfig: Some(demo.kubeconfig.clone()),
        context: None,
    };
    let client = golive::cluster::connect(&target).await.unwrap().client;
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, api_version, kind) in [
        ("/api/v1/pods", "v1", "Pod"),
        ("/api/v1/namespaces", "v1", "Namespace"),
        ("/api/v1/services", "v1", "Service"),
        ("/api/v1/secrets", "v1", "Secret"),
        ("/api/v1/events", "v1", "Event"),
        ("/apis/apps/v1/deployments", "apps/v1", "Deployment"),
        ("/apis/apps/v1/replicasets", "apps/v1", "ReplicaSet"),
        (
            "/apis/networking.k8s.io/v1/networkpolicies",
            "networking.k8s.io/v1",
            "NetworkPolicy",
        ),
        ("/apis/events.k8s.io/v1/events", "events.k8s.io/v1", "Event"),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
        ),
    ] {
        let request = http::Request::get(path).body(Vec::new()).unwrap();
        let text = client.request_text(request).await.unwrap();
        let list: Value = serde_json::from_str(&text).unwrap();
        for mut item in list["items"].as_array().cloned().unwrap_or_default() {
            item["apiVersion"] = api_version.into();
            item["kind"] = kind.into();
            let name = item["metadata"]["name"].as_str().unwrap_or("?").to_string();
            match check(api_version, kind, &item) {
                Some(Ok(())) => checked += 1,
                Some(Err(e)) => problems.push(format!("{path} {name}: {e}")),
                None => problems.push(format!("{path}: no type listed for {kind}")),
            }
        }
    }
    demo.shutdown().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 40, "only {checked} objects served");
}
