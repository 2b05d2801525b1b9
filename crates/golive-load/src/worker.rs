//! One worker thread's side of a run: the context its VU tasks share, the split of
//! VUs and iterations between workers, and one iteration of a scenario's requests.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::VuClient;
use crate::control::Control;
use crate::plan::{Plan, ScenarioPlan};
use crate::stats::Recorder;

/// What every VU task on one worker thread shares.
pub(crate) struct WorkerCtx {
    pub plan: Arc<Plan>,
    pub ctl: Arc<Control>,
    pub rec: Rc<RefCell<Recorder>>,
    pub worker: usize,
}

/// Sleeps until `at` in short slices so a graceful stop is noticed within 50 ms.
/// Returns false when the run is stopping.
pub(crate) async fn sleep_until_or_stop(ctl: &Control, at: Instant) -> bool {
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

/// The share of `total` items that worker `w` of `n` owns (items j with j % n == w).
pub(crate) fn share(total: u64, w: usize, n: usize) -> u64 {
    let (w, n) = (w as u64, n as u64);
    total / n + u64::from(w < total % n)
}

pub(crate) async fn iteration(
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

pub(crate) fn count_dropped(ctx: &WorkerCtx, s: usize) {
    count_dropped_n(ctx, s, 1);
}

pub(crate) fn count_dropped_n(ctx: &WorkerCtx, s: usize, n: u64) {
    if let Some(v) = ctx.rec.borrow_mut().dropped.get_mut(s) {
        *v += n;
    }
}
