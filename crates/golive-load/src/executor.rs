//! Worker threads (one current-thread runtime each) running every scenario's share of
//! VUs. Each worker records into its own `Recorder`; the aggregator swaps it out on flush.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::VuClient;
use crate::plan::{ExecKind, Plan, ScenarioPlan};
use crate::stats::Recorder;

/// Shared between workers and the aggregator: atomics only, read on the hot path.
pub(crate) struct Control {
    pub start: Instant,
    stopping: AtomicBool,
    /// Cancelled by a stop "at once": scenarios interrupt their running iterations without
    /// waiting for gracefulStop.
    abort: CancellationToken,
    pub active_vus: AtomicU64,
    pub vus_max: AtomicU64,
}

impl Control {
    pub fn new(start: Instant) -> Control {
        Control {
            start,
            stopping: AtomicBool::new(false),
            abort: CancellationToken::new(),
            active_vus: AtomicU64::new(0),
            vus_max: AtomicU64::new(0),
        }
    }
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
    /// Stops, and interrupts what is running instead of letting it finish.
    pub fn abort(&self) {
        self.stop();
        self.abort.cancel();
    }
    pub fn aborted(&self) -> bool {
        self.abort.is_cancelled()
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
    /// Per scenario, this worker's end of an arrival-rate scenario's shared VU pool.
    links: RefCell<Vec<Option<PoolLink>>>,
}

pub(crate) fn spawn_worker(
    worker: usize,
    plan: Arc<Plan>,
    ctl: Arc<Control>,
    links: Vec<Option<PoolLink>>,
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
                    links: RefCell::new(links),
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
    let link = ctx.links.borrow_mut().get_mut(s).and_then(Option::take);
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
        () = ctx.ctl.abort.cancelled() => false,
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
        let unstarted = {
            let p = pool.borrow();
            p.accepted as i64 - p.consumed as i64
        };
        settle_unstarted(&ctx, s, &shared, unstarted);
    }
}

/// Adds this worker's (accepted − taken up) iterations to the scenario's total; the last
/// worker to finish counts what never started (still queued for dropAfter, or on its way
/// to a VU when gracefulStop cut the scenario) as dropped, as k6 would. Summed across
/// workers because an iteration can be accepted on one and taken up on another.
fn settle_unstarted(ctx: &WorkerCtx, s: usize, shared: &SharedPool, unstarted: i64) {
    shared.unstarted.fetch_add(unstarted, Ordering::SeqCst);
    if shared.workers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
        let total = shared.unstarted.load(Ordering::SeqCst);
        count_dropped_n(ctx, s, total.max(0) as u64);
    }
}

/// A ramping VU's view of the ramp: its index among the worker's VUs, how many may start
/// iterations (`target`) and how many may still finish one (`allowed`, which lags
/// `target` by `gracefulRampDown` on the way down).
struct RampSeat {
    idx: usize,
    target: Rc<Cell<usize>>,
    allowed: watch::Receiver<usize>,
}

