//! `cluster_access`: the API answers and every watch the plan needs lists and watches.

use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status};
use crate::cluster::WatchKey;
use crate::cluster::{ClusterView, WatchErrorKind};

pub fn cluster_access(view: &ClusterView) -> CheckVerdict {
    let kind = "cluster_access";
    let mut evidence = Vec::new();
    let (mut ok, mut pending, mut denied, mut missing, mut unreachable, mut other) =
        (0, 0, Vec::new(), Vec::new(), 0, 0);
    for (key, state) in view.keys() {
        let why = if state.why.is_empty() {
            String::new()
        } else {
            format!("; for {}", state.why.join(", "))
        };
        match &state.error {
            None if state.synced => {
                ok += 1;
                evidence.push(Evidence::new(
                    key.to_string(),
                    format!("listed, watching ({} objects){why}", state.len()),
                ));
            }
            None => {
                pending += 1;
                evidence.push(Evidence::new(key.to_string(), "not listed yet"));
            }
            Some((_, error)) => {
                evidence.push(Evidence::new(key.to_string(), error.message.clone()));
                match error.kind {
                    WatchErrorKind::Forbidden => denied.push(key.to_string()),
                    WatchErrorKind::NotServed => missing.push(key.resource.qualified_name()),
                    WatchErrorKind::Unreachable => unreachable += 1,
                    WatchErrorKind::Other => other += 1,
                }
            }
        }
    }
    let total = view.keys().count();
    let context = if view.context.is_empty() {
        String::new()
    } else {
        format!(" (context {})", view.context)
    };
    let verdict = if total == 0 {
        CheckVerdict::new(kind, Status::Unknown, "the plan reads no cluster resources")
    } else if unreachable == total {
        CheckVerdict::new(
            kind,
            Status::Fail,
            format!("API server {} unreachable{context}", view.server),
        )
        .with_fix("check the kubeconfig, VPN and that the API server is up")
    } else if !denied.is_empty() {
        CheckVerdict::new(kind, Status::Fail, format!("forbidden: {}", denied.join(", ")))
            .with_fix("`golive rbac --plan PLAN` prints the least-privilege Roles and bindings golive needs (get, list, watch on what the plan reads); apply them with `| kubectl apply -f -` for golive's identity")
    } else if !missing.is_empty() {
        missing.dedup();
        CheckVerdict::new(
            kind,
            Status::Fail,
            format!("not served: {}", missing.join(", ")),
        )
        .with_fix("install the operator that provides these CRDs")
    } else if unreachable > 0 || other > 0 {
        CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("{} of {total} watches failing", unreachable + other),
        )
    } else if pending > 0 {
        CheckVerdict::new(
            kind,
            Status::Unknown,
            format!("{ok} of {total} watches listed; waiting"),
        )
    } else {
        CheckVerdict::new(
            kind,
            Status::Pass,
            format!("all {total} watches listed and live{context}"),
        )
    };
    verdict.with_evidence(evidence)
}

impl CheckKind for crate::plan::ClusterAccessCheck {
    const NAME: &'static str = "cluster_access";

    fn watches(&self) -> Vec<WatchKey> {
        vec![]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        Ok(cluster_access(view))
    }
}
