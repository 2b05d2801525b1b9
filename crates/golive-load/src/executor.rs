//! Worker threads (one current-thread runtime each) running every scenario's share of
//! VUs. Each worker records into its own `Recorder`; the aggregator swaps it out on flush.
//! The executors themselves are in `closed.rs` and `arrival.rs`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::arrival::{PoolLink, arrival_rate, settle_unstarted};
use crate::closed::{closed_vu, ramping_vus};
use crate::control::Control;
use crate::plan::{ExecKind, Plan};
use crate::stats::Recorder;
use crate::worker::{WorkerCtx, share, sleep_until_or_stop};

pub(crate) struct FlushRequest {
    pub spare: Recorder,
    pub reply: oneshot::Sender<Recorder>,
}

pub(crate) enum WorkerEvent {
    Done(Box<Recorder>),
    Failed(String),
}

/// Hands the worker's recorder to the aggregator in exchange for its empty spare. If the
/// aggregator stopped waiting, the samples go back into the worker's recorder, so the next
/// flush (or the final one) carries them: a late flush never loses data.
pub(crate) fn answer_flush(rec: &RefCell<Recorder>, req: FlushRequest) {
    let mut spare = req.spare;
    spare.reset();
    std::mem::swap(&mut *rec.borrow_mut(), &mut spare);
    if let Err(unread) = req.reply.send(spare) {
        rec.borrow_mut().add(&unread);
    }
}

pub(crate) fn spawn_worker(
    worker: usize,
    plan: Arc<Plan>,
    ctl: Arc<Control>,
    mut links: Vec<Option<PoolLink>>,
    mut flush_rx: mpsc::UnboundedReceiver<FlushRequest>,
    events: mpsc::UnboundedSender<WorkerEvent>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("golive-load-{worker}"))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = events.send(WorkerEvent::Failed(format!(
                        "worker {worker}: cannot start a runtime: {e}"
                    )));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            let rec = Rc::new(RefCell::new(Recorder::new(
                plan.subs.len(),
                plan.scenarios.len(),
            )));
            let final_rec = local.block_on(&rt, async {
                let flush_rec = rec.clone();
                tokio::task::spawn_local(async move {
                    while let Some(req) = flush_rx.recv().await {
                        answer_flush(&flush_rec, req);
                    }
                });
                let ctx = Rc::new(WorkerCtx {
                    plan: plan.clone(),
                    ctl,
                    rec: rec.clone(),
                    worker,
                });
                let tasks: Vec<JoinHandle<()>> = (0..plan.scenarios.len())
                    .map(|s| {
                        // Per scenario, this worker's end of an arrival-rate scenario's pool.
                        let link = links.get_mut(s).and_then(Option::take);
                        tokio::task::spawn_local(run_scenario(ctx.clone(), s, link))
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
                rec.replace(Recorder::new(plan.subs.len(), plan.scenarios.len()))
            });
            let _ = events.send(WorkerEvent::Done(Box::new(final_rec)));
        })
}

async fn run_scenario(ctx: Rc<WorkerCtx>, s: usize, link: Option<PoolLink>) {
    let Some(sc) = ctx.plan.scenarios.get(s) else {
        return;
    };
    let begin = ctx.ctl.start + sc.start_time;
    if !sleep_until_or_stop(&ctx.ctl, begin).await {
        if let Some(link) = link {
            settle_unstarted(&ctx, s, &link.shared, 0);
        }
        return;
    }
    let end = begin + sc.body_duration();
    let hard_deadline = end + sc.graceful_stop;
    let n = ctx.plan.workers;
    let w = ctx.worker;
    let mut ramp_down = None;
    let mut pool = None;
    let vus: Vec<JoinHandle<()>> = match &sc.kind {
        ExecKind::ConstantVus { vus, .. } => (0..share(*vus, w, n))
            .map(|_| tokio::task::spawn_local(closed_vu(ctx.clone(), s, end, None)))
            .collect(),
        ExecKind::RampingVus { .. } => {
            let (vus, tail) = ramping_vus(&ctx, s, begin, end).await;
            ramp_down = Some(tail);
            vus
        }
        ExecKind::ArrivalRate { .. } => match link {
            Some(link) => {
                let shared = link.shared.clone();
                let (vus, jobs) = arrival_rate(&ctx, s, sc, begin, link).await;
                pool = Some((jobs, shared));
                vus
            }
            // More workers than maxVUs: this one takes no part.
            None => Vec::new(),
        },
    };
    let abort_handles: Vec<_> = vus.iter().map(|h| h.abort_handle()).collect();
    let all = futures::future::join_all(vus);
    let deadline = tokio::time::Instant::from_std(hard_deadline.max(Instant::now()));
    let finished = tokio::select! {
        r = tokio::time::timeout_at(deadline, all) => r.is_ok(),
        () = ctx.ctl.until_aborted() => false,
    };
    if !finished {
        // gracefulStop elapsed, or the run was stopped at once: interrupt what still runs.
        for h in abort_handles {
            h.abort();
        }
    }
    if let Some(tail) = ramp_down {
        tail.abort();
    }
    if let Some((pool, shared)) = pool {
        let unstarted = pool.borrow().unstarted();
        settle_unstarted(&ctx, s, &shared, unstarted);
    }
}
