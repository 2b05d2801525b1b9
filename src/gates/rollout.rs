//! `rollout`: where the rolling update of each Deployment, StatefulSet and DaemonSet
//! stands, judged as `kubectl rollout status` judges it, and failed fast when a pod of the
//! new revision is broken (kubectl waits silently through a CrashLoopBackOff until the
//! progress deadline, and StatefulSets have none).
//!
//! [`rollouts`] reads the view into one [`Rollout`] per workload (revision old → new,
//! images, counts, start, broken pods, the way back); the cockpit's rollout pane and the
//! journal read the same values the gate judges.

use super::json::{condition, format_age, generation, labels, name, str_field, timestamp};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{
    CONTROLLER_REVISIONS, ClusterView, DAEMONSETS, DEPLOYMENTS, PODS, REPLICASETS, Reads,
    ResourceType, STATEFULSETS, WatchKey,
};
use crate::plan::{RolloutCheck, WorkloadKind};
use jiff::Timestamp;
use serde_json::Value;

const KIND: &str = "rollout";

/// The annotation the Deployment controller writes on a Deployment and its ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller puts on a ReplicaSet's pods.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The label StatefulSet and DaemonSet controllers put on their pods and revisions.
const REVISION_HASH: &str = "controller-revision-hash";

/// Container states that mean a pod of the new revision will not come up by waiting.
const BROKEN_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// What `kubectl rollout status --watch=false` would say: done, waiting, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubectlSays {
    Done(String),
    Waiting(String),
    Error(String),
}

/// Where one workload's rollout stands, in golive's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RolloutState {
    Complete,
    Progressing,
    Paused,
    /// `OnDelete`: pods take the new revision only when someone deletes them.
    OnDelete,
    Failed,
}

impl RolloutState {
    pub fn word(self) -> &'static str {
        match self {
            RolloutState::Complete => "complete",
            RolloutState::Progressing => "progressing",
            RolloutState::Paused => "paused",
            RolloutState::OnDelete => "on delete",
            RolloutState::Failed => "failed",
        }
    }
}

/// A revision of a workload: the controller's number (what `--to-revision` takes) and
/// the hash its pods carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Revision {
    pub number: Option<i64>,
    pub hash: String,
}

impl Revision {
    fn label(&self) -> String {
        match self.number {
            Some(n) => format!("rev {n}"),
            None if self.hash.is_empty() => "rev ?".into(),
            None => format!("rev {}", self.hash),
        }
    }
}

/// A broken pod: which container, why, and the words the kubelet gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    pub pod: String,
    pub container: String,
    pub reason: String,
    pub message: String,
    /// Fails the rollout at once (a waiting state that will not clear, OOMKilled,
    /// Unschedulable); a plain restart fails it only while it is still rolling out.
    pub hard: bool,
}

impl PodProblem {
    pub fn text(&self) -> String {
        let container = if self.container.is_empty() {
            String::new()
        } else {
            format!("container {} ", self.container)
        };
        if self.message.is_empty() {
            format!("{container}{}", self.reason)
        } else {
            format!("{container}{}: {}", self.reason, self.message)
        }
    }
}

/// One workload's rollout, everything the gate, the pane and the journal say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    pub state: RolloutState,
    pub kubectl: KubectlSays,
    pub desired: i64,
    pub updated: i64,
    pub ready: i64,
    pub available: i64,
    pub revision: Revision,
    /// The revision before this one: where `kubectl rollout undo` goes back to.
    pub previous: Option<Revision>,
    /// Containers whose image changed from the previous revision: (container, old, new).
    pub images: Vec<(String, String, String)>,
    /// When the new revision appeared (its ReplicaSet or ControllerRevision was created).
    pub started: Option<Timestamp>,
    pub new_pods: usize,
    pub old_pods: usize,
    pub problems: Vec<PodProblem>,
    pub old_problems: Vec<PodProblem>,
}

impl Rollout {
    /// `kubectl rollout undo deployment/backend -n gravl-staging --to-revision=7`.
    pub fn undo_command(&self) -> Option<String> {
        let previous = self.previous.as_ref()?;
        let to = previous
            .number
            .map(|n| format!(" --to-revision={n}"))
            .unwrap_or_default();
        Some(format!(
            "kubectl rollout undo {}/{} -n {}{to}",
            self.kind.kubectl(),
            self.name,
            self.namespace
        ))
    }

