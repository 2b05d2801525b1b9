//! Re-judging only what changed. The cockpit judges the plan many times a minute; with
//! tens of thousands of watched pods a full pass costs tens of milliseconds, most of it
//! spent re-reading objects that have not changed. Each gate's verdict is kept with what
//! its evaluation read (the view's resources, the parts of the [`Context`]) and the
//! revisions of those at the time; a gate is judged again only when one of them changed,
//! or, for a gate that read the time, when [`Judgements::judge`]'s `every` has passed.
//! What a gate reads is recorded by the view and the context themselves, so a new check
//! cannot forget to declare an input: the verdicts are those of a full pass.

use super::{Context, GateVerdict, Inputs, evaluate_gate};
use crate::cluster::{ClusterView, ViewReads};
use crate::plan::Gate;
use jiff::{SignedDuration, Timestamp};

/// Counters the caller bumps when a part of the [`Context`] changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Epochs {
    pub load: u64,
    pub probes: u64,
    pub moments: u64,
    pub metrics: u64,
    pub dns: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    gate: String,
    verdict: GateVerdict,
    view: ViewReads,
    view_revision: u64,
    read: Inputs,
    epochs: Epochs,
    at: Timestamp,
}

impl Entry {
    fn due(
        &self,
        view: &ClusterView,
        now: Timestamp,
        epochs: Epochs,
        every: SignedDuration,
    ) -> bool {
        let r = self.read;
        self.view.revision(view) != self.view_revision
            || (r.load && epochs.load != self.epochs.load)
            || (r.probes && epochs.probes != self.epochs.probes)
            || (r.moments && epochs.moments != self.epochs.moments)
            || (r.metrics && epochs.metrics != self.epochs.metrics)
            || (r.dns && epochs.dns != self.epochs.dns)
            || (r.now && now.duration_since(self.at) >= every)
    }
}

/// The latest verdict of each gate and what it was judged on.
#[derive(Debug, Clone, Default)]
pub struct Judgements {
    entries: Vec<Option<Entry>>,
    /// Gates evaluated by the latest [`Judgements::judge`].
    pub evaluated: usize,
}

impl Judgements {
    /// Every gate's verdict, evaluating only those whose inputs changed since they were
    /// last judged (all of them the first time).
    pub fn judge(
        &mut self,
        gates: &[Gate],
        view: &ClusterView,
        ctx: &Context,
        epochs: Epochs,
        every: SignedDuration,
    ) -> Vec<GateVerdict> {
        self.entries.resize(gates.len(), None);
        self.evaluated = 0;
        let now = ctx.now;
        let mut verdicts = Vec::with_capacity(gates.len());
        for (gate, slot) in gates.iter().zip(self.entries.iter_mut()) {
            let fresh = slot
                .as_ref()
                .is_some_and(|e| e.gate == gate.id.value && !e.due(view, now, epochs, every));
            if !fresh {
                view.take_reads();
                ctx.take_reads();
                let verdict = evaluate_gate(gate, view, ctx);
                let reads = view.take_reads();
                *slot = Some(Entry {
                    gate: gate.id.value.clone(),
                    verdict,
                    view_revision: reads.revision(view),
                    view: reads,
                    read: ctx.take_reads(),
                    epochs,
                    at: now,
                });
                self.evaluated += 1;
            }
            if let Some(e) = slot {
                verdicts.push(e.verdict.clone());
            }
        }
        verdicts
    }
}
