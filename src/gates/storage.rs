//! `pvc_access`: claims are Bound with the access mode the service needs, and their
//! StorageClass exists. Classes do not declare modes: an unsupported claim stays Pending.

use super::json::{describe, labels, name};
use super::{CheckKind, Context};
use super::{CheckVerdict, Evidence, Status, require_fresh};
use crate::cluster::WatchKey;
use crate::cluster::{ClusterView, PVCS, STORAGE_CLASSES};
use crate::plan::PvcAccessCheck;
use serde_json::Value;

const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

pub fn pvc_access(c: &PvcAccessCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let kind = "pvc_access";
    let ns = c.namespace.as_str();
    require_fresh(kind, view, &PVCS, Some(ns), false)?;
    require_fresh(kind, view, &STORAGE_CLASSES, None, false)?;
    let mut evidence = Vec::new();
    let mut faults = Vec::new();
    let mut selected: Vec<Value> = Vec::new();
    for n in &c.names {
        match view.object(&PVCS, Some(ns), n) {
            Some(p) => selected.push(p),
            None => {
                faults.push(format!("{n} not found"));
                evidence.push(Evidence::new(
                    format!("PersistentVolumeClaim {ns}/{n}"),
                    "not found",
                ));
            }
        }
    }
    if let Some(sel) = &c.selector {
        for p in view
            .objects(&PVCS, Some(ns))
            .filter(|p| sel.parsed.matches(&labels(p)))
        {
            if !selected.iter().any(|s| name(s) == name(&p)) {
                selected.push(p);
            }
        }
    }
    if selected.is_empty() && faults.is_empty() {
        faults.push(format!("no PersistentVolumeClaim selected in {ns}"));
    }
    let classes: Vec<Value> = view.objects(&STORAGE_CLASSES, None).collect();
    for p in &selected {
        let mut bad = Vec::new();
        let phase = p["status"]["phase"].as_str().unwrap_or("no phase");
        if phase != "Bound" {
            bad.push(format!("{phase}, not Bound"));
        }
        let modes: Vec<&str> = p["status"]["accessModes"]
            .as_array()
            .or_else(|| p["spec"]["accessModes"].as_array())
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !modes.contains(&c.access_mode.as_str()) {
            bad.push(format!(
                "access modes [{}] lack {}",
                modes.join(", "),
                c.access_mode
            ));
        }
        let class = match p["spec"]["storageClassName"].as_str() {
            Some(cls) if !cls.is_empty() => Some(cls.to_string()),
            _ => classes
                .iter()
                .find(|s| s["metadata"]["annotations"][DEFAULT_CLASS].as_str() == Some("true"))
                .map(|s| name(s).to_string()),
        };
        match &class {
            Some(cls) if classes.iter().any(|s| name(s) == cls) => {}
            Some(cls) => bad.push(format!("StorageClass {cls} does not exist")),
            None => bad.push("no storageClassName and no default StorageClass".into()),
        }
        let class_text = class.unwrap_or_else(|| "none".into());
        let detail = if bad.is_empty() {
            format!("Bound, {}, class {class_text}", modes.join(", "))
        } else {
            bad.join("; ")
        };
        if !bad.is_empty() {
            faults.push(format!("{}: {}", name(p), bad.join("; ")));
        }
        evidence.push(Evidence::new(describe(p), detail));
    }
    if faults.is_empty() {
        let names: Vec<&str> = selected.iter().map(name).collect();
        Ok(CheckVerdict::new(
            kind,
            Status::Pass,
            format!("{} Bound {}", names.join(", "), c.access_mode),
        )
        .with_evidence(evidence))
    } else {
        Ok(CheckVerdict::new(kind, Status::Fail, faults.join("; "))
            .with_evidence(evidence)
            .with_fix(format!(
                "use a StorageClass whose provisioner supports {} (NFS, CephFS, EFS, Azure Files); a claim it cannot serve stays Pending",
                c.access_mode
            )))
    }
}

impl CheckKind for PvcAccessCheck {
    const NAME: &'static str = "pvc_access";

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(PVCS, &self.namespace),
            WatchKey::cluster(STORAGE_CLASSES),
        ]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        pvc_access(self, view)
    }
}