    /// `rev 7 → 8`, or `rev 8` for a workload with no earlier revision.
    pub fn revisions(&self) -> String {
        match (&self.previous, self.state) {
            (Some(p), s) if s != RolloutState::Complete || !self.images.is_empty() => {
                match (p.number, self.revision.number) {
                    (Some(a), Some(b)) => format!("rev {a} → {b}"),
                    _ => format!("{} → {}", p.label(), self.revision.label()),
                }
            }
            _ => self.revision.label(),
        }
    }

    /// `rev 3 → 4` whatever the state: what the journal keys a rollout by.
    pub fn revision_change(&self) -> String {
        match (&self.previous, self.revision.number) {
            (
                Some(Revision {
                    number: Some(a), ..
                }),
                Some(b),
            ) => format!("rev {a} → {b}"),
            (Some(p), _) => format!("{} → {}", p.label(), self.revision.label()),
            (None, _) => self.revision.label(),
        }
    }

    /// How long it has been rolling out (or took, as far as golive can see).
    pub fn age(&self, now: Timestamp) -> Option<String> {
        self.started
            .map(|s| age_words(now.as_second() - s.as_second()))
    }

    /// The gate's status for this workload.
    pub fn status(&self) -> Status {
        let broken = self.problems.iter().any(|p| p.hard);
        let restarted = !self.problems.is_empty();
        match self.state {
            RolloutState::Failed => Status::Fail,
            _ if broken => Status::Fail,
            RolloutState::Progressing | RolloutState::OnDelete if restarted => Status::Fail,
            RolloutState::Paused => Status::Warn,
            RolloutState::Progressing | RolloutState::OnDelete => Status::Unknown,
            RolloutState::Complete if restarted => Status::Warn,
            RolloutState::Complete => Status::Pass,
        }
    }

    /// The state in a word, `failing` for a rollout still going with a broken new pod.
    pub fn word(&self) -> &'static str {
        match (self.status(), self.state) {
            (Status::Fail, s) if s != RolloutState::Failed => "failing",
            (_, s) => s.word(),
        }
    }

    /// One line: `backend 2/4 updated, 1 available, rev 7 → 8, 1m12s`.
    pub fn line(&self, now: Timestamp) -> String {
        let age = self.age(now).map(|a| format!(", {a}")).unwrap_or_default();
        format!(
            "{} {}/{} updated, {} available, {}{age}",
            self.name,
            self.updated,
            self.desired,
            self.available,
            self.revisions()
        )
    }
}

/// `1m12s`, `4m`, `2h`: a rollout's duration.
pub fn age_words(seconds: i64) -> String {
    let s = seconds.max(0);
    if (60..600).contains(&s) && s % 60 != 0 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format_age(s)
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}

fn owned_by(obj: &Value, kind: &str, owner: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["kind"].as_str() == Some(kind) && r["name"].as_str() == Some(owner))
        })
}

/// (container, image) of a pod template's containers.
fn images(template: &Value) -> Vec<(String, String)> {
    template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                str_field(c, "name").to_string(),
                str_field(c, "image").to_string(),
            )
        })
        .collect()
}

fn changed_images(
    old: &[(String, String)],
    new: &[(String, String)],
) -> Vec<(String, String, String)> {
    new.iter()
        .filter_map(|(container, image)| {
            let before = old
                .iter()
                .find(|(c, _)| c == container)
                .map(|(_, i)| i.as_str());
            match before {
                Some(b) if b == image => None,
                Some(b) => Some((container.clone(), b.to_string(), image.clone())),
                None => Some((container.clone(), "(new container)".into(), image.clone())),
            }
        })
        .collect()
}

