//! What carries out the app's effects: the sources it spawns (cluster watchers, probes,
//! load runs, step commands), the one journal writer, and the one path by which every
//! message, a reply to an effect included, reaches [`App::update`].

use super::app::{App, Effect, Msg};
use super::{command, export, terminal};
use crate::cluster::{self, Target};
use crate::gates;
use crate::plan::LoadedPlan;
use crate::runbook::journal::{self, Journal};
use jiff::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub(super) struct Runtime {
    pub(super) tx: mpsc::Sender<Msg>,
    /// Where the journal and exported reports live; None when there is no journal.
    pub(super) state_dir: Option<PathBuf>,
    /// The one writer of the journal; the app hears about each entry once it is on disk.
    pub(super) journal: Option<Journal>,
    pub(super) load_stop: Option<golive_load::StopHandle>,
    /// Cancels the step command running now.
    pub(super) command: Option<tokio_util::sync::CancellationToken>,
    /// Environment every step command gets: the kubeconfig the cockpit watches through.
    pub(super) command_env: Vec<(String, String)>,
    pub(super) tasks: Vec<JoinHandle<()>>,
    /// The cluster the cockpit watches, for what reaches it on demand (a service proxy).
    pub(super) target: Target,
}

impl Runtime {
    /// The one way a message reaches the app: `update`, then each effect carried out in
    /// order, the replies to an effect dispatched the same way before the next effect.
    pub(super) fn dispatch(&mut self, app: &mut App, msg: Msg) {
        let effects = app.update(msg, Timestamp::now());
        self.carry_out(app, effects);
    }

    pub(super) fn carry_out(&mut self, app: &mut App, effects: Vec<Effect>) {
        for effect in effects {
            for reply in self.effect(app, effect) {
                self.dispatch(app, reply);
            }
        }
    }

    /// Carries out one effect; returns what the app must hear now (a later answer, such as
    /// a command's output, arrives on the channel).
    fn effect(&mut self, app: &App, effect: Effect) -> Vec<Msg> {
        match effect {
            Effect::Quit => Vec::new(),
            Effect::StopLoad => {
                if let Some(stop) = &self.load_stop {
                    stop.stop();
                }
                Vec::new()
            }
            Effect::Record(action) => vec![self.record(action)],
            Effect::CaptureBaseline {
                check,
                query,
                start,
                end,
            } => {
                let tx = self.tx.clone();
                let plan = app.plan.clone();
                let target = self.target.clone();
                self.tasks.push(tokio::spawn(async move {
                    let (source, _) = crate::metrics::poll::sources(&plan.plan, &target).await;
                    let result = match source {
                        Some(Ok(p)) => crate::metrics::poll::baseline(&p, &query, start, end).await,
                        Some(Err(e)) => Err(e),
                        None => Err("the plan's `monitoring:` names no prometheus".into()),
                    };
                    let _ = tx.send(Msg::BaselineCaptured { check, result }).await;
                }));
                Vec::new()
            }
            Effect::LookUpDns(lookups) => {
                let tx = self.tx.clone();
                self.tasks.retain(|t| !t.is_finished());
                self.tasks.push(tokio::spawn(async move {
                    let answers =
                        crate::dns::resolve_all(&lookups, crate::dns::LOOKUP_TIMEOUT).await;
                    let _ = tx.send(Msg::Dns(answers)).await;
                }));
                Vec::new()
            }
            Effect::StartLoad => self.start_load(&app.plan),
            Effect::ReadLoadSummary(path) => {
                let read = std::fs::read_to_string(&path)
                    .map(|text| {
                        let modified = std::fs::metadata(&path)
                            .and_then(|m| m.modified())
                            .ok()
                            .and_then(|t| Timestamp::try_from(t).ok());
                        (text, modified)
                    })
                    .map_err(|e| format!("{path}: {e}"));
                vec![Msg::LoadSummaryFile { path, read }]
            }
            Effect::RunCommand {
                step,
                command,
                timeout,
            } => self.run_command(step, command, timeout),
            Effect::Copy(text) => {
                terminal::copy_to_clipboard(&text);
                Vec::new()
            }
            Effect::ExportReport => vec![match &self.state_dir {
                Some(dir) => match export::write_report(app, dir, Timestamp::now()) {
                    Ok(path) => Msg::ReportWritten(path),
                    Err(e) => Msg::ReportFailed(e),
                },
                None => {
                    Msg::ReportFailed("no state directory (see the warning at start-up)".into())
                }
            }],
        }
    }

    /// Appends to the journal, written and fsync'd before the answer reaches the screen.
    pub(super) fn record(&mut self, action: journal::Action) -> Msg {
        match &mut self.journal {
            Some(journal) => match journal.append(action.clone(), Timestamp::now()) {
                Ok(entry) => Msg::Recorded(Box::new(entry.clone())),
                Err(e) => Msg::RecordFailed {
                    action: Box::new(action),
                    error: e.to_string(),
                },
            },
            None => Msg::RecordFailed {
                action: Box::new(action),
                error: "no journal (see the warning at start-up)".into(),
            },
        }
    }

