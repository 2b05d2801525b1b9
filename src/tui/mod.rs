//! The cockpit: one screen with the verdict, the gates, the load test, the runbook and
//! the evidence behind whatever is selected.
//!
//! Sources (terminal, cluster watchers, load engine) send [`Msg`]s; [`App`] owns all
//! state and answers with [`Effect`]s that the runtime (`runtime.rs`) carries out. This
//! file starts the cockpit and runs the event loop; `terminal.rs` owns the terminal.
//! Frames are drawn only when something changed, at most ~30 a second; a 1 s tick
//! advances the clocks.

pub mod app;
mod command;
pub mod config;
pub mod export;
pub mod form;
pub mod format;
pub mod keys;
pub mod layout;
pub mod rows;
mod runtime;
mod terminal;
pub mod theme;
pub mod ui;

pub use app::{App, Effect, Msg};
pub use terminal::restore_terminal;
pub use theme::Theme;

use crate::cluster::Target;
use crate::plan::{self, LoadedPlan};
use crate::runbook::journal::{self, Journal};
use crate::runbook::state::RunbookState;
use color_eyre::eyre::{WrapErr, eyre};
use crossterm::event::{Event, EventStream, MouseEventKind};
use futures::StreamExt;
use jiff::Timestamp;
use runtime::Runtime;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// At most this many frames a second, however fast messages arrive.
const FRAME: Duration = Duration::from_millis(33);

pub struct Options {
    pub plan: LoadedPlan,
    pub target: Target,
    /// Marks the screen "DEMO · simulated cluster".
    pub demo: bool,
    /// The demo plays API server faults over its story: the header says so.
    pub chaos: bool,
    pub theme: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Who the journal records as acting (`--operator`, else GOLIVE_OPERATOR, else $USER).
    pub operator: Option<String>,
}

/// `golive demo`: the simulated cluster and demo service, the cockpit on top, and both
/// shut down when the cockpit ends.
/// How the demo plays: its story's speed, and whether faults are played over it.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub speed: u32,
    pub chaos: bool,
}

pub async fn run_demo(
    plan_name: &str,
    how: DemoOptions,
    theme: Option<String>,
    state_dir: Option<PathBuf>,
    operator: Option<String>,
) -> color_eyre::Result<ExitCode> {
    let demo = crate::demo::start_with(plan_name, how.speed, how.chaos)
        .await
        .map_err(|e| eyre!("golive demo: {e}"))?;
    let options = Options {
        plan: demo.plan.clone(),
        target: Target {
            kubeconfig: Some(demo.kubeconfig.clone()),
            context: None,
        },
        demo: true,
        chaos: how.chaos,
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
        Some(dir) => match open_journal(dir, &options.plan, options.operator.as_deref()) {
            Ok(journal) => {
                warnings.extend(journal.warnings.iter().cloned());
                (Some(journal), Some(dir.clone()))
            }
            Err(e) => {
                warnings.push(format!("runbook ticks will NOT be recorded: {e}"));
                not_recording = Some(match e {
                    journal::JournalError::Locked { .. } => "locked by another golive".to_string(),
                    journal::JournalError::Open { source, .. }
                    | journal::JournalError::Write { source, .. } => {
                        format!("cannot write the journal ({source})")
                    }
                    _ => "journal unreadable".to_string(),
                });
                (None, None)
            }
        },
        None => {
            warnings.push(
                "no HOME or XDG_DATA_HOME: runbook ticks will NOT be recorded (pass --state-dir)"
                    .into(),
            );
            not_recording = Some("no state directory".into());
            (None, None)
        }
    };
    // The log sits beside the journal; without a state directory there is none.
    let log_file = match &state_dir {
        Some(dir) => match crate::log::to_state_dir(dir) {
            Ok(path) => Some(path),
            Err(e) => {
                warnings.push(format!("no log file: {e}"));
                None
            }
        },
        None => None,
    };
    let runbook = journal
        .as_ref()
        .map(|j| RunbookState::replay_checked(&j.entries, &j.verification))
        .unwrap_or_default();

    let plan = Arc::new(options.plan);
    let now = Timestamp::now();
    let mut app = App::new(plan.clone(), options.demo, keymap, runbook, now);
    app.chaos = options.chaos;
    app.tz = jiff::tz::TimeZone::system();
    app.not_recording = not_recording;
    app.log_file = log_file;

    app.operator = journal::operator_name(options.operator.as_deref());

    terminal::install_panic_hook();
    let mut screen = terminal::setup().wrap_err("cannot set up the terminal")?;
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    let command_env = options
        .target
        .kubeconfig
        .as_ref()
        .map(|k| vec![("KUBECONFIG".to_string(), k.display().to_string())])
        .unwrap_or_default();
    let connector = runtime::spawn_cluster(plan.clone(), options.target.clone(), tx.clone());
    let prober = runtime::spawn_probes(plan.clone(), tx.clone());
    let metrics = runtime::spawn_metrics(plan.clone(), options.target.clone(), tx.clone());
    let mut runtime = Runtime {
        tx,
        state_dir,
        journal,
        load_stop: None,
        command: None,
        command_env,
        tasks: vec![connector, prober, metrics],
        target: options.target,
    };
    if std::env::var_os("GOLIVE_TEST_PANIC").is_some() {
        // Test hook: a panic in a background task must restore the terminal and exit 101.
        runtime.tasks.push(tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            panic!("GOLIVE_TEST_PANIC: deliberate panic in a background task");
        }));
    }
    let size = screen.size().unwrap_or_default();
    runtime.dispatch(&mut app, Msg::Resize(size.width, size.height));
    for w in warnings {
        runtime.dispatch(&mut app, Msg::Warning(w));
    }
    if let Some(from) = app.load_from() {
        let read = Effect::ReadLoadSummary(from.to_string());
        runtime.carry_out(&mut app, vec![read]);
    }
    let result = event_loop(&mut screen, &mut app, &theme, &mut rx, &mut runtime).await;
    runtime.wind_down(&mut app, &mut rx).await;
    for task in &runtime.tasks {
        task.abort();
    }
    restore_terminal();
    result.map(|()| ExitCode::SUCCESS)
}