/// Exactly `kubectl rollout status` for a Deployment.
pub fn kubectl_deployment(d: &Value) -> KubectlSays {
    let name = name(d);
    let status = &d["status"];
    if generation(d).unwrap_or(0) > int(&status["observedGeneration"]) {
        return KubectlSays::Waiting("Waiting for deployment spec update to be observed...".into());
    }
    if condition(d, "Progressing")
        .is_some_and(|c| str_field(c, "reason") == "ProgressDeadlineExceeded")
    {
        return KubectlSays::Error(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        ));
    }
    let updated = int(&status["updatedReplicas"]);
    if let Some(spec) = d["spec"]["replicas"].as_i64()
        && updated < spec
    {
        return KubectlSays::Waiting(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {spec} new replicas have been updated..."
        ));
    }
    let replicas = int(&status["replicas"]);
    if replicas > updated {
        return KubectlSays::Waiting(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    let available = int(&status["availableReplicas"]);
    if available < updated {
        return KubectlSays::Waiting(format!(
            "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    KubectlSays::Done(format!("deployment \"{name}\" successfully rolled out"))
}

fn strategy(obj: &Value) -> &str {
    match str_field(&obj["spec"]["updateStrategy"], "type") {
        "" => "RollingUpdate",
        other => other,
    }
}

/// Exactly `kubectl rollout status` for a StatefulSet.
pub fn kubectl_statefulset(s: &Value) -> KubectlSays {
    if strategy(s) != "RollingUpdate" {
        return KubectlSays::Error(
            "rollout status is only available for RollingUpdate strategy type".into(),
        );
    }
    let status = &s["status"];
    let observed = int(&status["observedGeneration"]);
    if observed == 0 || generation(s).unwrap_or(0) > observed {
        return KubectlSays::Waiting(
            "Waiting for statefulset spec update to be observed...".into(),
        );
    }
    let replicas = s["spec"]["replicas"].as_i64();
    let ready = int(&status["readyReplicas"]);
    if let Some(replicas) = replicas
        && ready < replicas
    {
        return KubectlSays::Waiting(format!(
            "Waiting for {} pods to be ready...",
            replicas - ready
        ));
    }
    let updated = int(&status["updatedReplicas"]);
    let rolling = &s["spec"]["updateStrategy"]["rollingUpdate"];
    if rolling.is_object() {
        if let (Some(replicas), Some(partition)) = (replicas, rolling["partition"].as_i64())
            && updated < replicas - partition
        {
            return KubectlSays::Waiting(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                replicas - partition
            ));
        }
        return KubectlSays::Done(format!(
            "partitioned roll out complete: {updated} new pods have been updated..."
        ));
    }
    let update = str_field(status, "updateRevision");
    if update != str_field(status, "currentRevision") {
        return KubectlSays::Waiting(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update}..."
        ));
    }
    KubectlSays::Done(format!(
        "statefulset rolling update complete {} pods at revision {update}...",
        int(&status["currentReplicas"])
    ))
}

/// Exactly `kubectl rollout status` for a DaemonSet.
pub fn kubectl_daemonset(d: &Value) -> KubectlSays {
    if strategy(d) != "RollingUpdate" {
        return KubectlSays::Error(
            "rollout status is only available for RollingUpdate strategy type".into(),
        );
    }
    let name = name(d);
    let status = &d["status"];
    if generation(d).unwrap_or(0) > int(&status["observedGeneration"]) {
        return KubectlSays::Waiting("Waiting for daemon set spec update to be observed...".into());
    }
    let desired = int(&status["desiredNumberScheduled"]);
    let updated = int(&status["updatedNumberScheduled"]);
    if updated < desired {
        return KubectlSays::Waiting(format!(
            "Waiting for daemon set \"{name}\" rollout to finish: {updated} out of {desired} new pods have been updated..."
        ));
    }
    let available = int(&status["numberAvailable"]);
    if available < desired {
        return KubectlSays::Waiting(format!(
            "Waiting for daemon set \"{name}\" rollout to finish: {available} of {desired} updated pods are available..."
        ));
    }
    KubectlSays::Done(format!("daemon set \"{name}\" successfully rolled out"))
}

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

