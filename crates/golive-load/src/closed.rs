//! The closed-model executors, `constant-vus` and `ramping-vus`: each VU runs
//! iterations back to back; a ramp starts VUs and parks them as its stages say.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::VuClient;
use crate::plan::{ExecKind, Plan};
use crate::worker::{WorkerCtx, iteration, share};

/// A ramping VU's view of the ramp: its index among the worker's VUs, how many may start
/// iterations (`target`) and how many may still finish one (`allowed`, which lags
/// `target` by `gracefulRampDown` on the way down).
pub(crate) struct RampSeat {
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
pub(crate) async fn closed_vu(
    ctx: Rc<WorkerCtx>,
    s: usize,
    end: Instant,
    mut ramp: Option<RampSeat>,
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
pub(crate) async fn ramping_vus(
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

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
