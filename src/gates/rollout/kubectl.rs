//! What `kubectl rollout status --watch=false` says of a Deployment, StatefulSet or
//! DaemonSet, to the letter (kubectl 1.33's status viewers): done, waiting, or an error.

use super::{KubectlSays, int};
use crate::gates::json::{condition, generation, name, str_field};
use serde_json::Value;

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

pub(super) fn strategy(obj: &Value) -> &str {
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
