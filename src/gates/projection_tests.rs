//! The projection keeps every field a check reads: each plan's gates, evaluated on
//! objects as a real cluster sends them (fattened with managedFields, last-applied,
//! environment, volumes and a sidecar) and on the same objects cut down as the watchers
//! cut them, give the same verdicts and evidence, byte for byte.

use super::*;
use crate::cluster::{ClusterEvent, Watch};
use serde_json::{Value, json};

/// `object` as the API server would send it: the bulk nothing reads added.
pub(super) fn fatten(object: &Value) -> Value {
    let mut o = object.clone();
    let manager = |name: &str| {
        json!({"manager": name, "operation": "Update", "apiVersion": "v1",
               "time": "2026-11-24T06:00:00Z", "fieldsType": "FieldsV1",
               "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}}}})
    };
    o["metadata"]["managedFields"] =
        json!([manager("kube-controller-manager"), manager("kubelet")]);
    o["metadata"]["annotations"][crate::cluster::projection::LAST_APPLIED] =
        Value::String(serde_json::to_string(object).unwrap_or_default());
    if o["kind"] == "Pod" {
        let env: Vec<Value> = (0..25)
            .map(|i| json!({"name": format!("SETTING_{i}"), "value": "x".repeat(40)}))
            .collect();
        if let Some(containers) = o["spec"]["containers"].as_array_mut() {
            for c in containers.iter_mut() {
                c["env"] = json!(env);
                c["volumeMounts"] = json!([{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]);
                c["livenessProbe"] =
                    json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10});
            }
            containers.push(
                json!({"name": "istio-proxy", "image": "istio/proxyv2:1.24.0",
                "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                "env": env, "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}),
            );
        }
        o["spec"]["volumes"] = json!([{"name": "kube-api-access", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}]);
        o["spec"]["tolerations"] = json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]);
        if let Some(statuses) = o["status"]["containerStatuses"].as_array_mut() {
            statuses.push(
                json!({"name": "istio-proxy", "ready": true, "restartCount": 0,
                "image": "istio/proxyv2:1.24.0", "started": true,
                "state": {"running": {"startedAt": "2026-11-24T06:00:00Z"}}}),
            );
        }
    }
    o
}

/// A view with every watch of `plan` synced from `objects`, each object fattened and,
/// when `project`, cut down by the watch's projection as the watcher cuts it.
pub(super) fn fat_view(
    plan: &Plan,
    objects: &[Value],
    now: Timestamp,
    project: bool,
) -> ClusterView {
    let watches: Vec<Watch> = plan_watch_specs(plan);
    let mut view = ClusterView::for_watches("test", "http://test", &watches);
    for w in watches {
        let key = &w.key;
        let matching: Vec<Value> = objects
            .iter()
            .filter(|o| {
                o["kind"].as_str() == Some(key.resource.kind)
                    && o["apiVersion"].as_str() == Some(key.resource.api_version().as_str())
                    && key
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            })
            .map(|o| {
                let mut fat = fatten(o);
                if project {
                    w.projection.apply(&mut fat);
                }
                fat
            })
            .collect();
        view.apply(
            ClusterEvent::Synced {
                key: key.clone(),
                objects: matching,
            },
            now,
        );
    }
    view
}

/// Every gate of `plan` on whole and on projected objects, as JSON.
pub(super) fn both_ways(plan: &Plan, objects: &[Value], ctx: &Context) -> (Value, Value) {
    let eval = |project| {
        let view = fat_view(plan, objects, ctx.now, project);
        let verdicts: Vec<GateVerdict> = plan
            .gates
            .iter()
            .map(|g| evaluate_gate(g, &view, ctx))
            .collect();
        serde_json::to_value(verdicts).unwrap_or_default()
    };
    (eval(false), eval(true))
}

#[test]
fn the_projection_cuts_a_real_sized_pod_to_what_the_checks_read() {
    let plan = crate::plan::load_with_env("gravl", |_| None).expect("gravl");
    let watches = plan_watch_specs(&plan.plan);
    let pods = watches
        .iter()
        .find(|w| w.key.resource == crate::cluster::PODS)
        .expect("gravl watches pods");
    assert!(!pods.projection.is_whole());
    let objects: Vec<Value> =
        serde_saphyr::from_multiple(include_str!("../../assets/demo/gravl/cluster.yaml"))
            .expect("demo");
    let pod = objects.iter().find(|o| o["kind"] == "Pod").expect("a pod");
    let fat = fatten(pod);
    let slim = pods.projection.project(&fat);
    let size = |v: &Value| serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
    assert!(size(&fat) > 6_000, "a real-sized pod: {}", size(&fat));
    assert!(
        size(&slim) * 5 < size(&fat),
        "projected {} of {} bytes",
        size(&slim),
        size(&fat)
    );
    for gone in ["managedFields", "annotations"] {
        assert!(slim["metadata"].get(gone).is_none(), "{gone} kept");
    }
    assert!(slim["spec"]["containers"][0].get("env").is_none());
    assert!(slim["spec"].get("volumes").is_none());
    assert_eq!(slim["status"]["podIP"], fat["status"]["podIP"]);
    assert_eq!(slim["metadata"]["labels"], fat["metadata"]["labels"]);
}

#[test]
fn a_projection_that_drops_a_read_field_is_caught() {
    // The comparison can fail: cut container statuses from pods and the staging-pods gate
    // reads something else.
    let plan = crate::plan::load_with_env("gravl", |_| None).expect("gravl");
    let objects: Vec<Value> =
        serde_saphyr::from_multiple(include_str!("../../assets/demo/gravl/cluster.yaml"))
            .expect("demo");
    let now: Timestamp = "2026-11-25T12:00:00Z".parse().expect("time");
    let ctx = Context {
        now,
        load: None,
        probes: Default::default(),
        moments: Default::default(),
        metrics: None,
        dns: Default::default(),
    };
    let whole = fat_view(&plan.plan, &objects, now, false);
    let mut cut = fat_view(&plan.plan, &objects, now, true);
    let narrow = crate::cluster::Projection::of(["status.phase"]);
    let key = crate::cluster::WatchKey::namespaced(crate::cluster::PODS, "gravl-staging");
    let pods: Vec<Value> = cut
        .objects(&crate::cluster::PODS, Some("gravl-staging"))
        .map(|p| narrow.project(p))
        .collect();
    cut.apply(ClusterEvent::Synced { key, objects: pods }, now);
    let gate = plan
        .plan
        .gates
        .iter()
        .find(|g| g.id.value == "staging-pods")
        .expect("gate");
    let a = serde_json::to_value(evaluate_gate(gate, &whole, &ctx)).unwrap_or_default();
    let b = serde_json::to_value(evaluate_gate(gate, &cut, &ctx)).unwrap_or_default();
    assert_ne!(a, b);
}
