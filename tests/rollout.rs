//! The `rollout` gate on every rollout state of each workload kind, over the real kube
//! client and watchers against the simulator, and `kubectl rollout status --watch=false`
//! against the same objects: wherever kubectl has a word for the state, golive agrees
//! (done ↔ pass, waiting ↔ unknown, error ↔ fail); where golive knows more than kubectl
//! (a crash-looping new pod, a paused Deployment, OnDelete), the case says why.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::gates::Status;
use golive_sim::{Sim, SimConfig};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use support::*;

/// What kubectl says of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kubectl {
    Done,
    Waiting,
    Error,
}

struct Case {
    ns: &'static str,
    /// `deployment/web`, as kubectl takes it.
    target: &'static str,
    objects: Vec<Value>,
    /// A spec change after creation, so `generation` runs ahead of `observedGeneration`.
    bump_spec: bool,
    expect: Status,
    kubectl: Kubectl,
    /// Why golive's verdict is not kubectl's, where it is not.
    differs: Option<&'static str>,
    /// Words the summary must hold.
    says: &'static str,
}

const CREATED: &str = "2026-11-25T11:58:48Z";

fn meta(ns: &str, name: &str, labels: Value, owner: Option<(&str, &str)>) -> Value {
    let mut m =
        json!({"name": name, "namespace": ns, "labels": labels, "creationTimestamp": CREATED});
    if let Some((kind, owner)) = owner {
        m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": owner,
            "uid": format!("uid-{owner}"), "controller": true}]);
    }
    m
}

fn template(labels: Value, image: &str) -> Value {
    json!({"metadata": {"labels": labels},
           "spec": {"containers": [{"name": "app", "image": image}]}})
}

/// A running, Ready pod, or one whose container is in `state` with `restarts`.
fn pod(ns: &str, name: &str, labels: Value, owner: (&str, &str), container: Value) -> Value {
    let ready = container["ready"].as_bool().unwrap_or(false);
    let ready_text = if ready { "True" } else { "False" };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta(ns, name, labels, Some(owner)),
        "spec": {"containers": [{"name": "app", "image": container["image"]}]},
        "status": {
            "phase": if ready { "Running" } else { "Pending" },
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": ready_text}],
            "containerStatuses": [container]
        }
    })
}

fn healthy(image: &str) -> Value {
    json!({"name": "app", "image": image, "imageID": format!("{image}@sha256:00"), "ready": true,
           "restartCount": 0, "started": true, "state": {"running": {"startedAt": CREATED}}})
}

fn waiting(image: &str, reason: &str, message: &str, restarts: i64) -> Value {
    json!({"name": "app", "image": image, "imageID": "", "ready": false, "restartCount": restarts,
           "started": false, "state": {"waiting": {"reason": reason, "message": message}}})
}

/// A Deployment `web` of 3 replicas rolling from revision 1 (web:1) to 2 (web:2); `status`
/// is its status, `new_pods` the pods of revision 2 and `old_pods` how many of revision 1
/// are left.
fn deployment(
    ns: &'static str,
    spec_extra: Value,
    status: Value,
    new_pods: Vec<Value>,
    old_pods: usize,
) -> Vec<Value> {
    let sel = json!({"app": "web"});
    let new_labels = json!({"app": "web", "pod-template-hash": "new2"});
    let old_labels = json!({"app": "web", "pod-template-hash": "old1"});
    let mut spec = json!({"replicas": 3, "selector": {"matchLabels": sel},
                          "template": template(sel.clone(), "web:2")});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        s.extend(extra.clone());
    }
    let mut d_meta = meta(ns, "web", sel.clone(), None);
    d_meta["annotations"] = json!({"deployment.kubernetes.io/revision": "2"});
    let rs = |name: &str, rev: &str, labels: &Value, image: &str, replicas: usize| {
        let mut m = meta(ns, name, labels.clone(), Some(("Deployment", "web")));
        m["annotations"] = json!({"deployment.kubernetes.io/revision": rev});
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": m,
               "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                        "template": template(labels.clone(), image)},
               "status": {"replicas": replicas, "observedGeneration": 1}})
    };
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": d_meta, "spec": spec,
               "status": status}),
        rs("web-new2", "2", &new_labels, "web:2", new_pods.len()),
        rs("web-old1", "1", &old_labels, "web:1", old_pods),
    ];
    out.extend(new_pods);
    for i in 0..old_pods {
        out.push(pod(
            ns,
            &format!("web-old1-{i}"),
            old_labels.clone(),
            ("ReplicaSet", "web-old1"),
            healthy("web:1"),
        ));
    }
    out
}