fn deployment(d: &Value, view: &ClusterView, pods: &[&Value]) -> Rollout {
    let ns = super::json::namespace(d).unwrap_or_default();
    let dname = name(d).to_string();
    let owned: Vec<&Value> = view
        .objects(&REPLICASETS, Some(ns))
        .filter(|rs| owned_by(rs, "Deployment", &dname))
        .collect();
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
fn revisions<'a>(view: &'a ClusterView, ns: &'a str, kind: &str, owner: &str) -> Vec<&'a Value> {
    let mut owned: Vec<&Value> = view
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

fn controller_revision(
    kind: WorkloadKind,
    w: &Value,
    view: &ClusterView,
    pods: &[&Value],
) -> Rollout {
    let ns = super::json::namespace(w).unwrap_or_default();
    let wname = name(w).to_string();
    let kind_name = kind.to_string();
    let owned = revisions(view, ns, &kind_name, &wname);
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

fn resource(kind: WorkloadKind) -> ResourceType {
    match kind {
        WorkloadKind::Deployment => DEPLOYMENTS,
        WorkloadKind::StatefulSet => STATEFULSETS,
        WorkloadKind::DaemonSet => DAEMONSETS,
    }
}

/// The workloads `c` selects, each with its rollout; names not found come back apart.
pub fn rollouts(c: &RolloutCheck, view: &ClusterView) -> (Vec<Rollout>, Vec<String>) {
    let ns = c.namespace.as_str();
    let pods: Vec<&Value> = view.objects(&PODS, Some(ns)).collect();
    let mut found = Vec::new();
    for kind in &c.kinds {
        for w in view.objects(&resource(*kind), Some(ns)) {
            let by_name = c.names.iter().any(|n| n == name(w));
            let by_label = c
                .selector
                .as_ref()
                .is_some_and(|s| s.parsed.matches(&labels(w)));
            let all = c.names.is_empty() && c.selector.is_none();
            if by_name || by_label || all {
                found.push(match kind {
                    WorkloadKind::Deployment => deployment(w, view, &pods),
                    other => controller_revision(*other, w, view, &pods),
                });
            }
        }
    }
    let missing = c
        .names
        .iter()
        .filter(|n| !found.iter().any(|r| &r.name == *n))
        .cloned()
        .collect();
    (found, missing)
}

/// The evidence for one workload's rollout, as the gate and the Details pane show it.
pub fn evidence_for(r: &Rollout, now: Timestamp) -> Vec<Evidence> {
    let object = format!("{} {}/{}", r.kind, r.namespace, r.name);
    let started = match r.started {
        Some(at) => format!(
            "; new revision since {at} ({} ago)",
            format_age(now.as_second() - at.as_second())
        ),
        None => String::new(),
    };
    let mut out = vec![Evidence::new(
        object.clone(),
        format!(
            "{}: {}, {}/{} updated, {} ready, {} available{started}",
            r.word(),
            r.revisions(),
            r.updated,
            r.desired,
            r.ready,
            r.available
        ),
    )];
    let kubectl = match &r.kubectl {
        KubectlSays::Done(t) | KubectlSays::Waiting(t) => t.clone(),
        KubectlSays::Error(t) => format!("error: {t}"),
    };
    out.push(Evidence::new(
        object.clone(),
        format!("kubectl rollout status: {kubectl}"),
    ));
    for (container, old, new) in &r.images {
        out.push(Evidence::new(
            object.clone(),
            format!("image {container}: {old} → {new}"),
        ));
    }
    out.push(Evidence::new(
        object.clone(),
        format!(
            "pods: {} of {}, {} of older revisions",
            r.new_pods,
            r.revision.label(),
            r.old_pods
        ),
    ));
    for p in &r.problems {
        out.push(Evidence::new(
            format!("Pod {}/{} ({})", r.namespace, p.pod, r.revision.label()),
            p.text(),
        ));
    }
    for p in &r.old_problems {
        out.push(Evidence::new(
            format!("Pod {}/{} (older revision)", r.namespace, p.pod),
            format!("{} (an old pod: does not fail the rollout)", p.text()),
        ));
    }
    out
}

/// Why this workload is not complete, in one phrase.
pub fn trouble(r: &Rollout, now: Timestamp) -> String {
    if let Some(p) = r.problems.iter().find(|p| p.hard).or(r.problems.first()) {
        return format!("{}: new pod {} {}", r.name, p.pod, p.text());
    }
    match (&r.kubectl, r.state) {
        (_, RolloutState::Paused) => {
            format!("{} paused at {}/{} updated", r.name, r.updated, r.desired)
        }
        (_, RolloutState::OnDelete) => format!(
            "{} OnDelete: {}/{} pods at {}; the rest take it when deleted",
            r.name,
            r.updated,
            r.desired,
            r.revision.label()
        ),
        (KubectlSays::Error(t), _) => format!("{}: {t}", r.name),
        _ => r.line(now),
    }
}

pub fn evaluate(
    c: &RolloutCheck,
    view: &ClusterView,
    now: Timestamp,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    for w in c.watches() {
        require_fresh(KIND, view, &w.resource, Some(ns), false)?;
    }
    let (rollouts, missing) = rollouts(c, view);
    let mut evidence: Vec<Evidence> = rollouts.iter().flat_map(|r| evidence_for(r, now)).collect();
    for m in &missing {
        evidence.push(Evidence::new(format!("workload {m} in {ns}"), "not found"));
    }
    if !missing.is_empty() {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Fail,
            format!("not found in {ns}: {}", missing.join(", ")),
        )
        .with_evidence(evidence));
    }
    if rollouts.is_empty() {
        let kinds: Vec<String> = c.kinds.iter().map(|k| format!("{k}s")).collect();
        return Ok(CheckVerdict::new(
            KIND,
            Status::Unknown,
            format!("no {} in {ns} to follow", kinds.join(", ")),
        ));
    }
    let worst = Status::worst(rollouts.iter().map(Rollout::status)).unwrap_or(Status::Unknown);
    let summary = if worst == Status::Pass {
        let done: Vec<String> = rollouts
            .iter()
            .map(|r| format!("{} {}", r.name, r.revision.label()))
            .collect();
        format!(
            "{}/{} rolled out: {}",
            rollouts.len(),
            rollouts.len(),
            done.join(", ")
        )
    } else {
        let bad: Vec<String> = rollouts
            .iter()
            .filter(|r| r.status() == worst)
            .map(|r| trouble(r, now))
            .collect();
        bad.join("; ")
    };
    let undo: Vec<String> = rollouts
        .iter()
        .filter(|r| r.status() == Status::Fail)
        .filter_map(Rollout::undo_command)
        .collect();
    let mut verdict = CheckVerdict::new(KIND, worst, summary).with_evidence(evidence);
    if !undo.is_empty() {
        verdict = verdict.with_fix(format!("the way back: {}", undo.join("; ")));
    }
    Ok(verdict)
}

/// What the rollout reads of a pod: identity, the revision labels, ownership (kept by
/// the projection's identity) and the states that make a new pod broken.
pub const POD_READS: &[&str] = &[
    "status.conditions.type",
    "status.conditions.status",
    "status.conditions.reason",
    "status.conditions.message",
    "status.containerStatuses.name",
    "status.containerStatuses.restartCount",
    "status.containerStatuses.state",
    "status.containerStatuses.lastState",
    "status.initContainerStatuses.name",
    "status.initContainerStatuses.restartCount",
    "status.initContainerStatuses.state",
    "status.initContainerStatuses.lastState",
];

/// A ReplicaSet's revision, images and counts; its pod template's env and volumes are
/// never read.
pub const REPLICASET_READS: &[&str] = &[
    "metadata.annotations",
    "spec.replicas",
    "spec.template.spec.containers.name",
    "spec.template.spec.containers.image",
    "status",
];

/// A ControllerRevision's number and the images it records (`data` holds a whole pod
/// template otherwise).
pub const REVISION_READS: &[&str] = &[
    "revision",
    "data.spec.template.spec.containers.name",
    "data.spec.template.spec.containers.image",
];

impl CheckKind for RolloutCheck {
    const NAME: &'static str = "rollout";

    fn watches(&self) -> Vec<WatchKey> {
        let ns = self.namespace.as_str();
        let mut out: Vec<WatchKey> = self
            .kinds
            .iter()
            .map(|k| WatchKey::namespaced(resource(*k), ns))
            .collect();
        if self.kinds.contains(&WorkloadKind::Deployment) {
            out.push(WatchKey::namespaced(REPLICASETS, ns));
        }
        if self.kinds.iter().any(|k| *k != WorkloadKind::Deployment) {
            out.push(WatchKey::namespaced(CONTROLLER_REVISIONS, ns));
        }
        out.push(WatchKey::namespaced(PODS, ns));
        out
    }

    fn reads(&self) -> Vec<Reads> {
        vec![
            (PODS, POD_READS),
            (REPLICASETS, REPLICASET_READS),
            (CONTROLLER_REVISIONS, REVISION_READS),
        ]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        evaluate(self, view, ctx.now)
    }
}
