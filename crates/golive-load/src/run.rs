//! `LoadRun`: starts workers, aggregates their recorders once a second into a
//! `Snapshot`, evaluates thresholds live and at the end, and produces the `Summary`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::arrival::pool_links;
use crate::config::{FieldError, LoadConfig};
use crate::control::Control;
use crate::executor::{FlushRequest, WorkerEvent, spawn_worker};
use crate::plan::{Plan, compile};
use crate::stats::{HistogramBar, LatencyStats, Recorder, Stats, bars};
use crate::threshold::{Aggregation, Metric, ThresholdResult, ThresholdState};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid load configuration:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
    #[error("cannot prepare the load test: {0}")]
    Plan(String),
    #[error("LoadRun::start must be called inside a tokio runtime")]
    NoRuntime,
    #[error("cannot start load worker threads: {0}")]
    Spawn(#[from] std::io::Error),
}

/// One second of requests: what the cockpit's sparklines draw.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryPoint {
    pub elapsed_s: u64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
    pub failed: u64,
}

/// The last window (normally one second) of activity.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WindowStats {
    pub duration_ms: u64,
    pub reqs: u64,
    pub failed: u64,
    pub rps: f64,
    pub failure_rate: f64,
    pub latency: LatencyStats,
}

/// Live state of a run, published once a second and on demand.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub elapsed: Duration,
    /// Planned time left (None once the planned duration has passed).
    pub remaining: Option<Duration>,
    pub planned: Duration,
    pub finished: bool,
    pub vus: u64,
    pub vus_max: u64,
    pub http_reqs: u64,
    pub http_req_failed: u64,
    pub iterations: u64,
    pub dropped_iterations: u64,
    pub data_received: u64,
    pub data_sent: u64,
    /// Cumulative requests per second.
    pub rps: f64,
    /// Cumulative failed / total requests.
    pub failure_rate: f64,
    /// Cumulative `http_req_duration` (coordinated-omission corrected for arrival-rate executors).
    pub latency: LatencyStats,
    /// The same requests measured from their actual send time.
    pub latency_uncorrected: LatencyStats,
    pub waiting: LatencyStats,
    pub connecting: LatencyStats,
    pub tls_handshaking: LatencyStats,
    pub window: WindowStats,
    pub status_counts: Vec<(u16, u64)>,
    pub error_counts: Vec<(String, u64)>,
    pub thresholds: Vec<ThresholdResult>,
    /// Cumulative latency distribution as bars.
    pub histogram: Vec<HistogramBar>,
    /// Per-second p95/p99/rps, newest last, at most 300 points.
    pub history: Vec<HistoryPoint>,
}

impl Snapshot {
    pub fn thresholds_ok(&self) -> bool {
        self.thresholds.iter().all(ThresholdResult::ok)
    }
}

/// The end-of-test result. Serializes to the k6-like export JSON.
#[derive(Clone, Debug)]
pub struct Summary {
    pub snapshot: Snapshot,
    /// Why the run ended early, if it did (abortOnFail, stop request).
    pub aborted: Option<String>,
    pub scenario_names: Vec<String>,
    pub iterations_by_scenario: Vec<u64>,
    pub dropped_by_scenario: Vec<u64>,
}

impl Summary {
    pub fn thresholds_ok(&self) -> bool {
        self.snapshot.thresholds_ok()
    }
    pub fn thresholds(&self) -> &[ThresholdResult] {
        &self.snapshot.thresholds
    }
}

enum Command {
    SnapshotNow(oneshot::Sender<Snapshot>),
    Stop,
    Abort,
}

/// A running load test. Dropping it without `wait()` stops it gracefully.
pub struct LoadRun {
    snapshots: watch::Receiver<Snapshot>,
    commands: mpsc::UnboundedSender<Command>,
    done: Option<oneshot::Receiver<Summary>>,
    ctl: Arc<Control>,
}

