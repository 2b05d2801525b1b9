//! `sealing_key`: the sealed-secrets controller has an active key, and it is not overdue
//! for renewal. Secrets are read as metadata only.

use super::json::{format_age, labels, name, timestamp};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{ClusterView, SECRETS};
use crate::plan::SealingKeyCheck;
use jiff::Timestamp;

/// The label the controller sets on its keys (pkg/controller/keys.go upstream).
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

pub fn sealing_key(
    c: &SealingKeyCheck,
    view: &ClusterView,
    now: Timestamp,
) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "sealing_key";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &SECRETS, Some(ns), false)?;
    let mut active = Vec::new();
    let mut lookalikes = Vec::new();
    for s in view.objects(&SECRETS, Some(ns)) {
        let l = labels(&s);
        if l.get(KEY_LABEL).map(String::as_str) == Some("active") {
            active.push(s);
        } else if name(&s).starts_with("sealed-secrets-key")
            || l.keys()
                .any(|k| k.starts_with("sealedsecrets.bitnami.com/"))
        {
            lookalikes.push((s, l));
        }
    }
    if active.is_empty() {
        let evidence: Vec<Evidence> = lookalikes
            .iter()
            .map(|(s, l)| {
                let shown: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Evidence::new(
                    format!("Secret {ns}/{}", name(s)),
                    format!("labels {{{}}}, not {KEY_LABEL}=active", shown.join(", ")),
                )
            })
            .collect();
        let summary = if lookalikes.is_empty() {
            format!("no active sealing key in {ns}")
        } else {
            format!(
                "no Secret in {ns} labelled {KEY_LABEL}=active ({} key-like secrets with other labels)",
                lookalikes.len()
            )
        };
        return Ok(CheckVerdict::new(kind, Status::Fail, summary)
            .with_evidence(evidence)
            .with_fix(format!("the controller marks its keys {KEY_LABEL}=active; check the controller namespace, or restart it to generate a key")));
    }
    let mut evidence = Vec::new();
    let mut newest: Option<Timestamp> = None;
    for s in &active {
        let created = timestamp(&s["metadata"]["creationTimestamp"]);
        let age = created
            .map(|t| format_age(now.as_second() - t.as_second()))
            .unwrap_or_else(|| "unknown age".into());
        evidence.push(Evidence::new(
            format!("Secret {ns}/{}", name(s)),
            format!("{KEY_LABEL}=active, created {age} ago"),
        ));
        newest = newest.max(created);
    }
    let Some(newest) = newest else {
        return Ok(
            CheckVerdict::new(kind, Status::Unknown, "active key has no creationTimestamp")
                .with_evidence(evidence),
        );
    };
    let age = now.as_second() - newest.as_second();
    let renewal = c.renewal.0.as_secs() as i64;
    let n = active.len();
    let keys = if n == 1 {
        "1 active key".to_string()
    } else {
        format!("{n} active keys")
    };
    if age > renewal {
        Ok(CheckVerdict::new(
            kind,
            Status::Warn,
            format!(
                "{keys}, newest {} old, past the {} renewal period",
                format_age(age),
                c.renewal
            ),
        )
        .with_evidence(evidence)
        .with_fix("is key renewal disabled (--key-renew-period=0)? a stale key means no rotation"))
    } else {
        Ok(CheckVerdict::new(
            kind,
            Status::Pass,
            format!("{keys}, newest {} old", format_age(age)),
        )
        .with_evidence(evidence))
    }
}

impl CheckKind for SealingKeyCheck {
    const NAME: &'static str = "sealing_key";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(SECRETS, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        sealing_key(self, view, ctx.now())
    }
}
