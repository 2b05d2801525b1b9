//! Which revision of a workload is new and which pods are its: the Deployment's
//! ReplicaSets by `deployment.kubernetes.io/revision` and `pod-template-hash`, a
//! StatefulSet's or DaemonSet's ControllerRevisions by `controller-revision-hash`; and
//! what makes a pod of the new revision broken.

use super::kubectl::{kubectl_daemonset, kubectl_deployment, kubectl_statefulset, strategy};
use super::{
    BROKEN_WAITING, KubectlSays, POD_TEMPLATE_HASH, PodProblem, REVISION_ANNOTATION, REVISION_HASH,
    Revision, Rollout, RolloutState, annotation, changed_images, images, int, owned_by,
};
use crate::cluster::{CONTROLLER_REVISIONS, ClusterView, REPLICASETS};
use crate::gates::json::{condition, labels, name, str_field, timestamp};
use crate::plan::WorkloadKind;
use serde_json::Value;

/// Why a pod is broken, per container, in the kubelet's words.
pub fn pod_problems(pod: &Value) -> Vec<PodProblem> {
    let pod_name = name(pod).to_string();
    let mut out = Vec::new();
    if let Some(c) = condition(pod, "PodScheduled")
        && str_field(c, "status") == "False"
        && str_field(c, "reason") == "Unschedulable"
    {
        out.push(PodProblem {
            pod: pod_name.clone(),
            container: String::new(),
            reason: "Unschedulable".into(),
            message: str_field(c, "message").to_string(),
            hard: true,
        });
    }
    let statuses = pod["status"]["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten(),
        );
    for cs in statuses {
        let container = str_field(cs, "name").to_string();
        let waiting = &cs["state"]["waiting"];
        let reason = str_field(waiting, "reason");
        let restarts = int(&cs["restartCount"]);
        let last = &cs["lastState"]["terminated"];
        let oom = [&cs["state"]["terminated"], last]
            .into_iter()
            .find(|t| str_field(t, "reason") == "OOMKilled");
        let problem = if BROKEN_WAITING.contains(&reason) {
            Some((
                reason.to_string(),
                str_field(waiting, "message").to_string(),
                true,
            ))
        } else if let Some(t) = oom {
            let exit = t["exitCode"]
                .as_i64()
                .map(|c| format!("exit code {c}"))
                .unwrap_or_default();
            let at = str_field(t, "finishedAt");
            let message = if at.is_empty() {
                exit
            } else {
                format!("{exit} at {at}")
            };
            Some(("OOMKilled".to_string(), message, true))
        } else if restarts > 0 {
            let why = match (str_field(last, "reason"), last["exitCode"].as_i64()) {
                ("", None) => String::new(),
                (r, Some(code)) => format!(
                    ", last {} exit code {code}",
                    if r.is_empty() { "terminated" } else { r }
                ),
                (r, None) => format!(", last {r}"),
            };
            let times = if restarts == 1 {
                "once".to_string()
            } else {
                format!("{restarts} times")
            };
            Some(("Restarted".to_string(), format!("{times}{why}"), false))
        } else {
            None
        };
        if let Some((reason, message, hard)) = problem {
            out.push(PodProblem {
                pod: pod_name.clone(),
                container,
                reason,
                message,
                hard,
            });
        }
    }
    out
}

/// The pods of a workload split by revision: (new, old).
struct Pods<'a> {
    new: Vec<&'a Value>,
    old: Vec<&'a Value>,
}

fn split_pods<'a>(
    pods: &[&'a Value],
    is_mine: impl Fn(&Value) -> bool,
    is_new: impl Fn(&Value) -> bool,
) -> Pods<'a> {
    let (new, old) = pods
        .iter()
        .copied()
        .filter(|p| is_mine(p))
        .partition(|p| is_new(p));
    Pods { new, old }
}

fn state_from(kubectl: &KubectlSays, paused: bool) -> RolloutState {
    match kubectl {
        KubectlSays::Error(_) => RolloutState::Failed,
        _ if paused => RolloutState::Paused,
        KubectlSays::Waiting(_) => RolloutState::Progressing,
        KubectlSays::Done(_) => RolloutState::Complete,
    }
}

