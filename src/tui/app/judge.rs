//! Judging: cluster evidence in (connection, watch events), verdicts out. Turns gate
//! states, load evidence and the journal into what each gate shows, the step
//! auto-verifications and the launch decision in the header. The one place where
//! freshness turns a verdict into stale. Evidence from outside the cluster arrives in
//! `evidence.rs`.

use super::state::{Connection, GateRow, LoadState, Shown};
use super::{App, Effect};
use crate::cluster::{ClusterEvent, Freshness, WatchErrorKind};
use crate::gates::{self, GateVerdict, LoadEvidence, Status, ThresholdEvidence, Verdict};
use crate::plan::Verify;
use crate::runbook::journal::Action as Record;
use crate::runbook::state::Reason;
use crate::tui::format::{self, first_line, measured};
use crate::tui::rows;
use golive_load::{Snapshot, ThresholdState};
use jiff::{SignedDuration, Timestamp};

/// A watch that has not listed this long after connecting counts as stale, not pending.
pub const LIST_DEADLINE: SignedDuration = SignedDuration::from_secs(15);
/// Time-dependent gates (certificate expiry, key age, staleness) are re-judged this often.
pub const REEVALUATE_EVERY: SignedDuration = SignedDuration::from_secs(5);

impl App {
    pub(super) fn on_connected(&mut self, context: String, server: String) -> Vec<Effect> {
        self.view.context = context.clone();
        self.view.server = server.clone();
        self.connection = Connection::Connected {
            context,
            server,
            at: self.now,
        };
        self.needs_evaluation = true;
        Vec::new()
    }

    pub(super) fn on_connect_failed(&mut self, error: String) -> Vec<Effect> {
        self.connection = Connection::Failed {
            error,
            at: self.now,
        };
        self.needs_evaluation = true;
        Vec::new()
    }

    pub(super) fn on_cluster(&mut self, event: ClusterEvent) -> Vec<Effect> {
        self.view.apply(event, self.now);
        self.needs_evaluation = true;
        Vec::new()
    }

    /// Whether [`App::settle`] would judge the gates now: something they read changed, or
    /// the time-dependent ones are due.
    pub fn judging_due(&self, now: Timestamp) -> bool {
        self.needs_evaluation
            || self
                .evaluated_at
                .is_none_or(|at| now.duration_since(at) >= REEVALUATE_EVERY)
    }

    /// Re-judges the gates if anything they read changed, or every few seconds for the
    /// time-dependent ones. The runtime calls this once per burst of messages, before drawing,
    /// and carries out what it returns (the auto-verifications to record), so the journal
    /// has them before a frame shows them. Returns nothing when there was nothing to judge.
    pub fn settle(&mut self, now: Timestamp) -> Vec<Effect> {
        self.now = now;
        if !self.judging_due(now) {
            return Vec::new();
        }
        self.needs_evaluation = false;
        self.evaluated_at = Some(now);
        self.judge();
        let mut effects = self.auto_verify();
        effects.extend(self.record_rollouts());
        effects.extend(self.capture_baselines());
        effects.extend(self.ask_dns());
        effects
    }