/// Resolves when the VU at `idx` must abandon its iteration; never if the ramp has ended.
async fn ramp_down_reaches(allowed: &mut watch::Receiver<usize>, idx: usize) {
    if allowed.wait_for(|a| idx >= *a).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One closed-model VU: iterations back to back until `end` (or its ramp target drops).
async fn closed_vu(ctx: Rc<WorkerCtx>, s: usize, end: Instant, mut ramp: Option<RampSeat>) {
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
        if let Some(seat) = &ramp
            && seat.idx >= seat.target.get()
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
        match &mut ramp {
            None => iteration(&ctx, &mut client, sc, s, None).await,
            Some(seat) => {
                tokio::select! {
                    biased;
                    () = iteration(&ctx, &mut client, sc, s, None) => {}
                    () = ramp_down_reaches(&mut seat.allowed, seat.idx) => {
                        // k6: an interrupted iteration is not counted, nor is the request
                        // it was waiting on. Its connection is mid-exchange: drop it.
                        client = VuClient::new(plan.shared.origins.len());
                    }
                }
            }
        }
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
        if let Some(b) = base
            && sample.timed
        {
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

/// The most VUs planned at any time in `[t - grace, t]`: a VU above the current target
/// may finish its iteration while it was planned within the last `gracefulRampDown` (k6).
fn vus_allowed_at(start_vus: u64, stages: &[(Duration, u64)], t: Duration, grace: Duration) -> u64 {
    let from = t.saturating_sub(grace);
    let mut most = vus_at(start_vus, stages, t).max(vus_at(start_vus, stages, from));
    // Between the ends the plan is linear per stage, so its peaks are at stage ends.
    let mut at = Duration::ZERO;
    for &(d, target) in stages {
        at += d;
        if at >= from && at <= t {
            most = most.max(target);
        }
    }
    most
}

/// Starts and parks this worker's VUs as the stages say until `end`; returns them with a
/// task that keeps applying `gracefulRampDown` after `end` (to abort when the scenario ends).
async fn ramping_vus(
    ctx: &Rc<WorkerCtx>,
    s: usize,
    begin: Instant,
    end: Instant,
) -> (Vec<JoinHandle<()>>, JoinHandle<()>) {
    let Some(ExecKind::RampingVus {
        start_vus, stages, ..
    }) = ctx.plan.scenarios.get(s).map(|sc| &sc.kind)
    else {
        return (Vec::new(), tokio::task::spawn_local(async {}));
    };
    let (n, w) = (ctx.plan.workers, ctx.worker);
    let allowed_now = move |now: Instant, plan: &Plan| -> usize {
        let Some(ExecKind::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down,
        }) = plan.scenarios.get(s).map(|sc| &sc.kind)
        else {
            return 0;
        };
        let global = vus_allowed_at(*start_vus, stages, now - begin, *graceful_ramp_down);
        share(global, w, n) as usize
    };
    let target = Rc::new(Cell::new(0usize));
    let (allowed_tx, allowed_rx) = watch::channel(0usize);
    let publish = |tx: &watch::Sender<usize>, value: usize| {
        tx.send_if_modified(|a| std::mem::replace(a, value) != value);
    };
    let mut handles = Vec::new();
    loop {
        let now = Instant::now();
        if ctx.ctl.stopping() || now >= end {
            break;
        }
        let global = vus_at(*start_vus, stages, now - begin);
        let local = share(global, w, n) as usize;
        publish(&allowed_tx, allowed_now(now, &ctx.plan));
        target.set(local);
        while handles.len() < local {
            let idx = handles.len();
            handles.push(tokio::task::spawn_local(closed_vu(
                ctx.clone(),
                s,
                end,
                Some(RampSeat {
                    idx,
                    target: target.clone(),
                    allowed: allowed_rx.clone(),
                }),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // After the last stage no iteration starts, but those still running stay bound by
    // the ramp-down that led there (gracefulStop bounds them all in `run_scenario`).
    let plan = ctx.plan.clone();
    let tail = tokio::task::spawn_local(async move {
        loop {
            let allowed = allowed_now(Instant::now(), &plan);
            publish(&allowed_tx, allowed);
            if allowed == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Keep the channel open: a closed channel means "never interrupt".
        std::future::pending::<()>().await;
    });
    (handles, tail)
}

pub(crate) struct Job {
    /// Where its latency is measured from: the schedule slot, moved by the scheduler's own
    /// wake-up lateness up to `TIMER_RESOLUTION` (see `measured_from`).
    intended: Instant,
}

/// tokio's timers fire on a 1 ms tick, so a slot is started 0–1 ms late however idle the
/// worker is. Charging that to coordinated-omission-corrected latency inflated a sub-ms
/// server's corrected p50 several-fold; lateness beyond it (a busy or stalled generator)
/// is still charged.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// The instant an iteration's corrected latency counts from, given its schedule slot and
/// the moment the scheduler woke for it.
fn measured_from(slot: Instant, woke: Instant) -> Instant {
    slot + woke.saturating_duration_since(slot).min(TIMER_RESOLUTION)
}

/// A counter on its own cache line: each worker updates its own on every iteration.
#[repr(align(128))]
struct PaddedCount(AtomicU64);

/// One arrival-rate scenario's VU pool as every worker sees it (k6 has a single pool):
/// how many VUs exist, and per worker how many idle ones nobody has claimed yet. Atomics
/// only; a worker reads another's counter only when it has no idle VU of its own.
pub(crate) struct SharedPool {
    allocated: AtomicU64,
    max: u64,
    free: Vec<PaddedCount>,
    unstarted: AtomicI64,
    workers_left: AtomicUsize,
}

/// Claims one unit of `count` if there is one.
fn claim(count: &AtomicU64) -> bool {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

/// A worker's end of a shared pool: iterations for its idle VUs arrive on `inbox`, and
/// `peers` reach every participating worker's inbox.
pub(crate) struct PoolLink {
    shared: Arc<SharedPool>,
    inbox: mpsc::UnboundedReceiver<Job>,
    peers: Vec<mpsc::UnboundedSender<Job>>,
}

/// Per worker, per scenario: the links of every arrival-rate scenario's shared pool.
/// Only as many workers as maxVUs take part (others would have no VU to start with).
pub(crate) fn pool_links(plan: &Plan) -> Vec<Vec<Option<PoolLink>>> {
    let mut links: Vec<Vec<Option<PoolLink>>> = (0..plan.workers)
        .map(|_| (0..plan.scenarios.len()).map(|_| None).collect())
        .collect();
    for (s, sc) in plan.scenarios.iter().enumerate() {
        let ExecKind::ArrivalRate { pre, max, .. } = &sc.kind else {
            continue;
        };
        let n = plan.workers.min((*max).max(1) as usize);
        let shared = Arc::new(SharedPool {
            allocated: AtomicU64::new(*pre),
            max: *max,
            free: (0..n).map(|_| PaddedCount(AtomicU64::new(0))).collect(),
            unstarted: AtomicI64::new(0),
            workers_left: AtomicUsize::new(n),
        });
        let (peers, inboxes): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::unbounded_channel()).unzip();
        for (w, inbox) in inboxes.into_iter().enumerate() {
            links[w][s] = Some(PoolLink {
                shared: shared.clone(),
                inbox,
                peers: peers.clone(),
            });
        }
    }
    links
}

pub(crate) struct Pool {
    idle: Vec<usize>,
    senders: Vec<mpsc::UnboundedSender<Job>>,
    backlog: VecDeque<Job>,
    /// Iterations this worker handed to a VU or queued, and those its VUs took up (ran or
    /// dropped).
    accepted: u64,
    consumed: u64,
}

/// Where an iteration went.
enum Placement {
    Placed,
    Dropped,
}

async fn arrival_rate(
    ctx: &Rc<WorkerCtx>,
    s: usize,
    sc: &ScenarioPlan,
    begin: Instant,
    link: PoolLink,
) -> (Vec<JoinHandle<()>>, Rc<RefCell<Pool>>) {
    let pool = Rc::new(RefCell::new(Pool {
        idle: Vec::new(),
        senders: Vec::new(),
        backlog: VecDeque::new(),
        accepted: 0,
        consumed: 0,
    }));
    let ExecKind::ArrivalRate {
        schedule,
        pre,
        drop_after,
        ..
    } = &sc.kind
    else {
        return (Vec::new(), pool);
    };
    let PoolLink {
        shared,
        inbox,
        peers,
    } = link;
    let n = shared.free.len();
    let w = ctx.worker;
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
            shared.free[w].0.fetch_add(1, Ordering::Release);
        }
        handles.push(tokio::task::spawn_local(open_vu(
            ctx.clone(),
            s,
            id,
            rx,
            first,
            pool.clone(),
            shared.clone(),
            *drop_after,
        )));
    };
    for _ in 0..share(*pre, w, n) {
        spawn_vu(&mut handles, None);
    }
    handles.push(tokio::task::spawn_local(take_transfers(
        ctx.clone(),
        s,
        pool.clone(),
        inbox,
    )));
    for offset in schedule.times(w as u64, n as u64) {
        let at = begin + offset;
        if !sleep_until_or_stop(&ctx.ctl, at).await {
            break;
        }
        let job = Job {
            intended: measured_from(at, Instant::now()),
        };
        // k6's order: an idle VU here, else one idle on another worker, else a new VU
        // while fewer than maxVUs exist, else wait (dropAfter) or drop.
        let placed = if claim(&shared.free[w].0) {
            let id = pool.borrow_mut().idle.pop();
            send_to_vu(&pool, id, job)
        } else if let Some(peer) = (1..n)
            .map(|i| (w + i) % n)
            .find(|&p| claim(&shared.free[p].0))
        {
            match peers.get(peer).map(|tx| tx.send(job)) {
                Some(Ok(())) => Placement::Placed,
                _ => Placement::Dropped,
            }
        } else if shared
            .allocated
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |a| {
                (a < shared.max).then_some(a + 1)
            })
            .is_ok()
        {
            spawn_vu(&mut handles, Some(job));
            Placement::Placed
        } else if !drop_after.is_zero() {
            pool.borrow_mut().backlog.push_back(job);
            Placement::Placed
        } else {
            Placement::Dropped
        };
        match placed {
            Placement::Placed => pool.borrow_mut().accepted += 1,
            Placement::Dropped => count_dropped(ctx, s),
        }
    }
    // Other workers' inboxes close once every scheduler has dropped its senders.
    drop(peers);
    (handles, pool)
}

fn send_to_vu(pool: &RefCell<Pool>, id: Option<usize>, job: Job) -> Placement {
    let p = pool.borrow();
    match id.and_then(|id| p.senders.get(id)).map(|tx| tx.send(job)) {
        Some(Ok(())) => Placement::Placed,
        _ => Placement::Dropped,
    }
}

/// Runs iterations other workers sent for this worker's idle VUs; when every scheduler is
/// done (the inbox closes), closes the VUs' channels so idle VUs exit.
async fn take_transfers(
    ctx: Rc<WorkerCtx>,
    s: usize,
    pool: Rc<RefCell<Pool>>,
    mut inbox: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(job) = inbox.recv().await {
        // The sender claimed one of this worker's idle VUs, so one is waiting.
        let id = pool.borrow_mut().idle.pop();
        if let Placement::Dropped = send_to_vu(&pool, id, job) {
            // Accepted by the sender; taken up here, as dropped.
            pool.borrow_mut().consumed += 1;
            count_dropped(&ctx, s);
        }
    }
    pool.borrow_mut().senders.clear();
}

fn count_dropped(ctx: &WorkerCtx, s: usize) {
    count_dropped_n(ctx, s, 1);
}

fn count_dropped_n(ctx: &WorkerCtx, s: usize, n: u64) {
    if let Some(v) = ctx.rec.borrow_mut().dropped.get_mut(s) {
        *v += n;
    }
}

#[allow(clippy::too_many_arguments)]
async fn open_vu(
    ctx: Rc<WorkerCtx>,
    s: usize,
    id: usize,
    mut rx: mpsc::UnboundedReceiver<Job>,
    first: Option<Job>,
    pool: Rc<RefCell<Pool>>,
    shared: Arc<SharedPool>,
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
        pool.borrow_mut().consumed += 1;
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
                    pool.borrow_mut().consumed += 1;
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
            if let Some(free) = shared.free.get(ctx.worker) {
                free.0.fetch_add(1, Ordering::Release);
            }
        }
    }
    ctx.ctl.vu_stopped();
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn only_scheduler_lateness_beyond_the_timer_tick_is_charged() {
        let slot = Instant::now();
        assert_eq!(measured_from(slot, slot), slot);
        assert_eq!(
            measured_from(slot, slot + Duration::from_micros(700)),
            slot + Duration::from_micros(700)
        );
        // A generator 30 ms late is charged 29 ms of it.
        assert_eq!(measured_from(slot, slot + MS(30)), slot + MS(1));
        // Woken early never moves the start earlier than the slot.
        assert_eq!(measured_from(slot + MS(5), slot), slot + MS(5));
    }

    #[test]
    fn vus_allowed_lag_the_plan_by_graceful_ramp_down_on_the_way_down() {
        // 10 → 0 over 10 s, then 0.
        let stages = [(MS(10_000), 0)];
        let grace = MS(3_000);
        assert_eq!(vus_allowed_at(10, &stages, MS(0), grace), 10);
        assert_eq!(vus_allowed_at(10, &stages, MS(5_000), grace), 8);
        assert_eq!(vus_allowed_at(10, &stages, MS(12_000), grace), 1);
        assert_eq!(vus_allowed_at(10, &stages, MS(13_000), grace), 0);
        assert_eq!(vus_allowed_at(10, &stages, MS(5_000), Duration::ZERO), 5);
    }

    #[test]
    fn vus_allowed_keep_a_short_peak_for_the_whole_grace() {
        // 0 → 4 in 1 s, straight back to 0 in 1 s: the peak at 1 s holds until 1 s + grace.
        let stages = [(MS(1_000), 4), (MS(1_000), 0)];
        assert_eq!(vus_allowed_at(0, &stages, MS(1_400), MS(500)), 4);
        assert_eq!(vus_allowed_at(0, &stages, MS(1_600), MS(500)), 4);
        assert_eq!(vus_allowed_at(0, &stages, MS(1_600), MS(100)), 2);
        // A zero-length stage is a jump: its target counts while within the grace.
        let jump = [(MS(1_000), 6), (Duration::ZERO, 1), (MS(1_000), 1)];
        assert_eq!(vus_allowed_at(6, &jump, MS(1_200), MS(300)), 6);
        assert_eq!(vus_allowed_at(6, &jump, MS(1_400), MS(300)), 1);
    }
}
