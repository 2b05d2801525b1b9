//! The cockpit: one screen with the verdict, the gates, the load test, the runbook and
//! the evidence behind whatever is selected.
//!
//! Sources (terminal, cluster watchers, load engine) send [`Msg`]s; [`App`] owns all
//! state and answers with [`Effect`]s that this module carries out. Frames are drawn
//! only when something changed, at most ~30 a second; a 1 s tick advances the clocks.

pub mod app;
mod command;
pub mod config;
pub mod export;
pub mod form;
pub mod keys;
pub mod layout;
pub mod rows;
pub mod theme;
pub mod ui;

pub use app::{App, Effect, Msg};
pub use theme::Theme;

use crate::cluster::{self, Target};
use crate::gates;
use crate::plan::{self, LoadedPlan};
use crate::runbook::journal::{self, Journal};
use crate::runbook::state::RunbookState;
use color_eyre::eyre::{WrapErr, eyre};
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, MouseEventKind,
};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, Write, stdout};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// At most this many frames a second, however fast messages arrive.
const FRAME: Duration = Duration::from_millis(33);

pub struct Options {
    pub plan: LoadedPlan,
    pub target: Target,
    /// Marks the screen "DEMO · simulated cluster".
    pub demo: bool,
    pub theme: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Who the journal records as acting (`--operator`, else GOLIVE_OPERATOR, else $USER).
    pub operator: Option<String>,
}

/// `golive demo`: the simulated cluster and demo service, the cockpit on top, and both
/// shut down when the cockpit ends.
pub async fn run_demo(
    plan_name: &str,
    theme: Option<String>,
    state_dir: Option<PathBuf>,
    operator: Option<String>,
) -> color_eyre::Result<ExitCode> {
    let demo = crate::demo::start(plan_name)
        .await
        .map_err(|e| eyre!("golive demo: {e}"))?;
    let options = Options {
        plan: demo.plan.clone(),
        target: Target {
            kubeconfig: Some(demo.kubeconfig.clone()),
            context: None,
        },
        demo: true,
        theme,
        state_dir,
        operator,
    };
    let result = run(options).await;
    demo.shutdown().await;
    result
}

/// Runs the cockpit until the operator quits. A cluster that cannot be reached is shown
/// on screen, not returned as an error.
pub async fn run(options: Options) -> color_eyre::Result<ExitCode> {
    let _ = color_eyre::install();
    let (config, mut warnings) = config::load();
    let (keymap, key_warnings) = keys::Keymap::with_overrides(
        &config
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), v.to_vec()))
            .collect(),
    );
    warnings.extend(key_warnings);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = options
        .theme
        .clone()
        .or(config.theme.clone())
        .unwrap_or_else(|| "default".into());
    let (theme, theme_warnings) =
        Theme::load(&theme_name, config::themes_dir().as_deref(), no_color);
    warnings.extend(theme_warnings);

    let slug = plan::slug(&options.plan.plan.name);
    let state_dir = options
        .state_dir
        .clone()
        .or_else(|| config::state_dir(&slug));
    let mut not_recording = None;
    let (journal, state_dir) = match &state_dir {
        Some(dir) => {
            match open_journal(dir, &options.plan.plan.name, options.operator.as_deref()) {
                Ok(journal) => {
                    warnings.extend(journal.warnings.iter().cloned());
                    (Some(journal), Some(dir.clone()))
                }
                Err(e) => {
                    warnings.push(format!("runbook ticks will NOT be recorded: {e}"));
                    not_recording = Some(match e {
                        journal::JournalError::Locked { .. } => {
                            "locked by another golive".to_string()
                        }
                        _ => "journal unreadable".to_string(),
                    });
                    (None, None)
                }
            }
        }
        None => {
            warnings.push(
                "no HOME or XDG_DATA_HOME: runbook ticks will NOT be recorded (pass --state-dir)"
                    .into(),
            );
            not_recording = Some("no state directory".into());
            (None, None)
        }
    };
    let runbook = journal
        .as_ref()
        .map(|j| RunbookState::replay_checked(&j.entries, &j.verification))
        .unwrap_or_default();

    let plan = Arc::new(options.plan);
    let now = Timestamp::now();
    let mut app = App::new(plan.clone(), options.demo, keymap, runbook, now);
    app.tz = jiff::tz::TimeZone::system();
    app.not_recording = not_recording;

    install_panic_hook();
    let mut terminal = setup_terminal().wrap_err("cannot set up the terminal")?;
    let size = terminal.size().unwrap_or_default();
    app.update(Msg::Resize(size.width, size.height), now);
    for w in warnings {
        app.update(Msg::Warning(w), now);
    }

    app.operator = journal::operator_name(options.operator.as_deref());
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    let command_env = options
        .target
        .kubeconfig
        .as_ref()
        .map(|k| vec![("KUBECONFIG".to_string(), k.display().to_string())])
        .unwrap_or_default();
    let connector = spawn_cluster(plan.clone(), options.target, tx.clone());
    let prober = spawn_probes(plan.clone(), tx.clone());
    let mut runtime = Runtime {
        tx,
        state_dir,
        journal,
        load_stop: None,
        command: None,
        command_env,
        tasks: vec![connector, prober],
    };
    if std::env::var_os("GOLIVE_TEST_PANIC").is_some() {
        // Test hook: a panic in a background task must restore the terminal and exit 101.
        runtime.tasks.push(tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            panic!("GOLIVE_TEST_PANIC: deliberate panic in a background task");
        }));
    }
    let result = event_loop(&mut terminal, &mut app, &theme, &mut rx, &mut runtime).await;
    wind_down(&mut app, &mut runtime, &mut rx).await;
    for task in &runtime.tasks {
        task.abort();
    }
    restore_terminal();
    result.map(|()| ExitCode::SUCCESS)
}

