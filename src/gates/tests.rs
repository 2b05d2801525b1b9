//! Every check kind in every verdict, on views built from the Gravl demo cluster.

use super::*;
use crate::cluster::{ClusterEvent, WatchError, WatchErrorKind};
use crate::plan::{self, LoadedPlan};
use serde_json::{Value, json};

const CLUSTER: &str = include_str!("../../assets/demo/gravl/cluster.yaml");

fn gravl() -> LoadedPlan {
    plan::load_with_env("gravl", |_| None).expect("the built-in gravl plan is valid")
}

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("valid timestamp")
}

fn objects() -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(CLUSTER).expect("the demo cluster parses")
}

/// A view holding `objects`, every watch of the plan synced.
fn view_of(plan: &LoadedPlan, objects: &[Value]) -> ClusterView {
    let keys = plan_watches(&plan.plan);
    let mut view = ClusterView::new("test", "http://test", keys.clone());
    for key in keys {
        let matching: Vec<Value> = objects
            .iter()
            .filter(|o| {
                o["kind"].as_str() == Some(key.resource.kind)
                    && key
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            })
            .cloned()
            .collect();
        view.apply(
            ClusterEvent::Synced {
                key,
                objects: matching,
            },
            now(),
        );
    }
    view
}

fn gate(plan: &LoadedPlan, view: &ClusterView, id: &str) -> GateVerdict {
    let g = plan
        .plan
        .gates
        .iter()
        .find(|g| g.id.value == id)
        .unwrap_or_else(|| panic!("gate {id} exists"));
    evaluate_gate(
        g,
        view,
        &Context {
            now: now(),
            load: None,
            probes: Default::default(),
            moments: Default::default(),
            metrics: None,
            dns: Default::default(),
        },
    )
}

fn edit(objects: &mut [Value], kind: &str, name: &str, f: impl Fn(&mut Value)) {
    let o = objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the fixture"));
    f(o);
}

fn evidence_text(g: &GateVerdict) -> String {
    g.checks
        .iter()
        .flat_map(|c| {
            c.evidence
                .iter()
                .map(|e| format!("{}: {}", e.object, e.detail))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn report_cluster_passes_controllers_and_fails_the_false_issuer() {
    let plan = gravl();
    let view = view_of(&plan, &objects());
    assert_eq!(gate(&plan, &view, "cert-manager").status, Status::Pass);
    assert_eq!(gate(&plan, &view, "staging-pods").status, Status::Pass);
    assert_eq!(gate(&plan, &view, "certificates").status, Status::Pass);
    let issuers = gate(&plan, &view, "cluster-issuers");
    assert_eq!(issuers.status, Status::Fail);
    assert_eq!(issuers.summary, "internal-ca-issuer False");
    assert!(
        evidence_text(&issuers).contains("ErrGetKeyPair"),
        "{}",
        evidence_text(&issuers)
    );
}

#[test]
fn healthy_issuers_pass() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "ClusterIssuer", "internal-ca-issuer", |o| {
        o["status"]["conditions"][0]["status"] = json!("True");
    });
    let view = view_of(&plan, &objs);
    let g = gate(&plan, &view, "cluster-issuers");
    assert_eq!(g.status, Status::Pass);
    assert_eq!(g.summary, "4/4 Ready");
}

#[test]
fn issuer_without_condition_or_with_old_generation_is_unknown() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "ClusterIssuer", "internal-ca-issuer", |o| {
        o["status"] = json!({});
    });
    let g = gate(&plan, &view_of(&plan, &objs), "cluster-issuers");
    assert_eq!(g.status, Status::Unknown);
    let mut objs = objects();
    edit(&mut objs, "ClusterIssuer", "internal-ca-issuer", |o| {
        o["status"]["conditions"][0]["status"] = json!("True");
    });
    edit(&mut objs, "ClusterIssuer", "letsencrypt-prod", |o| {
        o["metadata"]["generation"] = json!(2);
    });
    let g = gate(&plan, &view_of(&plan, &objs), "cluster-issuers");
    assert_eq!(g.status, Status::Unknown);
    assert!(evidence_text(&g).contains("generation 1, object is at 2"));
}