impl LoadRun {
    /// Validates, compiles and starts the test on worker threads; the aggregator runs
    /// on the current tokio runtime.
    pub fn start(config: LoadConfig) -> Result<LoadRun, LoadError> {
        config.validate().map_err(LoadError::Invalid)?;
        let handle = tokio::runtime::Handle::try_current().map_err(|_| LoadError::NoRuntime)?;
        let plan = Arc::new(compile(&config).map_err(LoadError::Plan)?);
        let ctl = Arc::new(Control::new(Instant::now()));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let mut flushers = Vec::new();
        for (w, links) in pool_links(&plan).into_iter().enumerate() {
            let (tx, rx) = mpsc::unbounded_channel();
            let spawned = spawn_worker(w, plan.clone(), ctl.clone(), links, rx, events_tx.clone());
            if let Err(e) = spawned {
                ctl.stop();
                return Err(LoadError::Spawn(e));
            }
            flushers.push(Some(tx));
        }
        drop(events_tx);
        let initial = Snapshot {
            planned: plan.planned,
            remaining: Some(plan.planned),
            ..Snapshot::default()
        };
        let (snap_tx, snap_rx) = watch::channel(initial);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        let agg = Aggregator::new(plan, ctl.clone(), flushers);
        handle.spawn(agg.run(events_rx, cmd_rx, snap_tx, done_tx));
        Ok(LoadRun {
            snapshots: snap_rx,
            commands: cmd_tx,
            done: Some(done_rx),
            ctl,
        })
    }

    /// Live snapshots, one a second (and after `snapshot_now`).
    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.snapshots.clone()
    }

    /// Flushes every worker now and returns (and publishes) a fresh snapshot.
    pub async fn snapshot_now(&self) -> Snapshot {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::SnapshotNow(tx)).is_err() {
            return self.snapshots.borrow().clone();
        }
        match rx.await {
            Ok(s) => s,
            Err(_) => self.snapshots.borrow().clone(),
        }
    }

    /// Graceful stop: no new iterations; in-flight requests finish or time out.
    pub fn stop(&self) {
        self.stop_handle().stop();
    }

    /// Stop at once: running iterations are interrupted (like k6's, they count in neither
    /// `iterations` nor, for the request they were waiting on, `http_reqs`); everything
    /// completed before is in the summary.
    pub fn abort(&self) {
        self.stop_handle().abort();
    }

    /// A handle that can stop the run after `wait()` has taken it (e.g. from a Ctrl-C handler).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            ctl: self.ctl.clone(),
            commands: self.commands.clone(),
        }
    }

    /// Waits for the end of the run and returns the summary.
    pub async fn wait(mut self) -> Summary {
        let fallback = || Summary {
            snapshot: self.snapshots.borrow().clone(),
            aborted: Some("the aggregator ended unexpectedly".into()),
            scenario_names: Vec::new(),
            iterations_by_scenario: Vec::new(),
            dropped_by_scenario: Vec::new(),
        };
        match self.done.take() {
            Some(rx) => match rx.await {
                Ok(s) => s,
                Err(_) => fallback(),
            },
            None => fallback(),
        }
    }
}

impl Drop for LoadRun {
    fn drop(&mut self) {
        // `wait()` takes `done`; anything else dropping the run means nobody will read it.
        if self.done.is_some() {
            self.ctl.stop();
        }
    }
}

/// Stops a run gracefully; cheap to clone.
#[derive(Clone)]
pub struct StopHandle {
    ctl: Arc<Control>,
    commands: mpsc::UnboundedSender<Command>,
}

impl StopHandle {
    pub fn stop(&self) {
        self.ctl.stop();
        let _ = self.commands.send(Command::Stop);
    }
    /// See `LoadRun::abort`.
    pub fn abort(&self) {
        self.ctl.abort();
        let _ = self.commands.send(Command::Abort);
    }
}

struct Aggregator {
    plan: Arc<Plan>,
    ctl: Arc<Control>,
    flushers: Vec<Option<mpsc::UnboundedSender<FlushRequest>>>,
    spares: Vec<Recorder>,
    cumulative: Recorder,
    /// Everything since the last periodic tick (on-demand flushes accumulate here).
    window: Recorder,
    window_started: Instant,
    history: VecDeque<HistoryPoint>,
    aborted: Option<String>,
    stop_requested: bool,
    /// How long a flush waits for a busy worker before publishing without its share.
    flush_timeout: Duration,
}

fn empty(plan: &Plan) -> Recorder {
    Recorder::new(plan.subs.len(), plan.scenarios.len())
}

impl Aggregator {
    fn new(
        plan: Arc<Plan>,
        ctl: Arc<Control>,
        flushers: Vec<Option<mpsc::UnboundedSender<FlushRequest>>>,
    ) -> Self {
        let spares = (0..flushers.len()).map(|_| empty(&plan)).collect();
        Aggregator {
            cumulative: empty(&plan),
            window: empty(&plan),
            window_started: ctl.start,
            plan,
            ctl,
            flushers,
            spares,
            history: VecDeque::new(),
            aborted: None,
            stop_requested: false,
            flush_timeout: Duration::from_secs(2),
        }
    }