    /// Asks the journal to record each rollout's start, failure and completion once, from
    /// fresh evidence only: a revision seen rolling out is `started`, a broken one
    /// `failed`, and a started one that finished `complete`, with how long it took.
    fn record_rollouts(&mut self) -> Vec<Effect> {
        use crate::gates::rollout::{self, RolloutState};
        let mut effects = Vec::new();
        for r in self.rollouts().to_vec() {
            let workload = format!("{} {}/{}", r.kind, r.namespace, r.name);
            let revision = r.revision_change();
            let journaled = |event: &str| {
                self.runbook
                    .rollouts
                    .iter()
                    .any(|x| x.workload == workload && x.revision == revision && x.event == event)
            };
            let images: Vec<String> = r
                .images
                .iter()
                .map(|(c, old, new)| format!("{c}: {old} → {new}"))
                .collect();
            let status = r.status();
            let mut wanted = Vec::new();
            if r.state != RolloutState::Complete && !journaled("started") {
                let since = r
                    .started
                    .map(|s| format!(", since {s}"))
                    .unwrap_or_default();
                let said = match &r.kubectl {
                    rollout::KubectlSays::Done(t)
                    | rollout::KubectlSays::Waiting(t)
                    | rollout::KubectlSays::Error(t) => t.trim_end_matches('.').to_string(),
                };
                wanted.push(("started", format!("{said}{since}"), None));
            }
            if status == Status::Fail && !journaled("failed") {
                let mut detail = rollout::trouble(&r, self.now);
                if let Some(undo) = r.undo_command() {
                    detail.push_str(&format!("; the way back: {undo}"));
                }
                wanted.push(("failed", detail, None));
            }
            if r.state == RolloutState::Complete
                && status != Status::Fail
                && journaled("started")
                && !journaled("complete")
            {
                let began = r.started.or_else(|| {
                    self.runbook
                        .rollouts
                        .iter()
                        .find(|x| x.workload == workload && x.revision == revision)
                        .map(|x| x.at)
                });
                let took = began.map(|b| self.now.as_second() - b.as_second());
                let detail = format!(
                    "{}/{} updated and available{}",
                    r.updated,
                    r.desired,
                    took.map(|t| format!(", took {}", crate::gates::rollout::age_words(t)))
                        .unwrap_or_default()
                );
                wanted.push(("complete", detail, took));
            }
            for (event, detail, duration_s) in wanted {
                if self
                    .rollouts_asked
                    .insert(format!("{workload}|{revision}|{event}"))
                {
                    effects.push(Effect::Record(Record::Rollout {
                        workload: workload.clone(),
                        event: event.to_string(),
                        revision: revision.clone(),
                        images: images.clone(),
                        detail,
                        duration_s,
                    }));
                }
            }
        }
        effects
    }

    /// Judges every gate at `self.now`, refreshes the decision and, until the operator
    /// moves, selects the first failing gate.
    pub(super) fn judge(&mut self) {
        if self.metrics.baselines != self.runbook.baselines {
            std::sync::Arc::make_mut(&mut self.metrics).baselines = self.runbook.baselines.clone();
            self.epochs.metrics += 1;
        }
        let load = self.load_evidence();
        let moments = crate::runbook::timing::moments(&self.plan.plan.runbook, &self.runbook);
        if load != self.judged_inputs.0 {
            self.epochs.load += 1;
        }
        if moments != self.judged_inputs.1 {
            self.epochs.moments += 1;
        }
        self.judged_inputs = (load.clone(), moments.clone());
        let ctx = gates::Context::new(self.now)
            .with_load(load)
            .with_probes(self.probes.clone())
            .with_moments(moments)
            .with_metrics(Some(self.metrics.clone()))
            .with_dns(self.dns.clone());
        let verdicts = self.judgements.judge(
            &self.plan.plan.gates,
            &self.view,
            &ctx,
            self.epochs,
            REEVALUATE_EVERY,
        );
        let rows: Vec<GateRow> = self
            .plan
            .plan
            .gates
            .iter()
            .zip(verdicts)
            .map(|(gate, verdict)| self.shown(gate, verdict))
            .collect();
        self.gates = rows;
        // Rollouts read only the view: rebuilt when it changed.
        if self.judged_inputs_revision != Some(self.view.revision()) {
            self.judged_rollouts = self.fresh_rollouts();
            self.judged_inputs_revision = Some(self.view.revision());
        }
        self.refresh_verdict();
        let visible = rows::visible_gates(&self.gates, &self.filter);
        if !self.moved
            && let Some(pos) = visible
                .iter()
                .position(|i| self.gates[*i].shown == Shown::Fail)
        {
            self.gate_selected = pos;
        }
        self.gate_selected = self.gate_selected.min(visible.len().saturating_sub(1));
    }

    /// Asks the journal to tick every step whose verification passes now. Stale gates count
    /// as undecided: a step is never verified on evidence nobody can vouch for.
    fn auto_verify(&mut self) -> Vec<Effect> {
        let verdicts = self.judged();
        let load = self.load_evidence();
        let mut effects = self.hold_clocks(&verdicts);
        let clock = crate::runbook::state::HeldClock {
            pass_since: self.pass_since.clone(),
            now: self.now,
        };
        for action in crate::runbook::state::auto_verify(
            &self.plan.plan,
            &self.runbook,
            &verdicts,
            load.as_ref(),
            &clock,
        ) {
            if let Record::StepVerified { step, .. } = &action
                && self.verifying.insert(step.clone())
            {
                effects.push(Effect::Record(action));
            }
        }
        effects
    }

