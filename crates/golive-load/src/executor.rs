//! Worker threads (one current-thread runtime each) running every scenario's share of
//! VUs. Each worker records into its own `Recorder`; the aggregator swaps it out on flush.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::VuClient;
use crate::plan::{ExecKind, Plan, ScenarioPlan};
use crate::stats::{Outcome, Recorder};

/// Shared between workers and the aggregator: atomics only, read on the hot path.
pub(crate) struct Control {
    pub start: Instant,
    stopping: AtomicBool,
    pub active_vus: AtomicU64,
    pub vus_max: AtomicU64,
}

impl Control {
    pub fn new(start: Instant) -> Control {
        Control {
            start,
            stopping: AtomicBool::new(false),
            active_vus: AtomicU64::new(0),
            vus_max: AtomicU64::new(0),
        }
    }
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
    fn vu_started(&self) {
        let now = self.active_vus.fetch_add(1, Ordering::Relaxed) + 1;
        self.vus_max.fetch_max(now, Ordering::Relaxed);
    }
    fn vu_stopped(&self) {
        self.active_vus.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) struct FlushRequest {
    pub spare: Recorder,
    pub reply: oneshot::Sender<Recorder>,
}

pub(crate) enum WorkerEvent {
    Done(Box<Recorder>),
    Failed(String),
}

/// Sleeps until `at` in short slices so a graceful stop is noticed within 50 ms.
/// Returns false when the run is stopping.
async fn sleep_until_or_stop(ctl: &Control, at: Instant) -> bool {
    loop {
        if ctl.stopping() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        let slice = (at - now).min(Duration::from_millis(50));
        tokio::time::sleep(slice).await;
    }
}

struct WorkerCtx {
    plan: Arc<Plan>,
    ctl: Arc<Control>,
    rec: Rc<RefCell<Recorder>>,
    worker: usize,
}

pub(crate) fn spawn_worker(
    worker: usize,
    plan: Arc<Plan>,
    ctl: Arc<Control>,
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
                        let mut spare = req.spare;
                        spare.reset();
                        std::mem::swap(&mut *flush_rec.borrow_mut(), &mut spare);
                        let _ = req.reply.send(spare);
                    }
                });
                let ctx = Rc::new(WorkerCtx {
                    plan: plan.clone(),
                    ctl,
                    rec: rec.clone(),
                    worker,
                });
                let tasks: Vec<JoinHandle<()>> = (0..plan.scenarios.len())
                    .map(|s| tokio::task::spawn_local(run_scenario(ctx.clone(), s)))
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
                rec.replace(Recorder::new(plan.subs.len(), plan.scenarios.len()))
            });
            let _ = events.send(WorkerEvent::Done(Box::new(final_rec)));
        })
}

/// The share of `total` items that worker `w` of `n` owns (items j with j % n == w).
fn share(total: u64, w: usize, n: usize) -> u64 {
    let (w, n) = (w as u64, n as u64);
    total / n + u64::from(w < total % n)
}

async fn run_scenario(ctx: Rc<WorkerCtx>, s: usize) {
    let Some(sc) = ctx.plan.scenarios.get(s) else {
        return;
    };
    let begin = ctx.ctl.start + sc.start_time;
    if !sleep_until_or_stop(&ctx.ctl, begin).await {
        return;
    }
    let end = begin + sc.body_duration();
    let hard_deadline = end + sc.graceful_stop;
    let n = ctx.plan.workers;
    let w = ctx.worker;
    let vus: Vec<JoinHandle<()>> = match &sc.kind {
        ExecKind::ConstantVus { vus, .. } => (0..share(*vus, w, n))
            .map(|_| tokio::task::spawn_local(closed_vu(ctx.clone(), s, end, None)))
            .collect(),
        ExecKind::RampingVus { start_vus, stages } => {
            ramping_vus(&ctx, s, begin, end, *start_vus, stages).await
        }
        ExecKind::ArrivalRate { .. } => arrival_rate(&ctx, s, sc, begin).await,
    };
    let abort_handles: Vec<_> = vus.iter().map(|h| h.abort_handle()).collect();
    let all = futures::future::join_all(vus);
    if tokio::time::timeout_at(
        tokio::time::Instant::from_std(hard_deadline.max(Instant::now())),
        all,
    )
    .await
    .is_err()
    {
        // gracefulStop elapsed: interrupt what is still running.
        for h in abort_handles {
            h.abort();
        }
    }
}