/// Opens `<dir>/journal.jsonl` and records that a cockpit session started.
fn open_journal(
    dir: &std::path::Path,
    plan: &str,
    operator: Option<&str>,
) -> Result<Journal, journal::JournalError> {
    let mut journal = Journal::open(dir, &journal::operator_name(operator))?;
    journal.append(
        journal::Action::SessionStarted {
            plan: plan.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        Timestamp::now(),
    )?;
    Ok(journal)
}

/// Quitting with a load test or a command running: stop them and wait (a few seconds at
/// most) for their results, so the journal never keeps a start without an end.
async fn wind_down(app: &mut App, runtime: &mut Runtime, rx: &mut mpsc::Receiver<Msg>) {
    const WAIT: Duration = Duration::from_secs(5);
    if let Some(stop) = &runtime.load_stop {
        stop.stop();
    }
    if let Some(cancel) = &runtime.command {
        cancel.cancel();
    }
    let plan = app.plan.clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.load.is_running() || app.command.is_some() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                let effects = app.update(msg, Timestamp::now());
                runtime.apply(app, effects, &plan);
            }
            _ => break,
        }
    }
    if app.load.is_running() {
        let requests = app.load.snapshot().map(|s| s.http_reqs).unwrap_or(0);
        let reply = runtime.record(journal::Action::LoadFinished {
            requests,
            thresholds_ok: false,
            thresholds: Vec::new(),
            aborted: Some("golive quit before the load test ended".into()),
            stats: None,
        });
        app.update(reply, Timestamp::now());
    }
}

/// Probes the plan's HTTP, SSE and TCP checks now and every 20 s (well inside the
/// 5-minute age after which a probe result no longer counts). Plans without probes
/// cost nothing.
fn spawn_probes(plan: Arc<LoadedPlan>, tx: mpsc::Sender<Msg>) -> JoinHandle<()> {
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

/// What carries out effects: channels back into the loop, the load run, the state dir.
struct Runtime {
    tx: mpsc::Sender<Msg>,
    /// Where the journal and exported reports live; None when there is no journal.
    state_dir: Option<PathBuf>,
    /// The one writer of the journal; the app hears about each entry once it is on disk.
    journal: Option<Journal>,
    load_stop: Option<golive_load::StopHandle>,
    /// Cancels the step command running now.
    command: Option<tokio_util::sync::CancellationToken>,
    /// Environment every step command gets: the kubeconfig the cockpit watches through.
    command_env: Vec<(String, String)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Runtime {
    fn apply(&mut self, app: &mut App, effects: Vec<Effect>, plan: &LoadedPlan) {
        for effect in effects {
            match effect {
                Effect::Quit => {}
                Effect::StopLoad => {
                    if let Some(stop) = &self.load_stop {
                        stop.stop();
                    }
                }
                Effect::Record(action) => {
                    let reply = self.record(action);
                    let more = app.update(reply, Timestamp::now());
                    self.apply(app, more, plan);
                }
                Effect::StartLoad => self.start_load(app, plan),
                Effect::RunCommand {
                    step,
                    command,
                    timeout,
                } => self.run_command(app, step, command, timeout),
                Effect::Copy(text) => {
                    // OSC 52: the terminal puts the text on the clipboard, over ssh too.
                    let mut out = stdout();
                    let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
                    let _ = out.flush();
                }
                Effect::ExportReport => {
                    let reply = match &self.state_dir {
                        Some(dir) => match export::write_report(app, dir, Timestamp::now()) {
                            Ok(path) => Msg::ReportWritten(path),
                            Err(e) => Msg::ReportFailed(e),
                        },
                        None => Msg::ReportFailed(
                            "no state directory (see the warning at start-up)".into(),
                        ),
                    };
                    app.update(reply, Timestamp::now());
                }
            }
        }
    }

    /// Appends to the journal, written and fsync'd before the answer reaches the screen.
    fn record(&mut self, action: journal::Action) -> Msg {
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
    fn run_command(&mut self, app: &mut App, step: String, command: String, timeout: Duration) {
        let reply = self.record(journal::Action::CommandStarted {
            step: step.clone(),
            command: command.clone(),
        });
        let refused = matches!(reply, Msg::RecordFailed { .. });
        app.update(reply, Timestamp::now());
        if refused {
            app.update(
                Msg::CommandNotStarted("the journal cannot record it".into()),
                Timestamp::now(),
            );
            return;
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
    }

    fn start_load(&mut self, app: &mut App, plan: &LoadedPlan) {
        let Some(config) = plan.plan.load.clone() else {
            app.update(
                Msg::LoadFailed("the plan has no load section".into()),
                Timestamp::now(),
            );
            return;
        };
        let target = config.target.clone().unwrap_or_default();
        match golive_load::LoadRun::start(config) {
            Err(e) => {
                app.update(
                    Msg::LoadFailed(e.to_string().replace('\n', " ")),
                    Timestamp::now(),
                );
            }
            Ok(run) => {
                self.load_stop = Some(run.stop_handle());
                app.update(Msg::LoadStarted, Timestamp::now());
                let reply = self.record(journal::Action::LoadStarted { target });
                app.update(reply, Timestamp::now());
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
            }
        }
    }
}

/// Connects, then runs one watcher per resource the plan reads, all feeding the loop.
fn spawn_cluster(plan: Arc<LoadedPlan>, target: Target, tx: mpsc::Sender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let connection = match cluster::connect(&target).await {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Msg::ConnectFailed(e.to_string())).await;
                return;
            }
        };
        let _ = tx
            .send(Msg::Connected {
                context: connection.context.clone(),
                server: connection.server.clone(),
            })
            .await;
        let keys = gates::plan_watches(&plan.plan);
        let (events_tx, mut events_rx) = mpsc::channel(1024);
        let watchers = cluster::watch::spawn_watchers(&connection.client, keys, events_tx);
        while let Some(event) = events_rx.recv().await {
            if tx.send(Msg::Cluster(event)).await.is_err() {
                break;
            }
        }
        for w in watchers {
            w.abort();
        }
    })
}

async fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    theme: &Theme,
    rx: &mut mpsc::Receiver<Msg>,
    runtime: &mut Runtime,
) -> color_eyre::Result<()> {
    let plan = app.plan.clone();
    let mut events = EventStream::new();
    // SIGTERM and SIGHUP (terminal closed) end the cockpit like ctrl-c: load stopped,
    // terminal restored.
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).wrap_err("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).wrap_err("cannot watch SIGHUP")?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    // Judging every gate over a big cluster can take a good fraction of a second; pace it
    // so keys and clocks stay live, never more than a quarter of the time spent judging.
    let mut evaluation_cost = Duration::ZERO;
    let mut last_evaluation: Option<Instant> = None;
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            let pace = (evaluation_cost * 4).max(FRAME);
            if last_evaluation.is_none_or(|at| at.elapsed() >= pace) {
                let started = Instant::now();
                if app.settle(Timestamp::now()) {
                    evaluation_cost = started.elapsed();
                    last_evaluation = Some(Instant::now());
                }
                // Auto-verified steps are in the journal before the frame shows them ticked.
                let effects = app.take_effects();
                runtime.apply(app, effects, &plan);
            }
            draw(terminal, app, theme)?;
            dirty = false;
            last_draw = Instant::now();
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => match to_msg(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(e)) => return Err(eyre!("cannot read the terminal: {e}")),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => msg,
            _ = tick.tick() => Msg::Tick,
            _ = terminate.recv() => {
                let effects = app.on_action(keys::Action::ForceQuit);
                runtime.apply(app, effects, &plan);
                return Ok(());
            }
            _ = hangup.recv() => {
                let effects = app.on_action(keys::Action::ForceQuit);
                runtime.apply(app, effects, &plan);
                return Ok(());
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        let effects = app.update(msg, Timestamp::now());
        runtime.apply(app, effects, &plan);
        // Take whatever else is already queued before drawing: one frame per burst.
        while let Ok(msg) = rx.try_recv() {
            let effects = app.update(msg, Timestamp::now());
            runtime.apply(app, effects, &plan);
        }
        dirty = true;
        if app.quit {
            return Ok(());
        }
    }
}

fn to_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::Moved | MouseEventKind::Drag(_) | MouseEventKind::Up(_) => None,
            _ => Some(Msg::Mouse(mouse)),
        },
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

fn draw(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &App,
    theme: &Theme,
) -> color_eyre::Result<()> {
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| ui::render(frame, app, theme))?;
    crossterm::queue!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    terminal.backend_mut().flush()?;
    Ok(())
}

fn setup_terminal() -> std::io::Result<Terminal<CrosstermBackend<Stdout>>> {
    enable_raw_mode()?;
    let mut out = stdout();
    if let Err(e) = crossterm::execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        restore_terminal();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(out))
}

/// Leaves the alternate screen and raw mode; safe to call more than once.
pub fn restore_terminal() {
    let _ = crossterm::execute!(
        stdout(),
        EndSynchronizedUpdate,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// A panic anywhere, a background task included, restores the terminal, prints the
/// report and ends the process: a cockpit half-alive after a panic would show lies.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
        eprintln!("golive: this is a bug; runbook ticks already shown were saved. Exiting.");
        std::process::exit(101);
    }));
}

/// Standard base64 with padding, for OSC 52.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), want);
        }
    }
}