fn new_pod(ns: &str, i: usize, container: Value) -> Value {
    pod(
        ns,
        &format!("web-new2-{i}"),
        json!({"app": "web", "pod-template-hash": "new2"}),
        ("ReplicaSet", "web-new2"),
        container,
    )
}

fn dstatus(replicas: i64, updated: i64, ready: i64, available: i64) -> Value {
    json!({"observedGeneration": 1, "replicas": replicas, "updatedReplicas": updated,
           "readyReplicas": ready, "availableReplicas": available,
           "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": "ReplicaSet \"web-new2\" is progressing."}]})
}

/// A workload owning two ControllerRevisions (1: img:1, 2: img:2), for StatefulSets and
/// DaemonSets; pods carry the revision's name (StatefulSet) or hash (DaemonSet).
fn with_revisions(
    ns: &'static str,
    kind: &str,
    name: &str,
    workload: Value,
    pods: Vec<(usize, bool, Value)>,
) -> Vec<Value> {
    let labels = json!({"app": name});
    let revision = |n: i64| {
        let mut m = meta(
            ns,
            &format!("{name}-r{n}"),
            json!({"app": name, "controller-revision-hash": format!("r{n}")}),
            Some((kind, name)),
        );
        m["annotations"] = json!({});
        json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": m, "revision": n,
               "data": {"spec": {"template": template(labels.clone(), &format!("{name}:{n}"))}}})
    };
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        workload,
        revision(1),
        revision(2),
    ];
    for (i, new, container) in pods {
        let hash = match (kind, new) {
            ("StatefulSet", true) => format!("{name}-r2"),
            ("StatefulSet", false) => format!("{name}-r1"),
            (_, true) => "r2".into(),
            (_, false) => "r1".into(),
        };
        out.push(pod(
            ns,
            &format!("{name}-{i}"),
            json!({"app": name, "controller-revision-hash": hash}),
            (kind, name),
            container,
        ));
    }
    out
}

fn statefulset(
    ns: &'static str,
    strategy: Value,
    status: Value,
    pods: Vec<(usize, bool, Value)>,
) -> Vec<Value> {
    let labels = json!({"app": "db"});
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(ns, "db", labels.clone(), None),
        "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": labels},
                 "template": template(labels.clone(), "db:2"), "updateStrategy": strategy},
        "status": status});
    with_revisions(ns, "StatefulSet", "db", sts, pods)
}

fn sstatus(ready: i64, updated: i64, current: i64, update_rev: &str, current_rev: &str) -> Value {
    json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": ready, "availableReplicas": ready,
           "updatedReplicas": updated, "currentReplicas": current,
           "updateRevision": update_rev, "currentRevision": current_rev})
}

fn daemonset(ns: &'static str, status: Value, pods: Vec<(usize, bool, Value)>) -> Vec<Value> {
    let labels = json!({"app": "agent"});
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(ns, "agent", labels.clone(), None),
        "spec": {"selector": {"matchLabels": labels}, "template": template(labels.clone(), "agent:2"),
                 "updateStrategy": {"type": "RollingUpdate"}},
        "status": status});
    with_revisions(ns, "DaemonSet", "agent", ds, pods)
}

