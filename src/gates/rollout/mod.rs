//! `rollout`: where the rolling update of each Deployment, StatefulSet and DaemonSet
//! stands, judged as `kubectl rollout status` judges it, and failed fast when a pod of the
//! new revision is broken (kubectl waits silently through a CrashLoopBackOff until the
//! progress deadline, and StatefulSets have none).
//!
//! [`rollouts`] reads the view into one [`Rollout`] per workload (revision old → new,
//! images, counts, start, broken pods, the way back); the cockpit's rollout pane and the
//! journal read the same values the gate judges.

use super::json::{format_age, labels, name, str_field};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{
    CONTROLLER_REVISIONS, ClusterView, DAEMONSETS, DEPLOYMENTS, PODS, REPLICASETS, Reads,
    ResourceType, STATEFULSETS, WatchKey,
};
use crate::plan::{RolloutCheck, WorkloadKind};
use jiff::Timestamp;
use serde_json::Value;

mod kubectl;
mod revision;

pub use kubectl::{kubectl_daemonset, kubectl_deployment, kubectl_statefulset};
pub use revision::pod_problems;
use revision::{controller_revision, deployment};

const KIND: &str = "rollout";

/// The annotation the Deployment controller writes on a Deployment and its ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller puts on a ReplicaSet's pods.
pub(super) const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The label StatefulSet and DaemonSet controllers put on their pods and revisions.
pub(super) const REVISION_HASH: &str = "controller-revision-hash";

/// Container states that mean a pod of the new revision will not come up by waiting.
pub(super) const BROKEN_WAITING: &[&str] = &[
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

pub(super) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

pub(super) fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}

pub(super) fn owned_by(obj: &Value, kind: &str, owner: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["kind"].as_str() == Some(kind) && r["name"].as_str() == Some(owner))
        })
}

/// (container, image) of a pod template's containers.
pub(super) fn images(template: &Value) -> Vec<(String, String)> {
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

pub(super) fn changed_images(
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
    let pod_values: Vec<Value> = view.objects(&PODS, Some(ns)).collect();
    let pods: Vec<&Value> = pod_values.iter().collect();
    let mut found = Vec::new();
    for kind in &c.kinds {
        for w in view.objects(&resource(*kind), Some(ns)) {
            let w = &w;
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
        evaluate(self, view, ctx.now())
    }
}
