//! A report written when the cluster cannot be reached: the live gates that read it are
//! `unknown: cluster not reachable (reason)`, each beside the last verdict the journal
//! holds for it and when that was recorded. Nothing journaled ever makes a gate pass now.

use crate::cluster::{ClusterView, WatchErrorKind};
use crate::gates::{CheckVerdict, Context, Evidence, GateVerdict, Status};
use crate::plan::{Check, Plan};
use crate::runbook::journal::{Action, Entry};
use crate::text::for_terminal;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// The last verdict the journal recorded for one gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedVerdict {
    pub at: Timestamp,
    /// `pass`, `fail`, `unknown`, `stale`…, as the cockpit showed it.
    pub status: String,
    /// What recorded it: `sign-off Security by alice`, `step … verified`.
    pub by: String,
}

/// Per gate id, the newest verdict any journal entry recorded: a sign-off records every
/// gate as shown then, an override the ones that failed, a step verified by `gate X`
/// that X passed.
pub fn last_gate_verdicts(entries: &[Entry]) -> BTreeMap<String, RecordedVerdict> {
    let mut last = BTreeMap::new();
    for e in entries {
        let mut record = |gate: &str, status: &str, by: String| {
            last.insert(
                gate.to_string(),
                RecordedVerdict {
                    at: e.at,
                    status: status.to_string(),
                    by,
                },
            );
        };
        match &e.action {
            Action::SignOff {
                role, name, gates, ..
            } => {
                for (gate, status) in gates {
                    record(gate, status, format!("sign-off {role} by {name}"));
                }
            }
            Action::Override { failing, .. } => {
                // `failing` holds the decision's reasons: `gate ID failing: …`, `gate ID undecided: …`.
                for reason in failing {
                    let Some((id, rest)) =
                        reason.strip_prefix("gate ").and_then(|r| r.split_once(' '))
                    else {
                        continue;
                    };
                    let status = if rest.starts_with("failing") {
                        "fail"
                    } else {
                        "unknown"
                    };
                    record(id, status, format!("override by {}", e.operator));
                }
            }
            Action::StepVerified { step, verify, .. } => {
                if let Some(gate) = verify.strip_prefix("gate ") {
                    record(gate.trim(), "pass", format!("step \"{step}\" verified"));
                }
            }
            _ => {}
        }
    }
    last
}

/// Why the cluster could not be reached, if nothing in `view` came from an API server:
/// no watch listed, and none was answered with a refusal (403, 404), which only a
/// reachable server gives. None when the plan watches nothing.
pub fn unreachable_reason(view: &ClusterView) -> Option<String> {
    let mut reason = None;
    let mut any = false;
    for (_, state) in view.keys() {
        any = true;
        if state.synced {
            return None;
        }
        match &state.error {
            Some((_, e))
                if matches!(
                    e.kind,
                    WatchErrorKind::Forbidden | WatchErrorKind::NotServed
                ) =>
            {
                return None;
            }
            Some((_, e)) => {
                reason.get_or_insert_with(|| e.message.clone());
            }
            None => {}
        }
    }
    any.then(|| reason.unwrap_or_else(|| "no answer from the API server".into()))
}

/// Marks every check that reads the cluster `unknown: cluster not reachable (reason)`,
/// whatever it concluded from a cluster it could not see (`cluster_access` fails on an
/// unreachable server: true for the laptop writing the report, not for the go-live), and
/// adds to each such gate what the journal last recorded for it. Checks on other evidence
/// (the journaled load test, probes) keep their verdicts.
pub fn mark_unreachable(
    plan: &Plan,
    view: &ClusterView,
    ctx: &Context,
    gates: &mut [GateVerdict],
    reason: &str,
    recorded: &BTreeMap<String, RecordedVerdict>,
) {
    let summary = format!("cluster not reachable ({})", for_terminal(reason));
    for gate in gates.iter_mut() {
        let Some(spec) = plan.gates.iter().find(|g| g.id.value == gate.id) else {
            continue;
        };
        let mut reads_cluster = false;
        for (check, verdict) in spec.checks.iter().zip(gate.checks.iter_mut()) {
            if reads_the_cluster(check, view, ctx) {
                reads_cluster = true;
                verdict.status = Status::Unknown;
                verdict.summary = summary.clone();
                verdict.fix = None;
            }
        }
        if !reads_cluster {
            continue;
        }
        gate.status =
            Status::worst(gate.checks.iter().map(|c| c.status)).unwrap_or(Status::Unknown);
        if gate.status == Status::Unknown {
            gate.summary = summary.clone();
        }
        let last = match recorded.get(&gate.id) {
            Some(r) => format!(
                "{} at {} ({})",
                for_terminal(&r.status),
                r.at,
                for_terminal(&r.by)
            ),
            None => "none recorded".into(),
        };
        gate.checks.push(
            CheckVerdict::new("journal", Status::Unknown, "last verdict in the journal")
                .with_evidence(vec![Evidence::new("last journaled verdict", last)]),
        );
    }
}

/// Whether judging `check` reads the cluster view: its watches, or the view as a whole
/// (`cluster_access` judges the connection from every watch's state).
fn reads_the_cluster(check: &Check, view: &ClusterView, ctx: &Context) -> bool {
    let _ = view.take_reads();
    let _ = crate::gates::evaluate_check(check, view, ctx);
    let reads = view.take_reads();
    reads.all || !reads.resources.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::journal::Journal;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("valid timestamp")
    }

    #[test]
    fn the_newest_record_of_each_gate_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = Journal::open(dir.path(), "alice").expect("open");
        let signoff = |gates: Vec<(&str, &str)>| Action::SignOff {
            role: "Security".into(),
            name: "bob".into(),
            approve: true,
            comment: None,
            verdict: "GO".into(),
            gates: gates
                .into_iter()
                .map(|(g, s)| (g.to_string(), s.to_string()))
                .collect(),
        };
        j.append(signoff(vec![("dns", "fail"), ("certs", "pass")]), at(1))
            .expect("append");
        j.append(
            Action::StepVerified {
                step: "dns ok".into(),
                verify: "gate dns".into(),
                evidence: vec![],
            },
            at(2),
        )
        .expect("append");
        let last = last_gate_verdicts(&j.entries);
        assert_eq!(last["dns"].status, "pass");
        assert_eq!(last["dns"].at, at(2));
        assert_eq!(last["certs"].status, "pass");
        assert_eq!(last["certs"].by, "sign-off Security by bob");
    }
}