#[test]
fn webhook_down_fails_cert_manager_with_the_condition() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "Deployment", "cert-manager-webhook", |o| {
        o["status"]["availableReplicas"] = json!(0);
        o["status"]["conditions"][0]["status"] = json!("False");
    });
    let g = gate(&plan, &view_of(&plan, &objs), "cert-manager");
    assert_eq!(g.status, Status::Fail);
    assert!(
        g.summary.contains("cert-manager-webhook 0/1 available"),
        "{}",
        g.summary
    );
    assert!(g.summary.contains("Available=False"), "{}", g.summary);
}

#[test]
fn missing_deployment_fails_and_lists_what_is_there() {
    let plan = gravl();
    let objs: Vec<Value> = objects()
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "cert-manager-cainjector")
        .collect();
    let g = gate(&plan, &view_of(&plan, &objs), "cert-manager");
    assert_eq!(g.status, Status::Fail);
    assert!(
        g.summary
            .contains("not found in cert-manager: cert-manager-cainjector")
    );
}

#[test]
fn crash_looping_pod_fails_staging_pods_with_reason_and_restarts() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "Pod", "backend-7c9d8f6b5-2xkqp", |o| {
        o["status"]["conditions"][3]["status"] = json!("False");
        o["status"]["containerStatuses"][0]["restartCount"] = json!(7);
        o["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}});
    });
    let g = gate(&plan, &view_of(&plan, &objs), "staging-pods");
    assert_eq!(g.status, Status::Fail);
    assert!(
        g.summary
            .contains("backend-7c9d8f6b5-2xkqp backend CrashLoopBackOff"),
        "{}",
        g.summary
    );
    assert!(evidence_text(&g).contains("7 restarts"));
}

#[test]
fn ready_pod_with_many_restarts_warns() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "Pod", "postgres-6f9b7c5d8-w7q2x", |o| {
        o["status"]["containerStatuses"][0]["restartCount"] = json!(12);
    });
    let g = gate(&plan, &view_of(&plan, &objs), "staging-pods");
    assert_eq!(g.status, Status::Warn);
}

#[test]
fn pending_pod_shows_the_scheduler_reason_and_finished_job_pods_are_ignored() {
    let plan = gravl();
    let mut objs = objects();
    objs.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "migrate-x1", "namespace": "gravl-staging",
        "ownerReferences": [{"kind": "Job", "name": "migrate", "apiVersion": "batch/v1", "uid": "1"}]},
        "status": {"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]}}));
    assert_eq!(
        gate(&plan, &view_of(&plan, &objs), "staging-pods").status,
        Status::Pass
    );
    objs.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "backend-new", "namespace": "gravl-staging"},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient cpu."}]}}));
    let g = gate(&plan, &view_of(&plan, &objs), "staging-pods");
    assert_eq!(g.status, Status::Fail);
    assert!(g.summary.contains("Insufficient cpu"), "{}", g.summary);
}

#[test]
fn namespace_without_pods_is_unknown_not_pass() {
    let plan = gravl();
    let objs: Vec<Value> = objects()
        .into_iter()
        .filter(|o| !(o["kind"] == "Pod" && o["metadata"]["namespace"] == "gravl-staging"))
        .collect();
    let g = gate(&plan, &view_of(&plan, &objs), "staging-pods");
    let pods = g
        .checks
        .iter()
        .find(|c| c.kind == "pods_ready")
        .expect("pods check");
    assert_eq!(pods.status, Status::Unknown);
}

#[test]
fn sealing_key_with_the_report_label_fails_and_names_the_label() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "Secret", "sealed-secrets-keyx7k2q", |o| {
        o["metadata"]["labels"] = json!({"sealedsecrets.bitnami.com/status": "active"});
    });
    let g = gate(&plan, &view_of(&plan, &objs), "sealed-secrets");
    assert_eq!(g.status, Status::Fail);
    let text = evidence_text(&g);
    assert!(
        text.contains("sealedsecrets.bitnami.com/status=active"),
        "{text}"
    );
    assert!(
        g.summary
            .contains("sealedsecrets.bitnami.com/sealed-secrets-key=active"),
        "{}",
        g.summary
    );
}

#[test]
fn old_sealing_key_warns_and_fresh_one_passes() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "Secret", "sealed-secrets-keyx7k2q", |o| {
        o["metadata"]["creationTimestamp"] = json!("2026-09-01T00:00:00Z");
    });
    let g = gate(&plan, &view_of(&plan, &objs), "sealed-secrets");
    assert_eq!(g.status, Status::Warn);
    assert!(
        g.summary.contains("past the 30d renewal period"),
        "{}",
        g.summary
    );
    edit(&mut objs, "Secret", "sealed-secrets-keyx7k2q", |o| {
        o["metadata"]["creationTimestamp"] = json!("2026-11-24T03:00:00Z");
    });
    let g = gate(&plan, &view_of(&plan, &objs), "sealed-secrets");
    assert_eq!(g.status, Status::Pass, "{}", g.summary);
    assert!(
        g.summary.contains("1 active key, newest 33h old"),
        "{}",
        g.summary
    );
}