    /// Keeps, per gate, since when it has passed without a break. A gate a held step waits
    /// on that stops passing resets that step's clock, and the journal says so.
    fn hold_clocks(&mut self, verdicts: &[GateVerdict]) -> Vec<Effect> {
        let mut effects = Vec::new();
        for v in verdicts {
            if v.status == Status::Pass {
                self.pass_since.entry(v.id.clone()).or_insert(self.now);
                continue;
            }
            let Some(since) = self.pass_since.remove(&v.id) else {
                continue;
            };
            for phase in &self.plan.plan.runbook {
                for step in &phase.steps {
                    let Some(verify) = &step.0.verify else {
                        continue;
                    };
                    let Verify::Held(gate, hold) = &verify.value else {
                        continue;
                    };
                    if *gate != v.id || self.runbook.is_checked(&step.id()) {
                        continue;
                    }
                    let held = crate::runbook::timing::short_duration(
                        self.now.duration_since(since).as_secs().max(0) as u64,
                    );
                    effects.push(Effect::Record(Record::Note {
                        step: Some(step.id()),
                        text: format!(
                            "held clock reset: gate {gate} turned {} after passing {held} of {hold}: {}",
                            v.status.word(),
                            v.summary
                        ),
                    }));
                }
            }
        }
        effects
    }

    /// Each gate's verdict as it counts for decisions: stale is undecided.
    pub fn judged(&self) -> Vec<GateVerdict> {
        self.gates
            .iter()
            .map(|row| {
                let mut v = row.verdict.clone();
                if matches!(row.shown, Shown::Stale | Shown::Unknown) {
                    v.status = Status::Unknown;
                }
                v
            })
            .collect()
    }

    /// The header's verdict: the launch decision over gates, load, runbook and sign-offs.
    /// The gate part keeps its own wording (connection, stale gates); the rest follows.
    pub(super) fn refresh_verdict(&mut self) {
        let judged = self.judged();
        let decision =
            crate::runbook::state::decide(&self.plan.plan, &judged, &self.decided_runbook());
        let (gate_verdict, gate_reason) = self.overall();
        let mut parts = Vec::new();
        // A record that fails its check, and an override that stopped covering, are the
        // first things the operator must read.
        let integrity: Vec<&Reason> = decision
            .reasons
            .iter()
            .filter(|r| matches!(r, Reason::JournalIntegrity(_)))
            .collect();
        if let Some(first) = integrity.first() {
            parts.push(format!(
                "journal fails verification ({} problem{}), {first}",
                integrity.len(),
                if integrity.len() == 1 { "" } else { "s" }
            ));
        }
        parts.extend(
            decision
                .reasons
                .iter()
                .filter(|r| matches!(r, Reason::OverrideUncovered { .. }))
                .map(Reason::to_string),
        );
        if gate_verdict != Verdict::Go {
            parts.push(gate_reason);
        }
        // The gate part is said above, in its own words; missing roles go on one line.
        let mut missing = Vec::new();
        for r in &decision.reasons {
            match r {
                Reason::JournalIntegrity(_)
                | Reason::OverrideUncovered { .. }
                | Reason::GateFailing { .. }
                | Reason::GateUndecided { .. } => {}
                Reason::SignOffMissing { role } => missing.push(role.as_str()),
                Reason::LoadFailing(_)
                | Reason::LoadUndecided(_)
                | Reason::StepsOpen { .. }
                | Reason::SignOffRejected { .. }
                | Reason::AllClear => parts.push(r.to_string()),
            }
        }
        if !missing.is_empty() {
            parts.push(format!("sign-off missing: {}", missing.join(", ")));
        }
        let verdict = if matches!(self.connection, Connection::Failed { .. }) {
            Verdict::Unknown
        } else {
            decision.verdict
        };
        let reason = if parts.is_empty() {
            let all: Vec<String> = decision.reasons.iter().map(Reason::to_string).collect();
            all.join("; ")
        } else {
            parts.join(" · ")
        };
        self.verdict = (verdict, reason);
        self.decision = decision;
    }

