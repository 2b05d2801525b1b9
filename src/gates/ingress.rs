//! `ingress_tls`: every host is covered by `spec.tls`, the TLS Secret exists (metadata),
//! and the cert-manager Certificate that fills it is Ready.

use super::json::{condition, condition_text, describe, labels, name};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{CERTIFICATES, ClusterView, Freshness, INGRESSES, SECRETS};
use crate::plan::IngressTlsCheck;
use serde_json::Value;

const ISSUER_ANNOTATIONS: [&str; 2] = ["cert-manager.io/cluster-issuer", "cert-manager.io/issuer"];

fn covers(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

pub fn ingress_tls(c: &IngressTlsCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "ingress_tls";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &INGRESSES, Some(ns), false)?;
    require_fresh(kind, view, &SECRETS, Some(ns), false)?;
    let mut selected: Vec<Value> = Vec::new();
    let mut faults = Vec::new();
    for n in &c.names {
        match view.object(&INGRESSES, Some(ns), n) {
            Some(i) => selected.push(i),
            None => faults.push(format!("Ingress {n} not found")),
        }
    }
    for i in view.objects(&INGRESSES, Some(ns)) {
        let by_label = c
            .selector
            .as_ref()
            .is_some_and(|s| s.parsed.matches(&labels(&i)));
        let all = c.names.is_empty() && c.selector.is_none();
        if (by_label || all) && !selected.iter().any(|s| name(s) == name(&i)) {
            selected.push(i);
        }
    }
    if selected.is_empty() && faults.is_empty() {
        faults.push(format!("no Ingress in {ns}"));
    }
    let certs_fresh = view.freshness(&CERTIFICATES, Some(ns)) == Freshness::Fresh;
    let mut status = Status::Pass;
    let mut evidence = Vec::new();
    for ing in &selected {
        let tls = ing["spec"]["tls"].as_array().cloned().unwrap_or_default();
        let hosts: Vec<&str> = ing["spec"]["rules"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["host"].as_str()).collect())
            .unwrap_or_default();
        let uncovered: Vec<&str> = hosts
            .iter()
            .copied()
            .filter(|h| {
                !tls.iter().any(|t| {
                    t["hosts"]
                        .as_array()
                        .is_some_and(|hs| hs.iter().filter_map(Value::as_str).any(|p| covers(p, h)))
                })
            })
            .collect();
        if tls.is_empty() {
            faults.push(format!("{} has no spec.tls", name(ing)));
            evidence.push(Evidence::new(
                describe(ing),
                "no spec.tls: served over plain HTTP",
            ));
            status = Status::Fail;
            continue;
        }
        if !uncovered.is_empty() {
            faults.push(format!(
                "{} host {} not in spec.tls",
                name(ing),
                uncovered.join(", ")
            ));
            evidence.push(Evidence::new(
                describe(ing),
                format!("hosts without TLS: {}", uncovered.join(", ")),
            ));
            status = Status::Fail;
        }
        let annotated = ISSUER_ANNOTATIONS.iter().find_map(|a| {
            ing["metadata"]["annotations"][a]
                .as_str()
                .map(|v| format!("{a}={v}"))
        });
        for t in &tls {
            let Some(secret) = t["secretName"].as_str() else {
                faults.push(format!("{} has a tls entry without secretName", name(ing)));
                status = Status::Fail;
                continue;
            };
            let secret_obj = format!("Secret {ns}/{secret}");
            if view.object(&SECRETS, Some(ns), secret).is_none() {
                faults.push(format!("TLS Secret {secret} missing"));
                evidence.push(Evidence::new(secret_obj, "not found"));
                status = Status::Fail;
            } else {
                evidence.push(Evidence::new(secret_obj, "present"));
            }
            if !certs_fresh {
                if annotated.is_some() {
                    return Err(require_fresh(kind, view, &CERTIFICATES, Some(ns), true)
                        .err()
                        .unwrap_or_else(|| {
                            CheckVerdict::new(kind, Status::Unknown, "Certificates unreadable")
                        }));
                }
                status = status.max(Status::Warn);
                faults.push(format!(
                    "{secret} is not managed by cert-manager: validity unchecked"
                ));
                continue;
            }
            let cert = view
                .objects(&CERTIFICATES, Some(ns))
                .find(|cert| cert["spec"]["secretName"].as_str() == Some(secret));
            match (cert.as_ref(), &annotated) {
                (Some(cert), _) => match condition(cert, "Ready") {
                    Some(r) if r["status"].as_str() == Some("True") => {
                        evidence.push(Evidence::new(describe(cert), condition_text(r)))
                    }
                    Some(r) => {
                        faults.push(format!("Certificate {} not Ready", name(cert)));
                        evidence.push(Evidence::new(describe(cert), condition_text(r)));
                        status = Status::Fail;
                    }
                    None => {
                        faults.push(format!("Certificate {} has no Ready condition", name(cert)));
                        evidence.push(Evidence::new(describe(cert), "no Ready condition"));
                        status = status.max(Status::Unknown);
                    }
                },
                (None, Some(a)) => {
                    faults.push(format!("no Certificate for {secret} although {a}"));
                    status = Status::Fail;
                }
                (None, None) => {
                    faults.push(format!(
                        "{secret} is not managed by cert-manager: validity unchecked"
                    ));
                    status = status.max(Status::Warn);
                }
            }
        }
    }
    if !faults.is_empty() && status == Status::Pass {
        status = Status::Fail;
    }
    let summary = if faults.is_empty() {
        let names: Vec<&str> = selected.iter().map(name).collect();
        format!(
            "{}: every host behind TLS, certificates Ready",
            names.join(", ")
        )
    } else {
        faults.join("; ")
    };
    let verdict = CheckVerdict::new(kind, status, summary).with_evidence(evidence);
    Ok(if status == Status::Fail {
        verdict.with_fix("list every host under spec.tls with a secretName, and annotate cert-manager.io/cluster-issuer so cert-manager issues it")
    } else {
        verdict
    })
}

impl CheckKind for IngressTlsCheck {
    const NAME: &'static str = "ingress_tls";

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(INGRESSES, &self.namespace),
            WatchKey::namespaced(SECRETS, &self.namespace),
            WatchKey::namespaced(CERTIFICATES, &self.namespace),
        ]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        ingress_tls(self, view)
    }
}