    /// Records the start (fsync'd) before anything runs; a journal that refuses means the
    /// command does not run.
    fn run_command(&mut self, step: String, command: String, timeout: Duration) -> Vec<Msg> {
        let reply = self.record(journal::Action::CommandStarted {
            step: step.clone(),
            command: command.clone(),
        });
        if matches!(reply, Msg::RecordFailed { .. }) {
            return vec![
                reply,
                Msg::CommandNotStarted("the journal cannot record it".into()),
            ];
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        self.command = Some(cancel.clone());
        let spec = command::Spec {
            step,
            command,
            timeout,
            env: self.command_env.clone(),
        };
        self.tasks
            .push(tokio::spawn(command::run(spec, self.tx.clone(), cancel)));
        vec![reply]
    }

    /// Starts the plan's load test; the app hears it started, then that the journal has it.
    fn start_load(&mut self, plan: &LoadedPlan) -> Vec<Msg> {
        let Some(config) = plan.plan.load.clone() else {
            return vec![Msg::LoadFailed("the plan has no load section".into())];
        };
        let target = config.target.clone().unwrap_or_default();
        let run = match golive_load::LoadRun::start(config) {
            Ok(run) => run,
            Err(e) => return vec![Msg::LoadFailed(e.to_string().replace('\n', " "))],
        };
        self.load_stop = Some(run.stop_handle());
        let recorded = self.record(journal::Action::LoadStarted { target });
        let mut snapshots = run.snapshots();
        let tx = self.tx.clone();
        self.tasks.push(tokio::spawn(async move {
            while snapshots.changed().await.is_ok() {
                let s = snapshots.borrow_and_update().clone();
                if tx.send(Msg::LoadSnapshot(Box::new(s))).await.is_err() {
                    break;
                }
            }
        }));
        let tx = self.tx.clone();
        self.tasks.push(tokio::spawn(async move {
            let summary = run.wait().await;
            let _ = tx.send(Msg::LoadFinished(Box::new(summary))).await;
        }));
        vec![Msg::LoadStarted, recorded]
    }

    /// Quitting with a load test or a command running: stop them and wait (a few seconds at
    /// most) for their results, so the journal never keeps a start without an end.
    pub(super) async fn wind_down(&mut self, app: &mut App, rx: &mut mpsc::Receiver<Msg>) {
        const WAIT: Duration = Duration::from_secs(5);
        if let Some(stop) = &self.load_stop {
            stop.stop();
        }
        if let Some(cancel) = &self.command {
            cancel.cancel();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while app.load.is_running() || app.command.is_some() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(msg)) => self.dispatch(app, msg),
                _ => break,
            }
        }
        if app.load.is_running() {
            let requests = app.load.snapshot().map(|s| s.http_reqs).unwrap_or(0);
            let reply = self.record(journal::Action::LoadFinished {
                requests,
                thresholds_ok: false,
                thresholds: Vec::new(),
                aborted: Some("golive quit before the load test ended".into()),
                stats: None,
            });
            self.dispatch(app, reply);
        }
    }
}

/// Probes the plan's HTTP, SSE and TCP checks now and every 20 s (well inside the
/// 5-minute age after which a probe result no longer counts). Plans without probes
/// cost nothing.
pub(super) fn spawn_probes(plan: Arc<LoadedPlan>, tx: mpsc::Sender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let has_probes = plan
            .plan
            .gates
            .iter()
            .flat_map(|g| g.checks.iter())
            .any(|c| crate::probe::probe_key(c).is_some());
        if !has_probes {
            return;
        }
        loop {
            let probes = crate::probe::run_probes(&plan.plan, Duration::from_secs(10)).await;
            if tx.send(Msg::Probes(probes)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
    })
}

/// Asks Prometheus and Alertmanager what the plan's monitoring checks need, one bounded
/// round at a time (`metrics::poll`). Plans without monitoring checks cost nothing.
pub(super) fn spawn_metrics(
    plan: Arc<LoadedPlan>,
    target: Target,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let asks = crate::metrics::poll::asks(&plan.plan);
        if asks.queries.is_empty() && !asks.alerts {
            return;
        }
        let (mut prometheus, mut alertmanager) =
            crate::metrics::poll::sources(&plan.plan, &target).await;
        loop {
            // A source that could not be set up (the cluster behind `service:` down at
            // start, a token variable set later) is set up again each round until it is.
            let failed = |s: &Option<Result<crate::metrics::client::Endpoint, String>>| {
                matches!(s, Some(Err(_)))
            };
            if failed(&prometheus) || failed(&alertmanager) {
                let (p, a) = crate::metrics::poll::sources(&plan.plan, &target).await;
                if failed(&prometheus) {
                    prometheus = p;
                }
                if failed(&alertmanager) {
                    alertmanager = a;
                }
            }
            let update =
                crate::metrics::poll::round(prometheus.as_ref(), alertmanager.as_ref(), &asks)
                    .await;
            if tx.send(Msg::Metrics(Box::new(update))).await.is_err() {
                return;
            }
            tokio::time::sleep(asks.every).await;
        }
    })
}

/// Connects, then runs one watcher per resource the plan reads, all feeding the loop.
pub(super) fn spawn_cluster(
    plan: Arc<LoadedPlan>,
    target: Target,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let connection = match cluster::connect(&target).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot connect to the cluster");
                let _ = tx.send(Msg::ConnectFailed(e.to_string())).await;
                return;
            }
        };
        tracing::info!(context = %connection.context, server = %connection.server, "connected");
        let _ = tx
            .send(Msg::Connected {
                context: connection.context.clone(),
                server: connection.server.clone(),
            })
            .await;
        let watches = gates::plan_watch_specs(&plan.plan);
        let (events_tx, mut events_rx) = mpsc::channel(1024);
        let watchers = cluster::watch::spawn_watchers(&connection.client, watches, events_tx);
        while let Some(event) = events_rx.recv().await {
            cluster::log_event(&event);
            if tx.send(Msg::Cluster(event)).await.is_err() {
                break;
            }
        }
        for w in watchers {
            w.abort();
        }
    })
}