/// Opens `<dir>/journal.jsonl` and records that a cockpit session started; a new journal
/// first records which plan it belongs to, and one written under another plan text says so.
fn open_journal(
    dir: &std::path::Path,
    plan: &LoadedPlan,
    operator: Option<&str>,
) -> Result<Journal, journal::JournalError> {
    let mut journal = Journal::open(dir, &journal::operator_name(operator))?;
    if journal.entries.is_empty() {
        journal.append(
            journal::Action::Plan {
                name: plan.plan.name.clone(),
                source: plan.source.clone(),
                sha256: plan.sha256(),
                text: plan.text.clone(),
            },
            Timestamp::now(),
        )?;
    } else if let Some(mismatch) =
        journal::recorded_plan(&journal.entries).and_then(|recorded| recorded.mismatch(plan))
    {
        journal.warnings.push(mismatch);
    }
    journal.append(
        journal::Action::SessionStarted {
            plan: plan.plan.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        Timestamp::now(),
    )?;
    Ok(journal)
}

/// Draws, waits for the next message from any source and dispatches it, until the app
/// quits or the terminal goes away.
async fn event_loop(
    screen: &mut terminal::Screen,
    app: &mut App,
    theme: &Theme,
    rx: &mut mpsc::Receiver<Msg>,
    runtime: &mut Runtime,
) -> color_eyre::Result<()> {
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
                let now = Timestamp::now();
                let judging = app.judging_due(now);
                let started = Instant::now();
                let effects = app.settle(now);
                if judging {
                    evaluation_cost = started.elapsed();
                    last_evaluation = Some(Instant::now());
                }
                // Auto-verified steps are in the journal before the frame shows them ticked.
                runtime.carry_out(app, effects);
            }
            terminal::draw(screen, app, theme)?;
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
                runtime.dispatch(app, Msg::Terminated);
                return Ok(());
            }
            _ = hangup.recv() => {
                runtime.dispatch(app, Msg::Terminated);
                return Ok(());
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        runtime.dispatch(app, msg);
        // Take whatever else is already queued before drawing: one frame per burst.
        while let Ok(msg) = rx.try_recv() {
            runtime.dispatch(app, msg);
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
