//! `warning_events`: Warning events (`events.k8s.io/v1`, as kubectl 1.33 reads them) on
//! the namespace's pods, ReplicaSets, workloads and HPAs since a moment of the go-live,
//! grouped by object and reason with their counts.
//!
//! Events are many and short-lived (the API server keeps them an hour by default): golive
//! watches them only in the plan's namespaces and keeps the few fields read below.

use super::json::{format_age, str_field, timestamp};
use super::{CheckKind, CheckVerdict, Context, Evidence, Moments, Status, require_fresh};
use crate::cluster::{ClusterView, EVENTS, Reads, WatchKey};
use crate::plan::{Since, WarningEventsCheck};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

const KIND: &str = "warning_events";

/// The kinds of object whose warnings speak about the service's deploy.
const REGARDING: &[&str] = &[
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "HorizontalPodAutoscaler",
];

/// When an event last happened: its series' last observation, else its time.
pub fn last_seen(e: &Value) -> Option<Timestamp> {
    timestamp(&e["series"]["lastObservedTime"])
        .or_else(|| timestamp(&e["deprecatedLastTimestamp"]))
        .or_else(|| timestamp(&e["eventTime"]))
        .or_else(|| timestamp(&e["metadata"]["creationTimestamp"]))
}

/// How many times it happened (`series.count`, or the core form's `deprecatedCount`).
pub fn count(e: &Value) -> i64 {
    e["series"]["count"]
        .as_i64()
        .or_else(|| e["deprecatedCount"].as_i64())
        .unwrap_or(1)
        .max(1)
}

/// The moment `since` names, when it is known.
pub fn moment(since: &Since, moments: &Moments) -> Option<Timestamp> {
    match since {
        Since::Golive => moments.started,
        Since::Phase(_) => {
            let name = since.phase(moments.phases.iter().map(|(n, _)| n.as_str()))?;
            moments
                .phases
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, at)| *at)
        }
    }
}

/// One object's warnings of one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningGroup {
    /// `Pod gravl-staging/backend-5f7d9-abcde`.
    pub object: String,
    pub reason: String,
    pub count: i64,
    pub last: Option<Timestamp>,
    /// The newest event's note.
    pub note: String,
}

/// The Warning events `c` counts in the view, grouped, newest first; `from` is the
/// boundary (none: every event the API server still holds).
pub fn warnings(
    c: &WarningEventsCheck,
    view: &ClusterView,
    from: Option<Timestamp>,
) -> Vec<WarningGroup> {
    let mut groups: BTreeMap<(String, String), WarningGroup> = BTreeMap::new();
    for e in view.objects(&EVENTS, Some(&c.namespace)) {
        let e = &e;
        if str_field(e, "type") != "Warning" {
            continue;
        }
        let regarding = &e["regarding"];
        let kind = str_field(regarding, "kind");
        if !REGARDING.contains(&kind) {
            continue;
        }
        let reason = str_field(e, "reason");
        if c.ignore.iter().any(|r| r == reason)
            || (!c.reasons.is_empty() && !c.reasons.iter().any(|r| r == reason))
        {
            continue;
        }
        let last = last_seen(e);
        if let Some(from) = from
            && last.is_some_and(|l| l < from)
        {
            continue;
        }
        let ns = match str_field(regarding, "namespace") {
            "" => c.namespace.as_str(),
            ns => ns,
        };
        let object = format!("{kind} {ns}/{}", str_field(regarding, "name"));
        let group = groups
            .entry((object.clone(), reason.to_string()))
            .or_insert_with(|| WarningGroup {
                object,
                reason: reason.to_string(),
                count: 0,
                last: None,
                note: String::new(),
            });
        group.count += count(e);
        if last >= group.last {
            group.last = last;
            group.note = str_field(e, "note").to_string();
        }
    }
    let mut out: Vec<WarningGroup> = groups.into_values().collect();
    out.sort_by(|a, b| b.last.cmp(&a.last).then(a.object.cmp(&b.object)));
    out
}

pub fn evaluate(
    c: &WarningEventsCheck,
    view: &ClusterView,
    ctx: &Context,
) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    require_fresh(KIND, view, &EVENTS, Some(ns), false)?;
    let from = moment(&c.since, ctx.moments());
    let boundary = match from {
        Some(at) => format!("since {} ({at})", c.since),
        None => format!(
            "{} is not known yet: every Warning event the API server holds counts",
            c.since
        ),
    };
    let groups = warnings(c, view, from);
    if groups.is_empty() {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Pass,
            format!("no Warning events in {ns} {}", short(from, &c.since)),
        )
        .with_evidence(vec![Evidence::new(format!("events in {ns}"), boundary)]));
    }
    let total: i64 = groups.iter().map(|g| g.count).sum();
    let mut evidence = vec![Evidence::new(format!("events in {ns}"), boundary)];
    evidence.extend(groups.iter().map(|g| {
        let ago = g
            .last
            .map(|l| {
                format!(
                    ", last {} ago",
                    format_age(ctx.now().as_second() - l.as_second())
                )
            })
            .unwrap_or_default();
        Evidence::new(
            g.object.clone(),
            format!("{} ×{}{ago}: {}", g.reason, g.count, g.note),
        )
    }));
    let first = &groups[0];
    let summary = format!(
        "{total} Warning event{} on {} object{} {}; newest: {} {} {}",
        if total == 1 { "" } else { "s" },
        groups
            .iter()
            .map(|g| &g.object)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        if groups.len() == 1 { "" } else { "s" },
        short(from, &c.since),
        first.object,
        first.reason,
        first.note
    );
    Ok(CheckVerdict::new(KIND, Status::Fail, summary).with_evidence(evidence))
}

fn short(from: Option<Timestamp>, since: &Since) -> String {
    match from {
        Some(_) => format!("since {since}"),
        None => "held by the API server".into(),
    }
}

/// The fields read of an event; its `metadata.managedFields` and the rest are dropped.
pub const EVENT_READS: &[&str] = &[
    "type",
    "reason",
    "note",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "series",
    "deprecatedCount",
    "deprecatedLastTimestamp",
    "eventTime",
];

impl CheckKind for WarningEventsCheck {
    const NAME: &'static str = "warning_events";

    fn watches(&self) -> Vec<WatchKey> {
        vec![WatchKey::namespaced(EVENTS, &self.namespace)]
    }

    fn reads(&self) -> Vec<Reads> {
        vec![(EVENTS, EVENT_READS)]
    }

    fn evaluate(&self, view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        evaluate(self, view, ctx)
    }
}
