//! The contract between the runtime and the state: every [`Msg`] that reaches
//! [`super::App::update`], every [`Effect`] it asks the runtime to carry out, and the
//! results that come back. Start here to see what the cockpit reacts to.

use crate::cluster::ClusterEvent;
use crate::runbook::journal::{Action as Record, Entry};
use crossterm::event::{KeyEvent, MouseEvent};
use golive_load::{Snapshot, Summary};

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Only advances clocks.
    Tick,
    /// SIGTERM or SIGHUP (the terminal closed): end as ctrl-c does, the load test stopped.
    Terminated,
    Connected {
        context: String,
        server: String,
    },
    ConnectFailed(String),
    Cluster(ClusterEvent),
    LoadStarted,
    LoadFailed(String),
    LoadSnapshot(Box<Snapshot>),
    LoadFinished(Box<Summary>),
    /// Fresh results of the plan's HTTP, SSE and TCP probes.
    Probes(crate::probe::Probes),
    /// Answers to the `dns_records` lookups asked by `Effect::LookUpDns`.
    Dns(crate::dns::DnsAnswers),
    /// A round of Prometheus and Alertmanager answers from the metrics poller.
    Metrics(Box<crate::metrics::MetricsUpdate>),
    /// The pre-deploy baseline of a monitored query, or why there is none.
    BaselineCaptured {
        check: String,
        result: Result<crate::metrics::BaselineValue, String>,
    },
    /// The journal wrote and fsync'd this entry; only now does the screen show it.
    Recorded(Box<Entry>),
    /// The journal could not record this action; the screen does not show it.
    RecordFailed {
        action: Box<Record>,
        error: String,
    },
    /// Lines the running command printed (stdout and stderr, in arrival order).
    CommandOutput(Vec<String>),
    /// The command could not be started (nothing ran); why.
    CommandNotStarted(String),
    /// The running command ended: exited, was killed at its timeout, or could not be waited on.
    CommandFinished(CommandResult),
    ReportWritten(std::path::PathBuf),
    ReportFailed(String),
    /// Problems found at start-up (theme, config, journal) worth showing once.
    Warning(String),
    /// The plan's `load: {from: FILE}` as read from disk: its text and modification time,
    /// or why it could not be read. The answer to `Effect::ReadLoadSummary`.
    LoadSummaryFile {
        path: String,
        read: Result<(String, Option<jiff::Timestamp>), String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    StartLoad,
    StopLoad,
    /// Read this load summary file (the plan's `load: {from: FILE}`); answer `LoadSummaryFile`.
    ReadLoadSummary(String),
    /// Append this to the journal, then answer with `Recorded` or `RecordFailed`.
    Record(Record),
    /// Write the Markdown report next to the journal; answer `ReportWritten` or `ReportFailed`.
    ExportReport,
    /// Record `command_started`, then run the command; answer with `CommandOutput`s and one
    /// `CommandFinished`, or `CommandNotStarted` (the journal refused, or spawn failed).
    RunCommand {
        step: String,
        command: String,
        timeout: std::time::Duration,
    },
    /// Ask Prometheus for `query` over `[start, end]` (the window before the deploy) and
    /// answer `BaselineCaptured`.
    CaptureBaseline {
        check: String,
        query: String,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    },
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Look these names up (the `dns_records` checks) and answer with `Dns`.
    LookUpDns(std::collections::BTreeSet<crate::dns::Lookup>),
    Quit,
}

/// How a step's command ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandResult {
    pub step: String,
    pub command: String,
    /// None when it was killed (timeout, golive quitting) or its status could not be read.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The last lines it printed, with golive's own note when it killed it.
    pub output_tail: String,
}
