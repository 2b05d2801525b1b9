//! `backups`: a Velero Schedule (`velero.io/v1`) covers the namespace, and the newest
//! Backup that includes it is `Completed` and younger than `max_age`. Velero not being
//! installed (its CRDs not served) fails: nothing backs the namespace up.

use super::json::{format_age, name, str_field, timestamp};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{ClusterView, VELERO_BACKUPS, VELERO_SCHEDULES, WatchKey};
use crate::plan::BackupsCheck;
use jiff::Timestamp;
use serde_json::Value;

const KIND: &str = "backups";

/// Phases after which Velero no longer touches a Backup (`pkg/apis/velero/v1/backup_types.go`).
const FINISHED: [&str; 4] = ["Completed", "PartiallyFailed", "Failed", "FailedValidation"];

/// Seconds a backup's time may be ahead of golive's clock before it is not believed.
const FUTURE_SKEW: i64 = 300;

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a Backup spec (or a Schedule's template) takes `ns`: included by name, by `*`
/// or by an empty list (all), and not excluded.
fn includes(spec: &Value, ns: &str) -> bool {
    let included = strings(&spec["includedNamespaces"]);
    let excluded = strings(&spec["excludedNamespaces"]);
    (included.is_empty() || included.iter().any(|n| *n == "*" || *n == ns))
        && !excluded.iter().any(|n| *n == "*" || *n == ns)
}

/// When a Backup finished, or started, or was created: the newest is judged.
fn backup_time(b: &Value) -> Option<Timestamp> {
    timestamp(&b["status"]["completionTimestamp"])
        .or_else(|| timestamp(&b["status"]["startTimestamp"]))
        .or_else(|| timestamp(&b["metadata"]["creationTimestamp"]))
}

fn backup_text(b: &Value, now: Timestamp) -> String {
    let phase = match str_field(&b["status"], "phase") {
        "" => "no phase",
        p => p,
    };
    let when = backup_time(b)
        .map(|t| {
            format!(
                " at {t} ({} ago)",
                format_age(now.as_second() - t.as_second())
            )
        })
        .unwrap_or_default();
    let count = |key: &str, word: &str| {
        let n = b["status"][key].as_u64().unwrap_or(0);
        format!("{n} {word}{}", if n == 1 { "" } else { "s" })
    };
    let mut text = format!(
        "{phase}{when}, {}, {}",
        count("errors", "error"),
        count("warnings", "warning")
    );
    let reason = str_field(&b["status"], "failureReason");
    if !reason.is_empty() {
        text.push_str(&format!(": {reason}"));
    }
    let invalid = strings(&b["status"]["validationErrors"]);
    if !invalid.is_empty() {
        text.push_str(&format!(": {}", invalid.join("; ")));
    }
    if let Some(schedule) = b["metadata"]["labels"]["velero.io/schedule-name"].as_str() {
        text.push_str(&format!(" (Schedule {schedule})"));
    }
    text
}

pub fn backups(
    c: &BackupsCheck,
    view: &ClusterView,
    now: Timestamp,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    let velero = c.velero_namespace.as_str();
    require_fresh(KIND, view, &VELERO_SCHEDULES, Some(velero), true)?;
    require_fresh(KIND, view, &VELERO_BACKUPS, Some(velero), true)?;
    let mut evidence = Vec::new();
    let mut covering = Vec::new();
    for s in view.objects(&VELERO_SCHEDULES, Some(velero)) {
        let s = &s;
        if !includes(&s["spec"]["template"], ns) {
            continue;
        }
        let object = format!("Schedule {velero}/{}", name(s));
        let cron = str_field(&s["spec"], "schedule");
        if s["spec"]["paused"].as_bool() == Some(true) {
            evidence.push(Evidence::new(object, format!("covers {ns} but is paused")));
        } else if str_field(&s["status"], "phase") == "FailedValidation" {
            let why = strings(&s["status"]["validationErrors"]).join("; ");
            evidence.push(Evidence::new(
                object,
                format!("covers {ns} but failed validation: {why}"),
            ));
        } else {
            let last = timestamp(&s["status"]["lastBackup"])
                .map(|t| format!(", last backup {t}"))
                .unwrap_or_default();
            evidence.push(Evidence::new(object, format!("`{cron}` covers {ns}{last}")));
            covering.push(name(s).to_string());
        }
    }
    let mut taking: Vec<Value> = view
        .objects(&VELERO_BACKUPS, Some(velero))
        .filter(|b| includes(&b["spec"], ns))
        .collect();
    taking.sort_by_key(|b| std::cmp::Reverse(backup_time(b)));
    for running in taking
        .iter()
        .take_while(|b| !FINISHED.contains(&str_field(&b["status"], "phase")))
    {
        evidence.push(Evidence::new(
            format!("Backup {velero}/{}", name(running)),
            format!("still running: {}", backup_text(running, now)),
        ));
    }
    let newest = taking
        .iter()
        .find(|b| FINISHED.contains(&str_field(&b["status"], "phase")));
    if let Some(b) = newest {
        evidence.push(Evidence::new(
            format!("Backup {velero}/{}", name(b)),
            backup_text(b, now),
        ));
    }
    if covering.is_empty() {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Fail,
            format!("no Velero Schedule covers {ns}"),
        )
        .with_evidence(evidence)
        .with_fix(format!(
            "velero schedule create {ns}-daily --schedule='0 2 * * *' --include-namespaces {ns}"
        )));
    }
    let Some(b) = newest else {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Fail,
            format!(
                "no finished Velero Backup includes {ns} (Schedule {})",
                covering.join(", ")
            ),
        )
        .with_evidence(evidence)
        .with_fix(format!(
            "velero backup create --from-schedule {} and check `velero backup describe`",
            covering[0]
        )));
    };
    let phase = str_field(&b["status"], "phase");
    let age = backup_time(b).map(|t| now.as_second() - t.as_second());
    let max = c.max_age.0.as_secs() as i64;
    let too_old = age.is_none_or(|a| a > max);
    let what = format!("Backup {} {}", name(b), backup_text(b, now));
    // Later than now beyond clock skew: the time cannot be trusted, so neither can its age.
    let from_the_future = age.is_some_and(|a| a < -FUTURE_SKEW);
    let (status, summary) = match phase {
        _ if from_the_future => (
            Status::Unknown,
            format!("newest {what}: its time is later than now (clock skew?); its age is unknown"),
        ),
        "Completed" if !too_old => (Status::Pass, what),
        "PartiallyFailed" if !too_old => (
            Status::Warn,
            format!("{what}: some items were not backed up"),
        ),
        "Completed" | "PartiallyFailed" => (
            Status::Fail,
            format!("newest {what}: older than max_age {}", c.max_age),
        ),
        _ => (Status::Fail, format!("newest {what}")),
    };
    let verdict = CheckVerdict::new(KIND, status, summary).with_evidence(evidence);
    Ok(if status == Status::Pass {
        verdict
    } else {
        verdict.with_fix(format!(
            "velero backup describe {} --details and velero backup logs {} say what failed",
            name(b),
            name(b)
        ))
    })
}

impl CheckKind for BackupsCheck {
    const NAME: &'static str = KIND;

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(VELERO_SCHEDULES, &self.velero_namespace),
            WatchKey::namespaced(VELERO_BACKUPS, &self.velero_namespace),
        ]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        backups(self, view, ctx.now)
    }
}