#[test]
fn helm_named_sealed_secrets_controller_counts() {
    let plan = gravl();
    let mut objs = objects();
    edit(&mut objs, "Deployment", "sealed-secrets-controller", |o| {
        o["metadata"]["name"] = json!("sealed-secrets");
        o["metadata"]["labels"] = json!({});
    });
    let g = gate(&plan, &view_of(&plan, &objs), "sealed-secrets");
    assert_eq!(g.checks[0].status, Status::Pass, "{}", g.checks[0].summary);
    let objs: Vec<Value> = objects()
        .into_iter()
        .filter(|o| {
            !(o["kind"] == "Deployment" && o["metadata"]["name"] == "sealed-secrets-controller")
        })
        .collect();
    let g = gate(&plan, &view_of(&plan, &objs), "sealed-secrets");
    assert_eq!(g.checks[0].status, Status::Fail);
}

#[test]
fn certificate_expiry_warns_then_fails_and_expired_fails() {
    let plan = gravl();
    for (not_after, status) in [
        ("2026-12-10T12:00:00Z", Status::Warn),
        ("2026-11-28T12:00:00Z", Status::Fail),
        ("2026-11-20T12:00:00Z", Status::Fail),
        ("2027-06-01T00:00:00Z", Status::Pass),
    ] {
        let mut objs = objects();
        edit(&mut objs, "Certificate", "gravl-staging-tls", |o| {
            o["status"]["notAfter"] = json!(not_after);
        });
        let g = gate(&plan, &view_of(&plan, &objs), "certificates");
        assert_eq!(g.status, status, "notAfter {not_after}: {}", g.summary);
    }
}

#[test]
fn forbidden_secrets_make_the_key_unknown_and_cluster_access_fail() {
    let plan = gravl();
    let mut view = view_of(&plan, &objects());
    let key = WatchKey::namespaced(crate::cluster::SECRETS, "kube-system");
    view.apply(
        ClusterEvent::Failed {
            key,
            error: WatchError {
                kind: WatchErrorKind::Forbidden,
                message: "forbidden: golive needs list and watch on secrets in kube-system".into(),
            },
        },
        now(),
    );
    let g = gate(&plan, &view, "sealed-secrets");
    assert_eq!(g.status, Status::Unknown);
    assert!(
        g.summary
            .contains("forbidden to read secrets in kube-system"),
        "{}",
        g.summary
    );
    let access = gate(&plan, &view, "cluster-access");
    assert_eq!(access.status, Status::Fail);
    assert!(
        access.summary.contains("secrets in kube-system"),
        "{}",
        access.summary
    );
}

#[test]
fn a_failed_watch_turns_a_passing_gate_stale_not_pass() {
    let plan = gravl();
    let mut view = view_of(&plan, &objects());
    view.apply(
        ClusterEvent::Failed {
            key: WatchKey::namespaced(crate::cluster::DEPLOYMENTS, "cert-manager"),
            error: WatchError {
                kind: WatchErrorKind::Unreachable,
                message: "connection refused".into(),
            },
        },
        now(),
    );
    let g = gate(&plan, &view, "cert-manager");
    assert_eq!(g.status, Status::Unknown);
    assert!(g.summary.starts_with("stale"), "{}", g.summary);
}

#[test]
fn nothing_listed_yet_is_unknown_everywhere() {
    let plan = gravl();
    let view = ClusterView::new("test", "http://test", plan_watches(&plan.plan));
    for g in &plan.plan.gates {
        let v = evaluate_gate(
            g,
            &view,
            &Context {
                now: now(),
                load: None,
                probes: Default::default(),
                moments: Default::default(),
                metrics: None,
                dns: Default::default(),
            },
        );
        assert_eq!(v.status, Status::Unknown, "{}: {}", v.id, v.summary);
    }
}