fn dsstatus(desired: i64, updated: i64, available: i64) -> Value {
    json!({"observedGeneration": 1, "desiredNumberScheduled": desired, "currentNumberScheduled": desired,
           "numberReady": available, "numberAvailable": available, "updatedNumberScheduled": updated,
           "numberMisscheduled": 0})
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |ns: &'static str,
                   target: &'static str,
                   objects: Vec<Value>,
                   expect: Status,
                   kubectl: Kubectl,
                   differs: Option<&'static str>,
                   says: &'static str| {
        cases.push(Case {
            ns,
            target,
            objects,
            bump_spec: false,
            expect,
            kubectl,
            differs,
            says,
        });
    };
    let healthy_new = |ns: &'static str, n: usize| {
        (0..n)
            .map(|i| new_pod(ns, i, healthy("web:2")))
            .collect::<Vec<_>>()
    };

    add(
        "d-complete",
        "deployment/web",
        deployment(
            "d-complete",
            json!({}),
            dstatus(3, 3, 3, 3),
            healthy_new("d-complete", 3),
            0,
        ),
        Status::Pass,
        Kubectl::Done,
        None,
        "1/1 rolled out: web rev 2",
    );
    add(
        "d-progressing",
        "deployment/web",
        deployment(
            "d-progressing",
            json!({}),
            dstatus(4, 1, 3, 3),
            healthy_new("d-progressing", 1),
            3,
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "web 1/3 updated, 3 available, rev 1 → 2",
    );
    add(
        "d-old-terminating",
        "deployment/web",
        deployment(
            "d-old-terminating",
            json!({}),
            dstatus(4, 3, 3, 3),
            healthy_new("d-old-terminating", 3),
            1,
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "web 3/3 updated",
    );
    add(
        "d-unavailable",
        "deployment/web",
        deployment(
            "d-unavailable",
            json!({}),
            dstatus(3, 3, 2, 2),
            {
                let mut p = healthy_new("d-unavailable", 2);
                p.push(new_pod(
                    "d-unavailable",
                    2,
                    json!({"name": "app", "image": "web:2", "imageID": "", "ready": false,
                "restartCount": 0, "started": true, "state": {"running": {"startedAt": CREATED}}}),
                ));
                p
            },
            0,
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "2 available",
    );
    let mut deadline = dstatus(4, 1, 3, 3);
    deadline["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet \"web-new2\" has timed out progressing."}]);
    add(
        "d-deadline",
        "deployment/web",
        deployment(
            "d-deadline",
            json!({"progressDeadlineSeconds": 600}),
            deadline,
            healthy_new("d-deadline", 1),
            3,
        ),
        Status::Fail,
        Kubectl::Error,
        None,
        "exceeded its progress deadline",
    );
    add(
        "d-paused",
        "deployment/web",
        deployment(
            "d-paused",
            json!({"paused": true}),
            dstatus(4, 1, 3, 3),
            healthy_new("d-paused", 1),
            3,
        ),
        Status::Warn,
        Kubectl::Waiting,
        Some("kubectl has no word for a paused Deployment and waits"),
        "paused at 1/3 updated",
    );
    add(
        "d-crashloop",
        "deployment/web",
        deployment(
            "d-crashloop",
            json!({}),
            dstatus(4, 1, 3, 3),
            vec![new_pod(
                "d-crashloop",
                0,
                waiting(
                    "web:2",
                    "CrashLoopBackOff",
                    "back-off 40s restarting failed container=app",
                    3,
                ),
            )],
            3,
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl waits through a CrashLoopBackOff until the deadline"),
        "new pod web-new2-0 container app CrashLoopBackOff",
    );
    add(
        "d-imagepull",
        "deployment/web",
        deployment(
            "d-imagepull",
            json!({}),
            dstatus(4, 1, 3, 3),
            vec![new_pod(
                "d-imagepull",
                0,
                waiting(
                    "web:2",
                    "ImagePullBackOff",
                    "Back-off pulling image \"web:2\"",
                    0,
                ),
            )],
            3,
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl waits through an image pull failure"),
        "ImagePullBackOff",
    );
    let mut unschedulable = new_pod(
        "d-unschedulable",
        0,
        waiting("web:2", "ContainerCreating", "", 0),
    );
    unschedulable["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient memory."}]);
    unschedulable["status"]["containerStatuses"] = json!([]);
    add(
        "d-unschedulable",
        "deployment/web",
        deployment(
            "d-unschedulable",
            json!({}),
            dstatus(4, 1, 3, 3),
            vec![unschedulable],
            3,
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl waits for an unschedulable pod"),
        "Unschedulable: 0/3 nodes are available",
    );
    let mut oom = healthy("web:2");
    oom["restartCount"] = json!(1);
    oom["lastState"] =
        json!({"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": CREATED}});
    add(
        "d-oomkilled",
        "deployment/web",
        deployment(
            "d-oomkilled",
            json!({}),
            dstatus(4, 1, 3, 3),
            vec![new_pod("d-oomkilled", 0, oom)],
            3,
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl does not look at pods"),
        "OOMKilled: exit code 137",
    );
    let mut restarted = healthy("web:2");
    restarted["restartCount"] = json!(2);
    restarted["lastState"] =
        json!({"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": CREATED}});
    add(
        "d-restarted",
        "deployment/web",
        deployment(
            "d-restarted",
            json!({}),
            dstatus(4, 1, 3, 3),
            vec![new_pod("d-restarted", 0, restarted)],
            3,
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl does not look at restarts"),
        "Restarted: 2 times, last Error exit code 1",
    );
    let mut old_broken = deployment(
        "d-old-broken",
        json!({}),
        dstatus(4, 1, 3, 3),
        healthy_new("d-old-broken", 1),
        3,
    );
    let last = old_broken.len() - 1;
    old_broken[last]["status"]["containerStatuses"] =
        json!([waiting("web:1", "CrashLoopBackOff", "back-off", 5)]);
    add(
        "d-old-broken",
        "deployment/web",
        old_broken,
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "web 1/3 updated",
    );

    add(
        "s-complete",
        "statefulset/db",
        statefulset(
            "s-complete",
            json!({"type": "RollingUpdate"}),
            sstatus(3, 3, 3, "db-r2", "db-r2"),
            (0..3).map(|i| (i, true, healthy("db:2"))).collect(),
        ),
        Status::Pass,
        Kubectl::Done,
        None,
        "1/1 rolled out: db rev 2",
    );
    add(
        "s-rolling",
        "statefulset/db",
        statefulset(
            "s-rolling",
            json!({"type": "RollingUpdate"}),
            sstatus(3, 1, 2, "db-r2", "db-r1"),
            vec![
                (0, false, healthy("db:1")),
                (1, false, healthy("db:1")),
                (2, true, healthy("db:2")),
            ],
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "db 1/3 updated, 3 available, rev 1 → 2",
    );
    add(
        "s-not-ready",
        "statefulset/db",
        statefulset(
            "s-not-ready",
            json!({"type": "RollingUpdate"}),
            sstatus(2, 1, 2, "db-r2", "db-r1"),
            vec![(0, false, healthy("db:1")), (1, false, healthy("db:1"))],
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "db 1/3 updated",
    );
    add(
        "s-partition-done",
        "statefulset/db",
        statefulset(
            "s-partition-done",
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}),
            sstatus(3, 1, 2, "db-r2", "db-r1"),
            vec![
                (0, false, healthy("db:1")),
                (1, false, healthy("db:1")),
                (2, true, healthy("db:2")),
            ],
        ),
        Status::Pass,
        Kubectl::Done,
        None,
        "1/1 rolled out: db rev 2",
    );
    add(
        "s-partition-wait",
        "statefulset/db",
        statefulset(
            "s-partition-wait",
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
            sstatus(3, 1, 2, "db-r2", "db-r1"),
            vec![
                (0, false, healthy("db:1")),
                (1, false, healthy("db:1")),
                (2, true, healthy("db:2")),
            ],
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "db 1/3 updated",
    );
    add(
        "s-ondelete",
        "statefulset/db",
        statefulset(
            "s-ondelete",
            json!({"type": "OnDelete"}),
            sstatus(3, 1, 2, "db-r2", "db-r1"),
            vec![
                (0, false, healthy("db:1")),
                (1, false, healthy("db:1")),
                (2, true, healthy("db:2")),
            ],
        ),
        Status::Unknown,
        Kubectl::Error,
        Some("kubectl refuses OnDelete; golive says how far it got"),
        "db OnDelete: 1/3 pods at rev 2",
    );
    add(
        "s-crashloop",
        "statefulset/db",
        statefulset(
            "s-crashloop",
            json!({"type": "RollingUpdate"}),
            sstatus(2, 1, 2, "db-r2", "db-r1"),
            vec![
                (0, false, healthy("db:1")),
                (1, false, healthy("db:1")),
                (
                    2,
                    true,
                    waiting("db:2", "CrashLoopBackOff", "back-off 10s", 2),
                ),
            ],
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl waits through a CrashLoopBackOff"),
        "new pod db-2 container app CrashLoopBackOff",
    );

    add(
        "ds-complete",
        "daemonset/agent",
        daemonset(
            "ds-complete",
            dsstatus(2, 2, 2),
            vec![(0, true, healthy("agent:2")), (1, true, healthy("agent:2"))],
        ),
        Status::Pass,
        Kubectl::Done,
        None,
        "1/1 rolled out: agent rev 2",
    );
    add(
        "ds-midupdate",
        "daemonset/agent",
        daemonset(
            "ds-midupdate",
            dsstatus(2, 1, 1),
            vec![
                (0, true, healthy("agent:2")),
                (1, false, healthy("agent:1")),
            ],
        ),
        Status::Unknown,
        Kubectl::Waiting,
        None,
        "agent 1/2 updated, 1 available, rev 1 → 2",
    );
    add(
        "ds-imagepull",
        "daemonset/agent",
        daemonset(
            "ds-imagepull",
            dsstatus(2, 1, 1),
            vec![
                (0, true, waiting("agent:2", "ErrImagePull", "not found", 0)),
                (1, false, healthy("agent:1")),
            ],
        ),
        Status::Fail,
        Kubectl::Waiting,
        Some("kubectl waits through an image pull failure"),
        "ErrImagePull",
    );

    // Generation ahead of what the controller observed: waiting, whatever the counts say.
    let mut not_observed = Case {
        ns: "d-not-observed",
        target: "deployment/web",
        objects: deployment(
            "d-not-observed",
            json!({}),
            dstatus(3, 3, 3, 3),
            healthy_new("d-not-observed", 3),
            0,
        ),
        bump_spec: true,
        expect: Status::Unknown,
        kubectl: Kubectl::Waiting,
        differs: None,
        says: "",
    };
    not_observed.says = "web 3/3 updated";
    cases.push(not_observed);
    cases
}

fn plan_for(cases: &[Case]) -> golive::plan::LoadedPlan {
    let mut text = String::from("name: rollout states\ngates:\n");
    for c in cases {
        text.push_str(&format!(
            "  - id: {ns}\n    title: {ns}\n    group: operational\n    checks:\n      - rollout: {{namespace: {ns}}}\n",
            ns = c.ns
        ));
    }
    golive::plan::parse("rollout-states.yaml", &text, |_| None).expect("the test plan parses")
}

fn kubectl_says(kubeconfig: &std::path::Path, c: &Case) -> Option<(Kubectl, String)> {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["rollout", "status", c.target, "-n", c.ns, "--watch=false"])
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = if !out.status.success() {
        Kubectl::Error
    } else if text.trim_start().to_lowercase().starts_with("waiting") {
        Kubectl::Waiting
    } else {
        Kubectl::Done
    };
    Some((said, text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rollout_state_gets_its_verdict_and_kubectl_agrees() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = Sim::start(SimConfig {
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let cases = cases();
    for c in &cases {
        for o in &c.objects {
            sim.apply(o.clone())
                .unwrap_or_else(|e| panic!("{}: apply {o}: {e}", c.ns));
        }
        if c.bump_spec {
            let (kind, name) = c.target.split_once('/').unwrap();
            let kind = match kind {
                "deployment" => "Deployment",
                "statefulset" => "StatefulSet",
                _ => "DaemonSet",
            };
            sim.merge_patch("apps/v1", kind, Some(c.ns), name,
                json!({"spec": {"template": {"metadata": {"annotations": {"golive.test/restartedAt": "now"}}}}}))
                .unwrap();
        }
    }
    let plan = plan_for(&cases);
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("every watch to list", Duration::from_secs(20), |v| {
        v.keys().all(|(_, s)| s.synced)
    })
    .await;

    let kubectl_here = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    if !kubectl_here {
        eprintln!("note: kubectl not found; comparing golive's verdicts alone");
    }
    let mut failures = Vec::new();
    for c in &cases {
        let g = live.gate(&plan, c.ns);
        let check = &g.checks[0];
        if check.status != c.expect || !check.summary.contains(c.says) {
            failures.push(format!(
                "{}: golive said {:?} `{}`, expected {:?} with `{}`\n  evidence: {:?}",
                c.ns, check.status, check.summary, c.expect, c.says, check.evidence
            ));
        }
        if !kubectl_here {
            continue;
        }
        let Some((said, text)) = kubectl_says(&kubeconfig, c) else {
            continue;
        };
        if said != c.kubectl {
            failures.push(format!(
                "{}: kubectl said {said:?} ({}), expected {:?}",
                c.ns,
                text.trim(),
                c.kubectl
            ));
        }
        let agrees = matches!(
            (said, check.status),
            (Kubectl::Done, Status::Pass)
                | (Kubectl::Waiting, Status::Unknown)
                | (Kubectl::Error, Status::Fail)
        );
        if agrees == c.differs.is_some() {
            failures.push(format!(
                "{}: kubectl {said:?} ({}) and golive {:?}: {}",
                c.ns,
                text.trim(),
                check.status,
                match c.differs {
                    Some(why) => format!("expected to differ because {why}"),
                    None => "expected to agree".into(),
                }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    sim.shutdown().await;
}

const EVENTS_NS: &str = "shop";

fn event(
    name: &str,
    kind: &str,
    object: &str,
    reason: &str,
    note: &str,
    last: &str,
    count: Option<i64>,
) -> Value {
    let mut e = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": EVENTS_NS, "creationTimestamp": last},
        "eventTime": last, "type": "Warning", "reason": reason, "note": note,
        "action": "Killing", "reportingController": "kubelet", "reportingInstance": "node-1",
        "regarding": {"apiVersion": "v1", "kind": kind, "namespace": EVENTS_NS, "name": object}
    });
    if let Some(count) = count {
        e["series"] = json!({"count": count, "lastObservedTime": last});
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_events_are_grouped_by_object_and_reason_and_counted_from_the_deploy() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = Sim::start(SimConfig {
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let ns = "shop";
    sim.apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .unwrap();
    for e in [
        // Before the deploy: not counted once the Deploy phase has opened.
        event(
            "e1",
            "Pod",
            "web-old-1",
            "BackOff",
            "Back-off restarting failed container",
            "2026-11-25T09:00:00Z",
            None,
        ),
        // After it: one series of 12 and a single event on the same pod and reason.
        event(
            "e2",
            "Pod",
            "web-new-1",
            "BackOff",
            "Back-off restarting failed container app",
            "2026-11-25T10:05:00Z",
            Some(12),
        ),
        event(
            "e3",
            "Pod",
            "web-new-1",
            "BackOff",
            "Back-off restarting failed container app (newest)",
            "2026-11-25T10:06:00Z",
            None,
        ),
        event(
            "e4",
            "Pod",
            "web-new-2",
            "Failed",
            "Failed to pull image \"web:2\"",
            "2026-11-25T10:04:00Z",
            None,
        ),
        // Not about the service's workloads, or not a warning, or ignored: never counted.
        event(
            "e5",
            "Node",
            "node-1",
            "NodeNotReady",
            "node is not ready",
            "2026-11-25T10:05:00Z",
            None,
        ),
        event(
            "e6",
            "Pod",
            "web-new-3",
            "Unhealthy",
            "Readiness probe failed",
            "2026-11-25T10:05:30Z",
            None,
        ),
    ] {
        sim.apply(e).unwrap();
    }
    let mut normal = event(
        "e7",
        "Pod",
        "web-new-1",
        "Pulled",
        "pulled",
        "2026-11-25T10:05:00Z",
        None,
    );
    normal["type"] = json!("Normal");
    sim.apply(normal).unwrap();

    let text = "name: events\ngates:\n  - id: events\n    title: events\n    group: operational\n    checks:\n      - warning_events: {namespace: shop, ignore: [Unhealthy]}\nrunbook:\n  - phase: Pre-flight\n    steps: [a]\n  - phase: Deploy services\n    steps: [b]\n";
    let plan = golive::plan::parse("events.yaml", text, |_| None).expect("plan parses");
    let mut live = LiveView::start(&plan, &kubeconfig).await;
    live.wait_until("events to list", Duration::from_secs(10), |v| {
        v.keys().all(|(_, s)| s.synced)
    })
    .await;
    let check = &plan.plan.gates[0].checks[0];
    let judge = |moments: golive::gates::Moments| {
        golive::gates::evaluate_check(
            check,
            &live.view,
            &golive::gates::Context::new("2026-11-25T10:10:00Z".parse().unwrap())
                .with_moments(moments),
        )
    };

    // The Deploy phase (found as "Deploy services") opened at 10:00.
    let deployed = judge(golive::gates::Moments {
        started: Some("2026-11-25T08:00:00Z".parse().unwrap()),
        phases: vec![
            (
                "Pre-flight".into(),
                Some("2026-11-25T08:00:00Z".parse().unwrap()),
            ),
            (
                "Deploy services".into(),
                Some("2026-11-25T10:00:00Z".parse().unwrap()),
            ),
        ],
        deployed: None,
    });
    assert_eq!(deployed.status, Status::Fail, "{}", deployed.summary);
    assert!(
        deployed
            .summary
            .starts_with("14 Warning events on 2 objects since phase Deploy opened"),
        "{}",
        deployed.summary
    );
    let details: Vec<String> = deployed
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.object, e.detail))
        .collect();
    assert_eq!(
        details[1],
        "Pod shop/web-new-1: BackOff ×13, last 4m ago: Back-off restarting failed container app (newest)",
        "{details:#?}"
    );
    assert_eq!(
        details[2], "Pod shop/web-new-2: Failed ×1, last 6m ago: Failed to pull image \"web:2\"",
        "{details:#?}"
    );
    assert_eq!(details.len(), 3, "{details:#?}");

    // Before the Deploy phase opens, every event the API server holds counts, and says so.
    let before = judge(golive::gates::Moments::default());
    assert_eq!(before.status, Status::Fail);
    assert!(
        before.summary.contains("held by the API server"),
        "{}",
        before.summary
    );
    assert!(
        before.evidence[0].detail.contains("is not known yet"),
        "{:?}",
        before.evidence
    );
    assert_eq!(before.evidence.len(), 4, "{:?}", before.evidence);

    // After the last warning: pass, and only on a synced watch.
    let later = judge(golive::gates::Moments {
        started: None,
        phases: vec![(
            "Deploy services".into(),
            Some("2026-11-25T10:07:00Z".parse().unwrap()),
        )],
        deployed: None,
    });
    assert_eq!(later.status, Status::Pass, "{}", later.summary);
    sim.shutdown().await;
}
