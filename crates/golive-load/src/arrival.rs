//! The open-model executors (`constant-arrival-rate`, `ramping-arrival-rate`): one
//! VU pool per scenario shared by every worker, as k6 has, with iterations started on
//! schedule, handed to an idle VU (here or on another worker), queued or dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::VuClient;
use crate::plan::{ExecKind, Plan, ScenarioPlan};
use crate::worker::{
    WorkerCtx, count_dropped, count_dropped_n, iteration, share, sleep_until_or_stop,
};

/// Adds this worker's (accepted − taken up) iterations to the scenario's total; the last
/// worker to finish counts what never started (still queued for dropAfter, or on its way
/// to a VU when gracefulStop cut the scenario) as dropped, as k6 would. Summed across
/// workers because an iteration can be accepted on one and taken up on another.
pub(crate) fn settle_unstarted(ctx: &WorkerCtx, s: usize, shared: &SharedPool, unstarted: i64) {
    shared.unstarted.fetch_add(unstarted, Ordering::SeqCst);
    if shared.workers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
        let total = shared.unstarted.load(Ordering::SeqCst);
        count_dropped_n(ctx, s, total.max(0) as u64);
    }
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
    pub shared: Arc<SharedPool>,
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

impl Pool {
    /// Iterations this worker accepted that none of its VUs took up.
    pub fn unstarted(&self) -> i64 {
        self.accepted as i64 - self.consumed as i64
    }
}

/// Where an iteration went.
enum Placement {
    Placed,
    Dropped,
}

pub(crate) async fn arrival_rate(
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
    let vus = ScenarioVus {
        ctx: ctx.clone(),
        s,
        pool: pool.clone(),
        shared: shared.clone(),
        drop_after: *drop_after,
    };
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
            vus.clone(),
            id,
            rx,
            first,
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

/// What every VU of one arrival-rate scenario on this worker shares: the worker, the
/// scenario's index, this worker's pool, the pool all workers share, and how long queued
/// work may wait (`dropAfter`).
#[derive(Clone)]
struct ScenarioVus {
    ctx: Rc<WorkerCtx>,
    s: usize,
    pool: Rc<RefCell<Pool>>,
    shared: Arc<SharedPool>,
    drop_after: Duration,
}

/// One VU of the scenario: `id` is its place in the pool, its iterations arrive on `rx`,
/// and it starts with `first` when it was created for a waiting iteration.
async fn open_vu(
    vus: ScenarioVus,
    id: usize,
    mut rx: mpsc::UnboundedReceiver<Job>,
    first: Option<Job>,
) {
    let ScenarioVus {
        ctx,
        s,
        pool,
        shared,
        drop_after,
    } = vus;
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
}