    async fn flush(&mut self) {
        let mut replies = Vec::new();
        for (i, f) in self.flushers.iter().enumerate() {
            let Some(f) = f else { continue };
            let spare = self.spares.pop().unwrap_or_else(|| empty(&self.plan));
            let (tx, rx) = oneshot::channel();
            if f.send(FlushRequest { spare, reply: tx }).is_ok() {
                replies.push((i, rx));
            }
        }
        for (_, mut rx) in replies {
            let rec = match tokio::time::timeout(self.flush_timeout, &mut rx).await {
                Ok(Ok(rec)) => Some(rec),
                // A worker that finished meanwhile drops the request; its data comes with `Done`.
                Ok(Err(_)) => None,
                Err(_) => {
                    // Closing settles the race with a late reply: either it is already here,
                    // or the worker's send fails and it keeps the samples for the next flush.
                    rx.close();
                    rx.try_recv().ok()
                }
            };
            if let Some(rec) = rec {
                self.absorb(&rec);
                self.spares.push(rec);
            }
        }
    }

    fn absorb(&mut self, rec: &Recorder) {
        self.cumulative.add(rec);
        self.window.add(rec);
    }

    async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<WorkerEvent>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        snapshots: watch::Sender<Snapshot>,
        done: oneshot::Sender<Summary>,
    ) {
        let mut live_workers = self.flushers.len();
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::from_std(self.ctl.start + Duration::from_secs(1)),
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut commands_open = true;
        while live_workers > 0 {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(WorkerEvent::Done(rec)) => {
                        live_workers -= 1;
                        self.absorb(&rec);
                    }
                    Some(WorkerEvent::Failed(msg)) => {
                        live_workers -= 1;
                        self.aborted.get_or_insert(msg);
                        self.ctl.stop();
                    }
                    None => live_workers = 0,
                },
                _ = tick.tick() => {
                    self.flush().await;
                    let snap = self.snapshot(true, false);
                    self.check_abort(&snap);
                    snapshots.send_replace(snap);
                }
                cmd = commands.recv(), if commands_open => match cmd {
                    Some(Command::SnapshotNow(reply)) => {
                        self.flush().await;
                        let snap = self.snapshot(false, false);
                        snapshots.send_replace(snap.clone());
                        let _ = reply.send(snap);
                    }
                    Some(Command::Stop) => {
                        self.stop_requested = true;
                        self.ctl.stop();
                    }
                    Some(Command::Abort) => {
                        self.stop_requested = true;
                        self.ctl.abort();
                    }
                    None => commands_open = false,
                },
            }
        }
        // A stop can race the workers' end: its command may still be queued.
        while let Ok(cmd) = commands.try_recv() {
            if matches!(cmd, Command::Stop | Command::Abort) {
                self.stop_requested = true;
            }
        }
        let snap = self.snapshot(true, true);
        snapshots.send_replace(snap.clone());
        let aborted = self.aborted.take().or_else(|| {
            if self.ctl.aborted() {
                Some("stopped at once on request; running iterations were interrupted".into())
            } else {
                self.stop_requested
                    .then(|| "stopped on request".to_string())
            }
        });
        let _ = done.send(Summary {
            snapshot: snap,
            aborted,
            scenario_names: self.plan.scenarios.iter().map(|s| s.name.clone()).collect(),
            iterations_by_scenario: self.cumulative.iterations.clone(),
            dropped_by_scenario: self.cumulative.dropped.clone(),
        });
    }

    fn check_abort(&mut self, snap: &Snapshot) {
        if self.aborted.is_some() {
            return;
        }
        let elapsed = snap.elapsed;
        let crossed: Vec<String> = self
            .plan
            .thresholds
            .iter()
            .zip(&snap.thresholds)
            .filter(|(t, r)| {
                t.spec.abort_on_fail
                    && r.state == ThresholdState::Fail
                    && elapsed >= t.spec.delay_abort_eval.map(|d| d.0).unwrap_or_default()
            })
            .map(|(t, _)| format!("{} {}", t.selector, t.spec.expr))
            .collect();
        if !crossed.is_empty() {
            self.aborted = Some(format!(
                "thresholds crossed with abortOnFail: {}; stopping the test early",
                crossed.join(", ")
            ));
            self.ctl.stop();
        }
    }

    fn snapshot(&mut self, periodic: bool, finished: bool) -> Snapshot {
        let now = Instant::now();
        let elapsed = now - self.ctl.start;
        let window_len = now - self.window_started;
        let cum = &self.cumulative.global;
        let win = &self.window.global;
        let secs = elapsed.as_secs_f64().max(1e-9);
        let window = WindowStats {
            duration_ms: window_len.as_millis() as u64,
            reqs: win.reqs,
            failed: win.failed,
            rps: win.reqs as f64 / window_len.as_secs_f64().max(1e-9),
            failure_rate: if win.reqs == 0 {
                0.0
            } else {
                win.failed as f64 / win.reqs as f64
            },
            latency: LatencyStats::from_histogram(&win.duration),
        };
        if periodic && !finished {
            self.history.push_back(HistoryPoint {
                elapsed_s: elapsed.as_secs_f64().round() as u64,
                p95_ms: window.latency.p95,
                p99_ms: window.latency.p99,
                rps: window.rps,
                failed: window.failed,
            });
            while self.history.len() > 300 {
                self.history.pop_front();
            }
        }
        let vus = self
            .ctl
            .active_vus
            .load(std::sync::atomic::Ordering::Relaxed);
        let vus_max = self.ctl.vus_max.load(std::sync::atomic::Ordering::Relaxed);
        let run = RunFigures { secs, vus, vus_max };
        let thresholds = self
            .plan
            .thresholds
            .iter()
            .map(|t| {
                let stats = match t.sub {
                    Some(i) => self.cumulative.subs.get(i).unwrap_or(cum),
                    None => cum,
                };
                let measured = Measured {
                    stats,
                    recorder: &self.cumulative,
                    scenario: t
                        .selector
                        .filter
                        .scenario
                        .as_deref()
                        .and_then(|s| self.plan.scenarios.iter().position(|p| p.name == s)),
                };
                let value =
                    metric_value(t.selector.metric, t.spec.expr.aggregation, &measured, run);
                let state = match value {
                    None => ThresholdState::NoData,
                    Some(v) if t.spec.expr.operator.holds(v, t.spec.expr.value) => {
                        ThresholdState::Pass
                    }
                    Some(_) => ThresholdState::Fail,
                };
                ThresholdResult {
                    metric: t.selector.to_string(),
                    expr: t.spec.expr.source.clone(),
                    state,
                    value,
                    abort_on_fail: t.spec.abort_on_fail,
                    aggregation: Some(t.spec.expr.aggregation),
                }
            })
            .collect();
        let mut status_counts = cum.statuses.clone();
        status_counts.sort_unstable();
        let error_counts = crate::stats::ErrorKind::ALL
            .iter()
            .filter(|k| cum.error_count(**k) > 0)
            .map(|k| (k.name().to_string(), cum.error_count(*k)))
            .collect();
        let snap = Snapshot {
            elapsed,
            remaining: self.plan.planned.checked_sub(elapsed).filter(|_| !finished),
            planned: self.plan.planned,
            finished,
            vus,
            vus_max,
            http_reqs: cum.reqs,
            http_req_failed: cum.failed,
            iterations: self.cumulative.iterations_total(),
            dropped_iterations: self.cumulative.dropped_total(),
            data_received: self.cumulative.data_received,
            data_sent: self.cumulative.data_sent,
            rps: cum.reqs as f64 / secs,
            failure_rate: if cum.reqs == 0 {
                0.0
            } else {
                cum.failed as f64 / cum.reqs as f64
            },
            latency: LatencyStats::from_histogram(&cum.duration),
            latency_uncorrected: LatencyStats::from_histogram(&cum.duration_uncorrected),
            waiting: LatencyStats::from_histogram(&cum.waiting),
            connecting: LatencyStats::from_histogram(&cum.connecting),
            tls_handshaking: LatencyStats::from_histogram(&cum.tls),
            window,
            status_counts,
            error_counts,
            thresholds,
            histogram: bars(&cum.duration),
            history: self.history.iter().cloned().collect(),
        };
        if periodic {
            self.window.reset();
            self.window_started = now;
        }
        snap
    }
}

