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
    test_views::synced(&plan_watches(&plan.plan), objects, now())
}

fn gate(plan: &LoadedPlan, view: &ClusterView, id: &str) -> GateVerdict {
    let g = plan
        .plan
        .gates
        .iter()
        .find(|g| g.id.value == id)
        .unwrap_or_else(|| panic!("gate {id} exists"));
    evaluate_gate(g, view, &Context::new(now()))
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
        let v = evaluate_gate(g, &view, &Context::new(now()));
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
        evaluate_gate(g, &view, &Context::new(now())).status,
        Status::Unknown
    );
    let threshold = |ok| ThresholdEvidence {
        metric: "http_reqs".into(),
        expr: "rate>100".into(),
        ok,
        measured: "19.8/s".into(),
        ..Default::default()
    };
    let load = |ok| LoadEvidence {
        source: None,
        finished_at: Some(now()),
        running: false,
        thresholds: vec![threshold(ok)],
        requests: 600,
    };
    let v = evaluate_gate(g, &view, &Context::new(now()).with_load(Some(load(false))));
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary.contains("http_reqs rate>100 (measured 19.8/s)"),
        "{}",
        v.summary
    );
    let v = evaluate_gate(g, &view, &Context::new(now()).with_load(Some(load(true))));
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
        .map(|g| evaluate_gate(g, &view, &Context::new(now())))
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
    let ctx = Context::new(now());
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

/// The cockpit re-judges only gates whose inputs changed; after every kind of change the
/// verdicts are exactly those of judging every gate afresh, and unrelated gates are not
/// evaluated again.
#[test]
fn incremental_judging_gives_the_verdicts_of_a_full_pass() {
    use crate::cluster::{PODS, Stored, WatchKey};
    use incremental::{Epochs, Judgements};
    let plan = gravl();
    let mut objects = objects();
    let mut view = view_of(&plan, &objects);
    let gates = &plan.plan.gates;
    let every = jiff::SignedDuration::from_secs(5);
    let mut judgements = Judgements::default();
    let mut epochs = Epochs::default();
    let full = |view: &ClusterView, ctx: &Context| -> Value {
        serde_json::to_value(
            gates
                .iter()
                .map(|g| evaluate_gate(g, view, ctx))
                .collect::<Vec<_>>(),
        )
        .expect("verdicts serialize")
    };
    let mut at = now();
    let mut check = |view: &ClusterView, at: Timestamp, epochs: Epochs, what: &str| -> usize {
        let ctx = Context::new(at);
        let got = judgements.judge(gates, view, &ctx, epochs, every);
        assert_eq!(
            serde_json::to_value(&got).expect("verdicts serialize"),
            full(view, &ctx),
            "after {what}"
        );
        judgements.evaluated
    };
    assert_eq!(check(&view, at, epochs, "the first pass"), gates.len());
    assert_eq!(check(&view, at, epochs, "nothing"), 0, "nothing changed");

    // A pod crashes: the gates that read pods are judged again, not the others.
    edit(&mut objects, "Pod", "backend-7c9d8f6b5-2xkqp", |p| {
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        p["status"]["containerStatuses"][0]["restartCount"] = json!(7);
    });
    let pod = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "backend-7c9d8f6b5-2xkqp")
        .expect("the pod");
    view.apply(
        ClusterEvent::Applied {
            key: WatchKey::namespaced(PODS, "gravl-staging"),
            object: Stored::new(pod),
        },
        at,
    );
    let n = check(&view, at, epochs, "a pod change");
    assert!(
        n > 0 && n < gates.len(),
        "{n} of {} judged again",
        gates.len()
    );

    // A watch fails: the gates reading that resource turn stale, as a full pass says.
    let cert_keys: Vec<_> = view
        .keys()
        .map(|(k, _)| k.clone())
        .filter(|k| k.resource.kind == "Certificate")
        .collect();
    for key in cert_keys {
        view.apply(
            ClusterEvent::Failed {
                key,
                error: WatchError {
                    kind: WatchErrorKind::Unreachable,
                    message: "connection refused".into(),
                },
            },
            at,
        );
    }
    check(&view, at, epochs, "a failed watch");

    // Time passes: only the gates that read the clock are judged again.
    at += jiff::SignedDuration::from_secs(1);
    assert_eq!(check(&view, at, epochs, "a second"), 0);
    at += jiff::SignedDuration::from_hours(24 * 80);
    let n = check(&view, at, epochs, "eighty days");
    assert!(
        n > 0 && n < gates.len(),
        "{n} of {} judged again",
        gates.len()
    );

    // Another part of the context changes: the gates that read it are judged again.
    epochs.load += 1;
    epochs.probes += 1;
    check(&view, at, epochs, "new load and probe evidence");
}

/// A namespace with many pods: every problem pod is listed, healthy ones up to a bound
/// and then counted, and the summary names a few and counts the rest.
#[test]
fn pods_ready_lists_every_problem_and_counts_healthy_pods_beyond_a_bound() {
    let plan = gravl();
    let mut objects = objects();
    let template = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "frontend-6d8c7b9f4-p5t7r")
        .expect("a pod")
        .clone();
    for i in 0..40 {
        let mut p = template.clone();
        p["metadata"]["name"] = json!(format!("extra-{i:02}"));
        if i % 5 == 0 {
            p["status"]["containerStatuses"][0]["ready"] = json!(false);
            p["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
        }
        objects.push(p);
    }
    let view = view_of(&plan, &objects);
    let v = gate(&plan, &view, "staging-pods");
    let pods = v
        .checks
        .iter()
        .find(|c| c.kind == "pods_ready")
        .expect("pods_ready");
    assert_eq!(pods.status, Status::Fail);
    let not_ready = pods
        .evidence
        .iter()
        .filter(|e| e.detail.starts_with("not Ready"))
        .count();
    assert_eq!(not_ready, 8, "every problem pod is listed");
    let healthy_listed = pods
        .evidence
        .iter()
        .filter(|e| e.detail.starts_with("Ready, "))
        .count();
    assert_eq!(healthy_listed, super::workloads::HEALTHY_LISTED);
    let counted = pods.evidence.last().expect("evidence");
    assert_eq!(
        counted.detail, "and 16 more Ready, restarts within 5",
        "{counted:?}"
    );
    assert!(
        pods.summary.starts_with("8/44 pods not Ready: "),
        "{}",
        pods.summary
    );
    assert!(pods.summary.ends_with("(+3 more)"), "{}", pods.summary);
}