fn finish(mut r: Rollout, pods: Pods<'_>) -> Rollout {
    r.new_pods = pods.new.len();
    r.old_pods = pods.old.len();
    r.problems = pods.new.iter().flat_map(|p| pod_problems(p)).collect();
    r.old_problems = pods.old.iter().flat_map(|p| pod_problems(p)).collect();
    r
}

pub(super) fn deployment(d: &Value, view: &ClusterView, pods: &[&Value]) -> Rollout {
    let ns = crate::gates::json::namespace(d).unwrap_or_default();
    let dname = name(d).to_string();
    let replicasets: Vec<Value> = view
        .objects(&REPLICASETS, Some(ns))
        .filter(|rs| owned_by(rs, "Deployment", &dname))
        .collect();
    let owned: Vec<&Value> = replicasets.iter().collect();
    let rev_of =
        |rs: &Value| annotation(rs, REVISION_ANNOTATION).and_then(|r| r.parse::<i64>().ok());
    let wanted = annotation(d, REVISION_ANNOTATION).and_then(|r| r.parse::<i64>().ok());
    let template = images(&d["spec"]["template"]);
    let new_rs = owned
        .iter()
        .copied()
        .find(|rs| wanted.is_some() && rev_of(rs) == wanted)
        .or_else(|| {
            owned
                .iter()
                .copied()
                .filter(|rs| images(&rs["spec"]["template"]) == template)
                .max_by_key(|rs| rev_of(rs).unwrap_or(0))
        });
    let new_name = new_rs.map(|rs| name(rs).to_string());
    let previous_rs = owned
        .iter()
        .copied()
        .filter(|rs| Some(name(rs)) != new_name.as_deref())
        .max_by_key(|rs| rev_of(rs).unwrap_or(0));
    let kubectl = kubectl_deployment(d);
    let paused = d["spec"]["paused"].as_bool() == Some(true);
    let new_hash = new_rs.map(|rs| {
        labels(rs)
            .get(POD_TEMPLATE_HASH)
            .cloned()
            .unwrap_or_default()
    });
    let old_names: Vec<&str> = owned
        .iter()
        .map(|rs| name(rs))
        .filter(|n| Some(*n) != new_name.as_deref())
        .collect();
    let split = split_pods(
        pods,
        |p| owned.iter().any(|rs| owned_by(p, "ReplicaSet", name(rs))),
        |p| {
            new_name
                .as_deref()
                .is_some_and(|n| owned_by(p, "ReplicaSet", n))
                || (new_hash.as_deref().is_some_and(|h| !h.is_empty())
                    && labels(p).get(POD_TEMPLATE_HASH) == new_hash.as_ref()
                    && !old_names.iter().any(|o| owned_by(p, "ReplicaSet", o)))
        },
    );
    let status = &d["status"];
    let rollout = Rollout {
        kind: WorkloadKind::Deployment,
        namespace: ns.to_string(),
        name: dname,
        state: state_from(&kubectl, paused),
        kubectl,
        desired: d["spec"]["replicas"].as_i64().unwrap_or(1),
        updated: int(&status["updatedReplicas"]),
        ready: int(&status["readyReplicas"]),
        available: int(&status["availableReplicas"]),
        revision: Revision {
            number: new_rs.and_then(rev_of).or(wanted),
            hash: new_hash.unwrap_or_default(),
        },
        previous: previous_rs.map(|rs| Revision {
            number: rev_of(rs),
            hash: labels(rs)
                .get(POD_TEMPLATE_HASH)
                .cloned()
                .unwrap_or_default(),
        }),
        images: previous_rs
            .map(|rs| changed_images(&images(&rs["spec"]["template"]), &template))
            .unwrap_or_default(),
        started: new_rs.and_then(|rs| timestamp(&rs["metadata"]["creationTimestamp"])),
        new_pods: 0,
        old_pods: 0,
        problems: Vec::new(),
        old_problems: Vec::new(),
    };
    finish(rollout, split)
}

/// The ControllerRevisions a StatefulSet or DaemonSet owns, oldest first.
fn revisions(view: &ClusterView, ns: &str, kind: &str, owner: &str) -> Vec<Value> {
    let mut owned: Vec<Value> = view
        .objects(&CONTROLLER_REVISIONS, Some(ns))
        .filter(|cr| owned_by(cr, kind, owner))
        .collect();
    owned.sort_by_key(|cr| int(&cr["revision"]));
    owned
}

