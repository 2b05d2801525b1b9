//! `pod_security`, `resources_set` and `init_container_succeeded`: what the pod template
//! of each selected Deployment asks for, and what its current pods report.

use super::json::{describe, labels, name, selector_matches};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{ClusterView, DEPLOYMENTS, PODS, WatchKey};
use crate::plan::{InitContainerCheck, WorkloadsCheck};
use serde_json::Value;

/// `pod_security` over the selected Deployments' pod templates.
pub struct PodSecurity<'a>(pub &'a WorkloadsCheck);

/// `resources_set` over the selected Deployments' containers.
pub struct ResourcesSet<'a>(pub &'a WorkloadsCheck);

/// The Deployments a check names or selects (every one in the namespace with neither).
pub fn select_deployments<'a>(
    kind: &'static str,
    c: &'a WorkloadsCheck,
    view: &'a ClusterView,
) -> Result<Vec<Value>, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &DEPLOYMENTS, Some(ns), false)?;
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    for n in &c.names {
        match view.object(&DEPLOYMENTS, Some(ns), n) {
            Some(d) => selected.push(d),
            None => missing.push(n.clone()),
        }
    }
    for d in view.objects(&DEPLOYMENTS, Some(ns)) {
        let by_label = c
            .selector
            .as_ref()
            .is_some_and(|s| s.parsed.matches(&labels(&d)));
        let all = c.names.is_empty() && c.selector.is_none();
        if (by_label || all) && !selected.iter().any(|s| name(s) == name(&d)) {
            selected.push(d);
        }
    }
    if !missing.is_empty() || selected.is_empty() {
        let what = if missing.is_empty() {
            match &c.selector {
                Some(s) => format!("no Deployment labelled {} in {ns}", s.text),
                None => format!("no Deployment in {ns}"),
            }
        } else {
            format!("Deployment {} not found in {ns}", missing.join(", "))
        };
        return Err(CheckVerdict::new(kind, Status::Fail, what.clone())
            .with_evidence(vec![Evidence::new(format!("Deployments in {ns}"), what)]));
    }
    Ok(selected)
}

/// Every container of the pod spec, init containers first, with its role in words.
fn containers(spec: &Value) -> Vec<(&'static str, &Value)> {
    let mut out = Vec::new();
    for (field, role) in [
        ("initContainers", "init container"),
        ("containers", "container"),
    ] {
        if let Some(list) = spec[field].as_array() {
            out.extend(list.iter().map(|c| (role, c)));
        }
    }
    out
}

/// The security faults of one container, with the pod-level context applied the way the
/// kubelet does: the container's runAsNonRoot/runAsUser override the pod's.
fn security_faults(pod: &Value, container: &Value) -> Vec<String> {
    let psc = &pod["securityContext"];
    let csc = &container["securityContext"];
    let mut faults = Vec::new();
    let non_root = csc["runAsNonRoot"]
        .as_bool()
        .or_else(|| psc["runAsNonRoot"].as_bool());
    let user = csc["runAsUser"]
        .as_i64()
        .or_else(|| psc["runAsUser"].as_i64());
    match (non_root, user) {
        (Some(true), Some(0)) => {
            faults.push("runAsNonRoot is true but runAsUser is 0: the pod cannot start".into())
        }
        (Some(true), _) => {}
        (Some(false), _) => faults.push("runAsNonRoot: false".into()),
        (None, _) => faults.push("runAsNonRoot not set (container or pod)".into()),
    }
    let drops_all = csc["capabilities"]["drop"]
        .as_array()
        .is_some_and(|d| d.iter().any(|c| c.as_str() == Some("ALL")));
    if !drops_all {
        faults.push("capabilities.drop lacks ALL".into());
    }
    if csc["readOnlyRootFilesystem"].as_bool() != Some(true) {
        faults.push("readOnlyRootFilesystem not true".into());
    }
    if csc["privileged"].as_bool() == Some(true) {
        faults.push("privileged: true".into());
    }
    if csc["allowPrivilegeEscalation"].as_bool() != Some(false) {
        faults.push("allowPrivilegeEscalation not false".into());
    }
    faults
}

fn per_container(
    kind: &'static str,
    c: &WorkloadsCheck,
    view: &ClusterView,
    faults_of: impl Fn(&Value, &Value) -> Vec<String>,
    ok_words: &str,
    fix: &str,
) -> Result<CheckVerdict, CheckVerdict> {
    let deployments = select_deployments(kind, c, view)?;
    let mut evidence = Vec::new();
    let mut offending = Vec::new();
    let mut checked = 0;
    for d in &deployments {
        let spec = &d["spec"]["template"]["spec"];
        for (role, container) in containers(spec) {
            checked += 1;
            let cname = container["name"].as_str().unwrap_or("?");
            let faults = faults_of(spec, container);
            if !faults.is_empty() {
                offending.push(format!("{}/{cname}", name(d)));
                evidence.push(Evidence::new(
                    format!("{} {role} {cname}", describe(d)),
                    faults.join("; "),
                ));
            }
        }
    }
    if offending.is_empty() {
        let names: Vec<&str> = deployments.iter().map(name).collect();
        Ok(CheckVerdict::new(
            kind,
            Status::Pass,
            format!("{checked} containers of {} {ok_words}", names.join(", ")),
        ))
    } else {
        Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!(
                "{} of {checked} containers fall short: {}",
                offending.len(),
                offending.join(", ")
            ),
        )
        .with_evidence(evidence)
        .with_fix(fix.to_string()))
    }
}

