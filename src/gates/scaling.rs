//! `hpa` and `pdb`: the workload scales within bounds and can still be drained.

use super::json::{condition_text, describe, name, selector_matches, template_labels};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{ClusterView, DEPLOYMENTS, HPAS, PDBS};
use crate::plan::{HpaCheck, PdbCheck};
use serde_json::Value;

/// The HPA whose scaleTargetRef is the Deployment `workload`.
pub fn hpa_for(view: &ClusterView, ns: &str, workload: &str) -> Option<Value> {
    view.objects(&HPAS, Some(ns)).find(|h| {
        let t = &h["spec"]["scaleTargetRef"];
        t["kind"].as_str() == Some("Deployment") && t["name"].as_str() == Some(workload)
    })
}

pub fn min_replicas(hpa: &Value) -> i64 {
    hpa["spec"]["minReplicas"].as_i64().unwrap_or(1)
}

pub fn hpa(c: &HpaCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "hpa";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &HPAS, Some(ns), false)?;
    let Some(h) = hpa_for(view, ns, &c.workload) else {
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!(
                "no HorizontalPodAutoscaler targets Deployment {ns}/{}",
                c.workload
            ),
        )
        .with_fix("enable the HPA (autoscaling/v2) with scaleTargetRef kind Deployment"));
    };
    let h = &h;
    let min = min_replicas(h);
    let Some(max) = h["spec"]["maxReplicas"].as_i64() else {
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("{} has no maxReplicas", describe(h)),
        ));
    };
    let mut faults = Vec::new();
    if min < i64::from(c.min_replicas_at_least) {
        faults.push(format!(
            "minReplicas {min} below {}",
            c.min_replicas_at_least
        ));
    }
    if let Some(at_most) = c.max_replicas_at_most
        && max > i64::from(at_most)
    {
        faults.push(format!("maxReplicas {max} above {at_most}"));
    }
    if max < min {
        faults.push(format!("maxReplicas {max} below minReplicas {min}"));
    }
    let mut evidence = vec![Evidence::new(
        describe(h),
        format!(
            "targets Deployment {}, min {min}, max {max}, current {}",
            c.workload,
            h["status"]["currentReplicas"]
                .as_i64()
                .map_or("?".into(), |r| r.to_string())
        ),
    )];
    let mut status = if faults.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    for cond in ["AbleToScale", "ScalingActive"] {
        if let Some(cv) = super::json::condition(h, cond)
            && cv["status"].as_str() == Some("False")
        {
            status = status.max(Status::Warn);
            evidence.push(Evidence::new(describe(h), condition_text(cv)));
        }
    }
    let summary = if faults.is_empty() {
        format!("{} scales {min}..{max}", name(h))
    } else {
        format!("{}: {}", name(h), faults.join("; "))
    };
    Ok(CheckVerdict::new(kind, status, summary).with_evidence(evidence))
}

/// An intOrString against `total` pods, rounded up as the disruption controller does.
fn scaled(v: &Value, total: i64) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let pct: i64 = v.as_str()?.strip_suffix('%')?.parse().ok()?;
    Some((pct * total + 99) / 100)
}

pub fn pdb(c: &PdbCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "pdb";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &DEPLOYMENTS, Some(ns), false)?;
    require_fresh(kind, view, &PDBS, Some(ns), false)?;
    let Some(d) = view.object(&DEPLOYMENTS, Some(ns), &c.workload) else {
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("Deployment {ns}/{} not found", c.workload),
        ));
    };
    let d = &d;
    let pod_labels = template_labels(d);
    let pdbs: Vec<Value> = view
        .objects(&PDBS, Some(ns))
        .filter(|p| selector_matches(&p["spec"]["selector"], &pod_labels))
        .collect();
    if pdbs.is_empty() {
        return Ok(CheckVerdict::new(
            kind,
            Status::Fail,
            format!("no PodDisruptionBudget selects the pods of {}", describe(d)),
        )
        .with_fix(
            "enable the PDB, with maxUnavailable: 1 or a minAvailable below the replica count",
        ));
    }
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let hpa_min = if view.freshness(&HPAS, Some(ns)) == crate::cluster::Freshness::Fresh {
        hpa_for(view, ns, &c.workload).map(|h| min_replicas(&h))
    } else {
        None
    };
    let mut status = Status::Pass;
    let mut evidence = Vec::new();
    let mut faults = Vec::new();
    for p in &pdbs {
        let spec = &p["spec"];
        let min_available = if spec["minAvailable"].is_null() {
            None
        } else {
            scaled(&spec["minAvailable"], replicas)
        };
        let allowed = if let Some(min) = min_available {
            replicas - min
        } else if let Some(max) = scaled(&spec["maxUnavailable"], replicas) {
            max.min(replicas)
        } else {
            faults.push(format!(
                "{}: neither minAvailable nor maxUnavailable parses",
                name(p)
            ));
            status = Status::Fail;
            continue;
        };
        let mut detail = format!(
            "at {replicas} replicas allows {} disruptions",
            allowed.max(0)
        );
        if allowed <= 0 {
            status = Status::Fail;
            faults.push(format!(
                "{} blocks every eviction at {replicas} replicas",
                name(p)
            ));
        }
        if let (Some(min), Some(hmin)) = (min_available, hpa_min) {
            detail.push_str(&format!("; minAvailable {min}, HPA minimum {hmin}"));
            if min > hmin {
                status = Status::Fail;
                faults.push(format!(
                    "{} minAvailable {min} above the HPA minimum {hmin}",
                    name(p)
                ));
            } else if min == hmin {
                status = status.max(Status::Warn);
                faults.push(format!(
                    "{} allows no disruption when scaled to the HPA minimum {hmin}",
                    name(p)
                ));
            }
        }
        evidence.push(Evidence::new(describe(p), detail));
    }
    let summary = if faults.is_empty() {
        let names: Vec<&str> = pdbs.iter().map(name).collect();
        format!(
            "{} allows a disruption at {replicas} replicas",
            names.join(", ")
        )
    } else {
        faults.join("; ")
    };
    let verdict = CheckVerdict::new(kind, status, summary).with_evidence(evidence);
    Ok(if status == Status::Pass {
        verdict
    } else {
        verdict
            .with_fix("lower minAvailable (or use maxUnavailable: 1) so a node drain can proceed")
    })
}

impl CheckKind for HpaCheck {
    const NAME: &'static str = "hpa";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(HPAS, &self.namespace)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        hpa(self, view)
    }
}

impl CheckKind for PdbCheck {
    const NAME: &'static str = "pdb";

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(DEPLOYMENTS, &self.namespace),
            WatchKey::namespaced(PDBS, &self.namespace),
            WatchKey::namespaced(HPAS, &self.namespace),
        ]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        pdb(self, view)
    }
}