/// One closed-model VU: iterations back to back until `end` (or its ramp target drops).
async fn closed_vu(
    ctx: Rc<WorkerCtx>,
    s: usize,
    end: Instant,
    ramp: Option<(usize, Rc<Cell<usize>>)>,
) {
    let plan = &ctx.plan;
    let Some(sc) = plan.scenarios.get(s) else {
        return;
    };
    let mut client = VuClient::new(plan.shared.origins.len());
    let mut active = false;
    loop {
        if ctx.ctl.stopping() || Instant::now() >= end {
            break;
        }
        if let Some((idx, target)) = &ramp
            && *idx >= target.get()
        {
            if active {
                ctx.ctl.vu_stopped();
                active = false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        if !active {
            ctx.ctl.vu_started();
            active = true;
        }
        iteration(&ctx, &mut client, sc, s, None).await;
    }
    if active {
        ctx.ctl.vu_stopped();
    }
}

async fn iteration(
    ctx: &WorkerCtx,
    client: &mut VuClient,
    sc: &ScenarioPlan,
    s: usize,
    intended: Option<Instant>,
) {
    let mut base = intended;
    for req in &sc.requests {
        let ex = client.exchange(&ctx.plan.shared, req).await;
        let mut sample = ex.sample;
        if let (Some(b), Outcome::Status(_)) = (base, sample.outcome) {
            // Coordinated-omission correction: measured from when the request should have
            // been sent (the iteration's scheduled start, or the previous request's end).
            sample.duration_us = ex.ended_at.saturating_duration_since(b).as_micros() as u64;
        }
        if base.is_some() {
            base = Some(ex.ended_at);
        }
        ctx.rec.borrow_mut().record(&req.routes, &sample);
    }
    if let Some(v) = ctx.rec.borrow_mut().iterations.get_mut(s) {
        *v += 1;
    }
}

fn vus_at(start_vus: u64, stages: &[(Duration, u64)], t: Duration) -> u64 {
    let mut from = start_vus as f64;
    let mut at = Duration::ZERO;
    for &(d, target) in stages {
        if t < at + d {
            let frac = (t - at).as_secs_f64() / d.as_secs_f64().max(1e-9);
            return (from + (target as f64 - from) * frac).round() as u64;
        }
        at += d;
        from = target as f64;
    }
    from as u64
}

async fn ramping_vus(
    ctx: &Rc<WorkerCtx>,
    s: usize,
    begin: Instant,
    end: Instant,
    start_vus: u64,
    stages: &[(Duration, u64)],
) -> Vec<JoinHandle<()>> {
    let n = ctx.plan.workers;
    let target = Rc::new(Cell::new(0usize));
    let mut handles = Vec::new();
    loop {
        let now = Instant::now();
        if ctx.ctl.stopping() || now >= end {
            break;
        }
        let global = vus_at(start_vus, stages, now - begin);
        let local = share(global, ctx.worker, n) as usize;
        target.set(local);
        while handles.len() < local {
            let idx = handles.len();
            handles.push(tokio::task::spawn_local(closed_vu(
                ctx.clone(),
                s,
                end,
                Some((idx, target.clone())),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handles
}

struct Job {
    intended: Instant,
}

struct Pool {
    idle: Vec<usize>,
    senders: Vec<mpsc::UnboundedSender<Job>>,
    backlog: VecDeque<Job>,
}

async fn arrival_rate(
    ctx: &Rc<WorkerCtx>,
    s: usize,
    sc: &ScenarioPlan,
    begin: Instant,
) -> Vec<JoinHandle<()>> {
    let ExecKind::ArrivalRate {
        schedule,
        pre,
        max,
        drop_after,
    } = &sc.kind
    else {
        return Vec::new();
    };
    // Fewer workers than VUs would leave some workers with none; use only as many as maxVUs.
    let n = ctx.plan.workers.min((*max).max(1) as usize);
    if ctx.worker >= n {
        return Vec::new();
    }
    let pre_local = share(*pre, ctx.worker, n);
    let max_local = share(*max, ctx.worker, n).max(pre_local).max(1);
    let pool = Rc::new(RefCell::new(Pool {
        idle: Vec::new(),
        senders: Vec::new(),
        backlog: VecDeque::new(),
    }));
    let mut handles = Vec::new();
    let spawn_vu = |handles: &mut Vec<JoinHandle<()>>, first: Option<Job>| {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = {
            let mut p = pool.borrow_mut();
            p.senders.push(tx);
            p.senders.len() - 1
        };
        if first.is_none() {
            pool.borrow_mut().idle.push(id);
        }
        handles.push(tokio::task::spawn_local(open_vu(
            ctx.clone(),
            s,
            id,
            rx,
            first,
            pool.clone(),
            *drop_after,
        )));
    };
    for _ in 0..pre_local {
        spawn_vu(&mut handles, None);
    }
    for offset in schedule.times(ctx.worker as u64, n as u64) {
        let at = begin + offset;
        if !sleep_until_or_stop(&ctx.ctl, at).await {
            break;
        }
        let job = Job { intended: at };
        let free = pool.borrow_mut().idle.pop();
        if let Some(id) = free {
            let sent = pool.borrow().senders.get(id).map(|tx| tx.send(job));
            if !matches!(sent, Some(Ok(()))) {
                count_dropped(ctx, s);
            }
        } else if (handles.len() as u64) < max_local {
            spawn_vu(&mut handles, Some(job));
        } else if !drop_after.is_zero() {
            pool.borrow_mut().backlog.push_back(job);
        } else {
            count_dropped(ctx, s);
        }
    }
    // No more iterations: closing the channels lets idle VUs exit.
    pool.borrow_mut().senders.clear();
    handles
}

fn count_dropped(ctx: &WorkerCtx, s: usize) {
    if let Some(v) = ctx.rec.borrow_mut().dropped.get_mut(s) {
        *v += 1;
    }
}

async fn open_vu(
    ctx: Rc<WorkerCtx>,
    s: usize,
    id: usize,
    mut rx: mpsc::UnboundedReceiver<Job>,
    first: Option<Job>,
    pool: Rc<RefCell<Pool>>,
    drop_after: Duration,
) {
    let Some(sc) = ctx.plan.scenarios.get(s) else {
        return;
    };
    ctx.ctl.vu_started();
    let mut client = VuClient::new(ctx.plan.shared.origins.len());
    let mut next = first;
    loop {
        let job = match next.take() {
            Some(j) => j,
            None => match rx.recv().await {
                Some(j) => j,
                None => break,
            },
        };
        if ctx.ctl.stopping() {
            count_dropped(&ctx, s);
        } else {
            iteration(&ctx, &mut client, sc, s, Some(job.intended)).await;
        }
        // Work queued while every VU was busy goes first; stale entries count as dropped.
        loop {
            let queued = pool.borrow_mut().backlog.pop_front();
            match queued {
                Some(j) if ctx.ctl.stopping() || j.intended.elapsed() > drop_after => {
                    count_dropped(&ctx, s)
                }
                Some(j) => {
                    next = Some(j);
                    break;
                }
                None => break,
            }
        }
        if next.is_none() {
            if pool.borrow().senders.is_empty() {
                break;
            }
            pool.borrow_mut().idle.push(id);
        }
    }
    ctx.ctl.vu_stopped();
}