/// What one threshold is judged on: the statistics its selector picks (the run's, or its
/// sub-metric's), the recorder for the counters kept per scenario, and the scenario it
/// names, if any.
struct Measured<'a> {
    stats: &'a Stats,
    recorder: &'a Recorder,
    scenario: Option<usize>,
}

/// The run-wide figures of one snapshot that every threshold may read.
#[derive(Clone, Copy)]
struct RunFigures {
    /// Seconds since the start, for rates (never zero).
    secs: f64,
    vus: u64,
    vus_max: u64,
}

fn metric_value(
    metric: Metric,
    agg: Aggregation,
    measured: &Measured,
    run: RunFigures,
) -> Option<f64> {
    let Measured {
        stats,
        recorder: rec,
        scenario,
    } = *measured;
    let RunFigures { secs, vus, vus_max } = run;
    let trend = |h: &hdrhistogram::Histogram<u64>| -> Option<f64> {
        if h.is_empty() {
            return None;
        }
        let us = match agg {
            Aggregation::Avg => h.mean(),
            Aggregation::Min => h.min() as f64,
            Aggregation::Max => h.max() as f64,
            Aggregation::Med => h.value_at_quantile(0.5) as f64,
            Aggregation::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
            _ => return None,
        };
        Some(us / 1000.0)
    };
    let counter = |n: u64| -> Option<f64> {
        match agg {
            Aggregation::Count => Some(n as f64),
            Aggregation::Rate => Some(n as f64 / secs),
            _ => None,
        }
    };
    let per_scenario = |v: &Vec<u64>| match scenario {
        Some(i) => v.get(i).copied().unwrap_or(0),
        None => v.iter().sum(),
    };
    match metric {
        Metric::HttpReqDuration => trend(&stats.duration),
        Metric::HttpReqWaiting => trend(&stats.waiting),
        Metric::HttpReqConnecting => trend(&stats.connecting),
        Metric::HttpReqTlsHandshaking => trend(&stats.tls),
        Metric::HttpReqs => counter(stats.reqs),
        Metric::HttpReqFailed => (stats.reqs > 0).then(|| stats.failed as f64 / stats.reqs as f64),
        Metric::Iterations => counter(per_scenario(&rec.iterations)),
        Metric::DroppedIterations => counter(per_scenario(&rec.dropped)),
        Metric::DataReceived => counter(rec.data_received),
        Metric::DataSent => counter(rec.data_sent),
        Metric::Vus => match agg {
            Aggregation::Max => Some(vus_max as f64),
            _ => Some(vus as f64),
        },
        Metric::VusMax => Some(vus_max as f64),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::executor::answer_flush;
    use crate::stats::{Outcome, Sample};

    fn recorded(n: u64) -> Recorder {
        let mut rec = Recorder::new(0, 1);
        let sample = Sample {
            outcome: Outcome::Status(200),
            timed: true,
            duration_us: 1_000,
            uncorrected_us: 1_000,
            waiting_us: 1_000,
            connecting_us: Some(0),
            tls_us: None,
            sent: 10,
            received: 20,
        };
        for _ in 0..n {
            rec.record(&[], &sample);
        }
        rec
    }

    #[tokio::test]
    async fn a_flush_answered_after_the_timeout_is_merged_into_the_next_one() {
        let config = LoadConfig::ad_hoc("http://127.0.0.1:1/", 1, Duration::from_secs(1), None);
        let plan = Arc::new(compile(&config).expect("an ad-hoc plan compiles"));
        let ctl = Arc::new(Control::new(Instant::now()));
        let (flush_tx, mut flush_rx) = mpsc::unbounded_channel();
        let mut agg = Aggregator::new(plan, ctl, vec![Some(flush_tx)]);
        agg.flush_timeout = Duration::from_millis(20);
        let worker = RefCell::new(recorded(5));

        // The worker is busy past the timeout: the aggregator publishes without its share.
        let late_worker = async {
            tokio::time::sleep(Duration::from_millis(80)).await;
            let req = flush_rx.recv().await.expect("a flush request");
            answer_flush(&worker, req);
        };
        tokio::join!(agg.flush(), late_worker);
        assert_eq!(agg.cumulative.global.reqs, 0);

        worker.borrow_mut().add(&recorded(3));
        let prompt_worker = async {
            let req = flush_rx.recv().await.expect("a flush request");
            answer_flush(&worker, req);
        };
        tokio::join!(agg.flush(), prompt_worker);
        assert_eq!(agg.cumulative.global.reqs, 8, "the late interval was kept");
        assert_eq!(agg.window.global.reqs, 8);
        assert_eq!(agg.cumulative.data_sent, 80);
        assert_eq!(agg.cumulative.global.duration.len(), 8);
    }
}