    fn overall(&self) -> (Verdict, String) {
        // Stale counts as undecided: evidence nobody can vouch for decides nothing.
        let judged = self.judged();
        let (verdict, reason) = gates::overall(&judged);
        if let Connection::Failed { .. } = self.connection {
            return (Verdict::Unknown, format!("no cluster connection; {reason}"));
        }
        let stale: Vec<&str> = self
            .gates
            .iter()
            .filter(|r| r.shown == Shown::Stale)
            .map(|r| r.verdict.id.as_str())
            .collect();
        if verdict == Verdict::Unknown
            && !stale.is_empty()
            && stale.len()
                == judged
                    .iter()
                    .filter(|g| g.status == Status::Unknown)
                    .count()
        {
            let plural = if stale.len() == 1 { "gate" } else { "gates" };
            return (
                verdict,
                format!("{} {plural} stale: {}", stale.len(), stale.join(", ")),
            );
        }
        (verdict, reason)
    }

    fn shown(&self, gate: &crate::plan::Gate, verdict: GateVerdict) -> GateRow {
        let mut shown = Shown::from_status(verdict.status);
        let mut summary = verdict.summary.clone();
        let mut as_of = verdict.as_of;
        let uses_load = gate
            .checks
            .iter()
            .any(|c| matches!(c, crate::plan::Check::LoadThresholds(_)));
        if uses_load {
            match &self.load {
                LoadState::Finished { finished_at, .. } => as_of = Some(*finished_at),
                LoadState::Idle if self.load_from().is_some() => {
                    as_of = self.load_file.as_ref().and_then(|l| l.finished_at);
                }
                LoadState::Idle => {
                    as_of = self.runbook.load.as_ref().and_then(|l| l.finished_at);
                }
                _ => {}
            }
        }
        let reads_access = gate
            .checks
            .iter()
            .any(|c| matches!(c, crate::plan::Check::ClusterAccess(_)));
        if reads_access {
            // Access is as fresh as the stalest watch it vouches for.
            as_of = self
                .view
                .keys()
                .map(|(_, s)| s.last_sync.max(s.last_event))
                .min()
                .flatten();
        }
        let keys: Vec<_> = gate.checks.iter().flat_map(gates::watches).collect();
        let reads_cluster = !keys.is_empty() || reads_access;
        if reads_cluster {
            match &self.connection {
                Connection::Failed { .. } => {
                    shown = Shown::Unknown;
                    summary = "no cluster connection (see the header)".into();
                }
                Connection::Connecting => {
                    shown = Shown::Unknown;
                    summary = "connecting to the cluster…".into();
                }
                Connection::Connected { at, .. } => {
                    for key in &keys {
                        match self.view.freshness(&key.resource, key.namespace.as_deref()) {
                            Freshness::Failed(error, since)
                                if error.kind != WatchErrorKind::NotServed =>
                            {
                                shown = Shown::Stale;
                                let age = format::age(self.now.duration_since(since));
                                summary = format!("stale {age}: {}", first_line(&error.message));
                                break;
                            }
                            Freshness::Pending if self.now.duration_since(*at) >= LIST_DEADLINE => {
                                shown = Shown::Stale;
                                summary = format!(
                                    "stale: {} not listed after {}",
                                    key.resource.qualified_name(),
                                    format::age(self.now.duration_since(*at))
                                );
                                break;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if shown == Shown::Pass && verdict.status != Status::Pass {
            shown = Shown::Unknown;
        }
        GateRow {
            verdict,
            shown,
            summary,
            as_of,
        }
    }

    /// The load result as the `load_thresholds` check sees it. A run stopped early, or
    /// one that died, does not pass: it did not run the planned test.
    pub fn load_evidence(&self) -> Option<LoadEvidence> {
        if self.load_from().is_some() {
            let started = self.runbook.started_at;
            return self.load_file.clone().map(|e| e.against_start(started));
        }
        let thresholds = |s: &Snapshot| -> Vec<ThresholdEvidence> {
            s.thresholds
                .iter()
                .map(|t| ThresholdEvidence {
                    metric: t.metric.clone(),
                    expr: t.expr.clone(),
                    ok: t.state == ThresholdState::Pass,
                    measured: measured(t),
                    ..Default::default()
                })
                .collect()
        };
        match &self.load {
            LoadState::Running { snapshot, .. } => Some(LoadEvidence {
                source: None,
                finished_at: None,
                running: true,
                thresholds: thresholds(snapshot),
                requests: snapshot.http_reqs,
            }),
            LoadState::Finished {
                snapshot,
                finished_at,
                aborted,
            } => {
                let evidence = LoadEvidence {
                    source: None,
                    finished_at: Some(*finished_at),
                    running: false,
                    thresholds: thresholds(snapshot),
                    requests: snapshot.http_reqs,
                };
                Some(match aborted {
                    Some(why) => evidence.ended_early(why),
                    None => evidence,
                })
            }
            // Nothing run this session: the last result the journal holds, if any.
            LoadState::Idle => self.runbook.load.clone().filter(|l| !l.running),
            LoadState::Starting | LoadState::Failed(_) | LoadState::NotConfigured => None,
        }
    }

    /// The runbook as the decision and the report read it: with a `load: {from: FILE}`
    /// plan, the file's result stands for the load test (the journal holds none).
    pub fn decided_runbook(&self) -> std::borrow::Cow<'_, crate::runbook::state::RunbookState> {
        if self.load_from().is_none() {
            return std::borrow::Cow::Borrowed(&self.runbook);
        }
        let mut state = self.runbook.clone();
        state.load = self.load_evidence();
        state.load_stats = None;
        std::borrow::Cow::Owned(state)
    }

    /// What a step's `verify:` shows now: the gate it points at, the worst of a group, or
    /// the load test; and how to name it.
    pub fn verify_status(&self, verify: &Verify) -> (Shown, String) {
        match verify {
            Verify::Gate(id) => match self.gates.iter().find(|g| g.verdict.id == *id) {
                Some(g) => (g.shown, format!("gate {id}")),
                None => (Shown::Unknown, format!("gate {id} (not in plan)")),
            },
            Verify::Held(id, hold) => match self.gates.iter().find(|g| g.verdict.id == *id) {
                Some(g) if g.shown == Shown::Pass => {
                    let held = self
                        .pass_since
                        .get(id)
                        .map(|s| self.now.duration_since(*s).as_secs().max(0) as u64)
                        .unwrap_or(0);
                    let needed = hold.0.as_secs();
                    let shown = if held >= needed {
                        Shown::Pass
                    } else {
                        Shown::Unknown
                    };
                    (
                        shown,
                        format!(
                            "{id} held {} of {hold}",
                            crate::runbook::timing::short_duration(held.min(needed))
                        ),
                    )
                }
                Some(g) => (g.shown, format!("{id} held 0s of {hold}")),
                None => (Shown::Unknown, format!("gate {id} (not in plan)")),
            },
            Verify::Group(group) => {
                let rows: Vec<&GateRow> = self
                    .gates
                    .iter()
                    .filter(|g| g.verdict.group == *group)
                    .collect();
                let worst = rows
                    .iter()
                    .map(|g| g.shown)
                    .max_by_key(|s| match s {
                        Shown::Pass => 0,
                        Shown::Warn => 1,
                        Shown::Stale => 2,
                        Shown::Unknown => 3,
                        Shown::Fail => 4,
                    })
                    .unwrap_or(Shown::Unknown);
                (worst, format!("group {group}"))
            }
            Verify::Load => {
                let shown = match self.load_evidence() {
                    Some(e) => Shown::from_status(
                        gates::evaluate_check(
                            &crate::plan::Check::LoadThresholds(Default::default()),
                            &self.view,
                            &gates::Context::new(self.now).with_load(Some(e)),
                        )
                        .status,
                    ),
                    None => Shown::Unknown,
                };
                (shown, "load test".into())
            }
        }
    }
}