#[test]
fn missing_crd_fails_issuers() {
    let plan = gravl();
    let mut view = view_of(&plan, &objects());
    view.apply(
        ClusterEvent::Failed {
            key: WatchKey::cluster(crate::cluster::CLUSTER_ISSUERS),
            error: WatchError {
                kind: WatchErrorKind::NotServed,
                message: "not served".into(),
            },
        },
        now(),
    );
    assert_eq!(gate(&plan, &view, "cluster-issuers").status, Status::Fail);
}

#[test]
fn load_gate_is_unknown_without_a_result_and_follows_thresholds() {
    let plan = gravl();
    let view = view_of(&plan, &objects());
    let g = plan
        .plan
        .gates
        .iter()
        .find(|g| g.id.value == "load-test")
        .expect("load gate");
    assert_eq!(
        evaluate_gate(
            g,
            &view,
            &Context {
                now: now(),
                load: None,
                probes: Default::default(),
                moments: Default::default(),
                metrics: None,
                dns: Default::default(),
            }
        )
        .status,
        Status::Unknown
    );
    let threshold = |ok| ThresholdEvidence {
        metric: "http_reqs".into(),
        expr: "rate>100".into(),
        ok,
        measured: "19.8/s".into(),
    };
    let load = |ok| LoadEvidence {
        finished_at: Some(now()),
        running: false,
        thresholds: vec![threshold(ok)],
        requests: 600,
    };
    let v = evaluate_gate(
        g,
        &view,
        &Context {
            now: now(),
            load: Some(load(false)),
            probes: Default::default(),
            moments: Default::default(),
            metrics: None,
            dns: Default::default(),
        },
    );
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary.contains("http_reqs rate>100 (measured 19.8/s)"),
        "{}",
        v.summary
    );
    let v = evaluate_gate(
        g,
        &view,
        &Context {
            now: now(),
            load: Some(load(true)),
            probes: Default::default(),
            moments: Default::default(),
            metrics: None,
            dns: Default::default(),
        },
    );
    assert_eq!(v.status, Status::Pass);
}

#[test]
fn overall_verdict_names_the_failing_gates() {
    let plan = gravl();
    let view = view_of(&plan, &objects());
    let verdicts: Vec<GateVerdict> = plan
        .plan
        .gates
        .iter()
        .map(|g| {
            evaluate_gate(
                g,
                &view,
                &Context {
                    now: now(),
                    load: None,
                    probes: Default::default(),
                    moments: Default::default(),
                    metrics: None,
                    dns: Default::default(),
                },
            )
        })
        .collect();
    let (verdict, reason) = overall(&verdicts);
    assert_eq!(verdict, Verdict::NoGo);
    assert!(reason.contains("cluster-issuers"), "{reason}");
}

#[test]
fn every_gravl_verdict_is_the_same_on_projected_objects() {
    // Controllers, issuers, certificates, sealing keys, NetworkPolicies and pods: the
    // report's cluster, a fixed one, and pods broken every way pods_ready tells apart.
    let plan = gravl();
    let ctx = Context {
        now: now(),
        load: None,
        probes: Default::default(),
        moments: Default::default(),
        metrics: None,
        dns: Default::default(),
    };
    let report = objects();
    let mut crashing = objects();
    let mut pending = objects();
    let mut finished = objects();
    let staging =
        |o: &&mut Value| o["kind"] == "Pod" && o["metadata"]["namespace"] == "gravl-staging";
    for o in crashing.iter_mut().filter(staging).take(2) {
        o["status"]["containerStatuses"][0]["ready"] = json!(false);
        o["status"]["containerStatuses"][0]["restartCount"] = json!(7);
        o["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}});
        o["status"]["conditions"] =
            json!([{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]);
    }
    let mut restarting = objects();
    for o in restarting.iter_mut().filter(staging).take(1) {
        o["status"]["containerStatuses"][0]["restartCount"] = json!(12);
    }
    for o in pending.iter_mut().filter(staging).take(1) {
        o["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]});
    }
    for o in finished.iter_mut().filter(staging).take(1) {
        o["status"]["phase"] = json!("Succeeded");
        o["metadata"]["deletionTimestamp"] = json!("2026-11-25T11:00:00Z");
    }
    for (case, objs) in [
        ("report", report),
        ("crashing", crashing),
        ("restarting", restarting),
        ("pending", pending),
        ("finished", finished),
    ] {
        let (whole, projected) = super::projection_tests::both_ways(&plan.plan, &objs, &ctx);
        assert_eq!(
            whole, projected,
            "{case}: verdicts differ on projected objects"
        );
    }
}