fn revision_hash(cr: &Value, owner: &str) -> String {
    labels(cr).get(REVISION_HASH).cloned().unwrap_or_else(|| {
        name(cr)
            .strip_prefix(&format!("{owner}-"))
            .unwrap_or(name(cr))
            .to_string()
    })
}

/// The pod template a ControllerRevision records (`data.spec.template`).
fn revision_images(cr: &Value) -> Vec<(String, String)> {
    images(&cr["data"]["spec"]["template"])
}

pub(super) fn controller_revision(
    kind: WorkloadKind,
    w: &Value,
    view: &ClusterView,
    pods: &[&Value],
) -> Rollout {
    let ns = crate::gates::json::namespace(w).unwrap_or_default();
    let wname = name(w).to_string();
    let kind_name = kind.to_string();
    let revision_values = revisions(view, ns, &kind_name, &wname);
    let owned: Vec<&Value> = revision_values.iter().collect();
    let status = &w["status"];
    let (kubectl, desired, updated, ready, available, new_hash, current_hash) = match kind {
        WorkloadKind::StatefulSet => (
            kubectl_statefulset(w),
            w["spec"]["replicas"].as_i64().unwrap_or(1),
            int(&status["updatedReplicas"]),
            int(&status["readyReplicas"]),
            int(&status["availableReplicas"]),
            str_field(status, "updateRevision").to_string(),
            str_field(status, "currentRevision").to_string(),
        ),
        _ => (
            kubectl_daemonset(w),
            int(&status["desiredNumberScheduled"]),
            int(&status["updatedNumberScheduled"]),
            int(&status["numberReady"]),
            int(&status["numberAvailable"]),
            String::new(),
            String::new(),
        ),
    };
    // A StatefulSet names its update revision; a DaemonSet's is its newest.
    let new_cr = if new_hash.is_empty() {
        owned.last().copied()
    } else {
        owned.iter().copied().find(|cr| name(cr) == new_hash)
    };
    let new_hash = match (new_hash.is_empty(), new_cr) {
        (true, Some(cr)) => revision_hash(cr, &wname),
        (false, _) => new_hash,
        (true, None) => String::new(),
    };
    let new_number = new_cr.map(|cr| int(&cr["revision"]));
    let previous_cr = if !current_hash.is_empty() && current_hash != new_hash {
        owned.iter().copied().find(|cr| name(cr) == current_hash)
    } else {
        owned
            .iter()
            .copied()
            .rfind(|cr| Some(int(&cr["revision"])) < new_number && new_number.is_some())
    };
    // Pods carry the revision's full name (StatefulSet) or its hash (DaemonSet).
    let new_cr_name = new_cr.map(|cr| name(cr).to_string());
    let pod_is_new = |p: &Value| {
        let label = labels(p).get(REVISION_HASH).cloned().unwrap_or_default();
        !label.is_empty() && (label == new_hash || Some(&label) == new_cr_name.as_ref())
    };
    let split = split_pods(pods, |p| owned_by(p, &kind_name, &wname), pod_is_new);
    let template = images(&w["spec"]["template"]);
    let strategy = strategy(w).to_string();
    let mut state = state_from(&kubectl, false);
    if strategy == "OnDelete" {
        state = if updated >= desired && available >= desired {
            RolloutState::Complete
        } else {
            RolloutState::OnDelete
        };
    }
    let rollout = Rollout {
        kind,
        namespace: ns.to_string(),
        name: wname.clone(),
        state,
        kubectl,
        desired,
        updated,
        ready,
        available,
        revision: Revision {
            number: new_number,
            hash: new_hash,
        },
        previous: previous_cr.map(|cr| Revision {
            number: Some(int(&cr["revision"])),
            hash: revision_hash(cr, &wname),
        }),
        images: previous_cr
            .map(|cr| {
                let now = new_cr.map(revision_images).unwrap_or(template);
                changed_images(&revision_images(cr), &now)
            })
            .unwrap_or_default(),
        started: new_cr.and_then(|cr| timestamp(&cr["metadata"]["creationTimestamp"])),
        new_pods: 0,
        old_pods: 0,
        problems: Vec::new(),
        old_problems: Vec::new(),
    };
    finish(rollout, split)
}