pub fn pod_security(c: &WorkloadsCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    per_container(
        "pod_security",
        c,
        view,
        security_faults,
        "run as non-root, drop ALL, read-only root, no escalation",
        "set securityContext: runAsNonRoot: true, capabilities.drop: [ALL], readOnlyRootFilesystem: true, allowPrivilegeEscalation: false",
    )
}

fn resource_faults(_pod: &Value, container: &Value) -> Vec<String> {
    let r = &container["resources"];
    let mut missing = Vec::new();
    for side in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            if r[side][res].is_null() {
                missing.push(format!("{side}.{res}"));
            }
        }
    }
    if missing.is_empty() {
        missing
    } else {
        vec![format!("no {}", missing.join(", "))]
    }
}

pub fn resources_set(c: &WorkloadsCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    per_container(
        "resources_set",
        c,
        view,
        resource_faults,
        "set CPU and memory requests and limits",
        "set resources.requests and resources.limits for cpu and memory on every container, init containers included",
    )
}

/// The current pods of a Deployment: matching its selector, not being deleted.
pub fn pods_of(deployment: &Value, view: &ClusterView, ns: &str) -> Vec<Value> {
    let selector = deployment["spec"]["selector"].clone();
    view.objects(&PODS, Some(ns))
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| selector.is_object() && selector_matches(&selector, &labels(p)))
        .collect()
}

pub fn init_container_succeeded(
    c: &InitContainerCheck,
    view: &ClusterView,
) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "init_container_succeeded";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &DEPLOYMENTS, Some(ns), false)?;
    require_fresh(kind, view, &PODS, Some(ns), false)?;
    let Some(d) = view.object(&DEPLOYMENTS, Some(ns), &c.workload) else {
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("Deployment {ns}/{} not found", c.workload),
        ));
    };
    let d = &d;
    let declared = d["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .is_some_and(|l| {
            l.iter()
                .any(|i| i["name"].as_str() == Some(c.container.as_str()))
        });
    if !declared {
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("{} has no init container {}", describe(d), c.container),
        )
        .with_fix("enable the migration init container, or check with a job_succeeded gate"));
    }
    let pods = pods_of(d, view, ns);
    if pods.is_empty() {
        return Ok(CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("no current pods of {} to read", describe(d)),
        ));
    }
    let mut worst = Status::Pass;
    let mut evidence = Vec::new();
    for p in &pods {
        let st = p["status"]["initContainerStatuses"]
            .as_array()
            .and_then(|l| {
                l.iter()
                    .find(|s| s["name"].as_str() == Some(c.container.as_str()))
            });
        let (status, detail) = match st {
            None => (Status::Unknown, "no status yet".to_string()),
            Some(s) => {
                let term = &s["state"]["terminated"];
                match term["exitCode"].as_i64() {
                    Some(0) => (Status::Pass, "terminated, exit 0".to_string()),
                    Some(code) => (
                        Status::Fail,
                        format!(
                            "terminated, exit {code} {}",
                            term["reason"].as_str().unwrap_or("")
                        )
                        .trim_end()
                        .to_string(),
                    ),
                    None if !s["state"]["waiting"].is_null() => (
                        Status::Fail,
                        format!(
                            "waiting: {}",
                            s["state"]["waiting"]["reason"].as_str().unwrap_or("?")
                        ),
                    ),
                    None => (Status::Unknown, "still running".to_string()),
                }
            }
        };
        worst = worst.max(status);
        evidence.push(Evidence::new(
            format!("Pod {ns}/{} init container {}", name(p), c.container),
            detail,
        ));
    }
    let summary = match worst {
        Status::Pass => format!("{} exited 0 on {} current pods", c.container, pods.len()),
        Status::Fail => format!("{} did not succeed on every current pod", c.container),
        _ => format!("{} has not finished on every current pod", c.container),
    };
    let verdict = CheckVerdict::new(kind, worst, summary).with_evidence(evidence);
    Ok(if worst == Status::Fail {
        verdict.with_fix(format!(
            "kubectl logs -n {ns} <pod> -c {} shows why the migration failed",
            c.container
        ))
    } else {
        verdict
    })
}

impl CheckKind for PodSecurity<'_> {
    const NAME: &'static str = "pod_security";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(DEPLOYMENTS, &self.0.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        pod_security(self.0, view)
    }
}

impl CheckKind for ResourcesSet<'_> {
    const NAME: &'static str = "resources_set";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(DEPLOYMENTS, &self.0.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        resources_set(self.0, view)
    }
}

impl CheckKind for InitContainerCheck {
    const NAME: &'static str = "init_container_succeeded";

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(DEPLOYMENTS, &self.namespace),
            WatchKey::namespaced(PODS, &self.namespace),
        ]
    }

    /// Of pods, the init containers' states (Deployments are kept whole).
    fn reads(&self) -> Vec<crate::cluster::Reads> {
        vec![(PODS, &["status.initContainerStatuses"])]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        init_container_succeeded(self, view)
    }
}
