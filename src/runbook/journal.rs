//! The go-live journal: JSON Lines, one action per line, each line chained to the one
//! before by SHA-256, written and fsync'd before the screen shows the change.
//!
//! A line is `{"seq":N,"at":"…Z","operator":"…","action":{…},"prev":"<hex>","hash":"<hex>"}`
//! where `hash = sha256(prev || canonical JSON of the line without "hash")`. Editing,
//! reordering or removing a line breaks the chain at that line. A torn last line (a
//! power cut mid-write) is reported and ignored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "journal.jsonl";
/// Beside the journal: how many entries it held and the last hash, rewritten after every
/// append. The chain alone cannot tell that its last lines were cut off; this can.
pub const HEAD_FILE_NAME: &str = "journal.head";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything an operator or golive itself does during a go-live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Which plan this journal belongs to: the first entry of a journal, so a report needs
    /// only the state directory, and a cockpit or report started with another plan text
    /// can say so. `sha256` is of `text`, the plan as written (before `${VAR}`s).
    Plan {
        name: String,
        source: String,
        sha256: String,
        text: String,
    },
    SessionStarted {
        plan: String,
        version: String,
    },
    StepChecked {
        step: String,
    },
    StepUnchecked {
        step: String,
    },
    /// A step ticked itself because its verification passed; `evidence` is what it passed on.
    StepVerified {
        step: String,
        verify: String,
        evidence: Vec<String>,
    },
    Note {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        text: String,
    },
    /// The operator confirmed and golive started the step's command. A start without a
    /// `command_run` after it means golive stopped before the command ended.
    CommandStarted {
        step: String,
        command: String,
    },
    CommandRun {
        step: String,
        command: String,
        exit_code: Option<i32>,
        duration_ms: u64,
        output_tail: String,
    },
    SignOff {
        role: String,
        name: String,
        approve: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        verdict: String,
        gates: Vec<(String, String)>,
    },
    Override {
        reason: String,
        verdict: String,
        failing: Vec<String>,
    },
    LoadStarted {
        target: String,
    },
    /// A monitored query's pre-deploy baseline, captured once: a restart and the report
    /// compare against the same numbers.
    Baseline {
        /// The check's key (`gates::monitor::key`).
        check: String,
        baseline: crate::metrics::BaselineValue,
    },
    /// An Alertmanager alert the cockpit saw: `firing` when first seen active, `resolved`
    /// when it left the active list; so the report lists every alert of the window.
    Alert {
        fingerprint: String,
        name: String,
        labels: std::collections::BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        starts_at: Option<Timestamp>,
        event: String,
    },
    /// A workload's rollout as golive saw it: `started` when a new revision appeared,
    /// `failed` when it broke, `complete` when it finished; with the revision, the images
    /// that changed and, once it ended, how long it took.
    Rollout {
        /// `Deployment gravl-staging/backend`.
        workload: String,
        event: String,
        /// `rev 3 → 4`.
        revision: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<String>,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_s: Option<i64>,
    },
    /// The plan's `load: {from: FILE}` as the cockpit read and judged it: the record of a
    /// load result golive did not run (each later reading reads the file again).
    LoadSummaryRead {
        file: String,
        /// `k6 --summary-export`, `k6 handleSummary data`, …
        format: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        written_at: Option<Timestamp>,
        requests: u64,
        /// The `load_thresholds` verdict on it (`fail`) and its summary.
        status: String,
        summary: String,
    },
    LoadFinished {
        requests: u64,
        thresholds_ok: bool,
        /// (metric, expression, met, measured value as shown)
        thresholds: Vec<(String, String, bool, String)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        aborted: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stats: Option<LoadStats>,
    },
}

/// The figures a report shows for a finished load test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadStats {
    pub duration_s: f64,
    pub rps: f64,
    pub failure_rate: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub avg_ms: f64,
    pub data_received: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub at: Timestamp,
    pub operator: String,
    pub action: Action,
    pub prev: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Unsigned<'a> {
    seq: u64,
    at: &'a Timestamp,
    operator: &'a str,
    action: &'a Action,
    prev: &'a str,
}

fn digest(seq: u64, at: &Timestamp, operator: &str, action: &Action, prev: &str) -> String {
    let unsigned = Unsigned {
        seq,
        at,
        operator,
        action,
        prev,
    };
    // serde_json writes struct fields in declaration order: the form is canonical.
    let body = serde_json::to_vec(&unsigned).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(&body);
    hex::encode(hasher.finalize())
}

/// The hash of a line as written: the bytes before its `"hash"` field, closed, are exactly
/// what [`digest`] hashed when it was appended. Hashing the text itself, not a parse of
/// it, keeps verification independent of how numbers round-trip through JSON (a float
/// such as 14.919823105999999 need not come back bit-identical from a parse).
fn hash_of_line(line: &str, prev: &str) -> Option<String> {
    let body = line.strip_suffix('}')?;
    let cut = body.rfind(r#","hash":""#)?;
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(&body.as_bytes()[..cut]);
    hasher.update(b"}");
    Some(hex::encode(hasher.finalize()))
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open the journal {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write to the journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the journal {path} is in use by another golive (two cockpits on one state directory \
         would fork the record): quit the other one or pass another --state-dir"
    )]
    Locked { path: PathBuf },
    #[error(
        "the journal {path} could not be cut back after a failed write ({problem}); \
         nothing more is recorded: restart golive, it repairs the last line"
    )]
    Poisoned { path: PathBuf, problem: String },
}

/// The content of `journal.head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub entries: u64,
    pub hash: String,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: usize,
    pub final_hash: String,
    /// Chain breaks: (1-based line, what is wrong).
    pub problems: Vec<(usize, String)>,
    /// A last line that is not a complete entry (a write cut short).
    pub torn_tail: Option<usize>,
    /// The 1-based line of each entry, in order.
    pub lines: Vec<usize>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn line_of(&self, entry_index: usize) -> usize {
        self.lines.get(entry_index).copied().unwrap_or(0)
    }

    /// The problems as the reasons a decision cannot rest on this record
    /// (`journal line N: …`); the decision holds each as a `Reason::JournalIntegrity`.
    pub fn integrity_reasons(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|(line, problem)| format!("journal line {line}: {problem}"))
            .collect()
    }
}

/// Reads and checks a journal's text. Never fails: problems are reported with their line.
pub fn verify_text(text: &str) -> (Vec<Entry>, Verification) {
    let mut entries = Vec::new();
    let mut entry_lines = Vec::new();
    let mut problems = Vec::new();
    let mut torn_tail = None;
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 0u64;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (index, raw) in lines.iter().enumerate() {
        let line_no = index + 1;
        let complete = raw.ends_with('\n');
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(e) => {
                if index + 1 == lines.len() && !complete {
                    torn_tail = Some(line_no);
                } else {
                    problems.push((line_no, format!("not a journal entry: {e}")));
                }
                continue;
            }
        };
        if entry.seq != expected_seq {
            problems.push((
                line_no,
                format!(
                    "entry {} where {expected_seq} was expected: a line was removed or reordered",
                    entry.seq
                ),
            ));
        }
        if entry.prev != prev {
            problems.push((
                line_no,
                "does not follow the line before it (chain broken: removed, reordered or edited)"
                    .into(),
            ));
        }
        if hash_of_line(line, &entry.prev).as_deref() != Some(entry.hash.as_str()) {
            problems.push((
                line_no,
                "content does not match its hash: the line was edited".into(),
            ));
        }
        prev = entry.hash.clone();
        expected_seq = entry.seq + 1;
        entries.push(entry);
        entry_lines.push(line_no);
    }
    let verification = Verification {
        entries: entries.len(),
        final_hash: prev,
        problems,
        torn_tail,
        lines: entry_lines,
    };
    (entries, verification)
}

/// Compares the journal with what `journal.head` recorded after the last append. The
/// journal may hold more (golive stopped between the two writes), never fewer or others.
pub fn check_head(entries: &[Entry], head: &Head, verification: &mut Verification) {
    let after_last = lines_of(entries, verification) + 1;
    if (entries.len() as u64) < head.entries {
        verification.problems.push((
            after_last,
            format!(
                "the journal ends after {} entries but {HEAD_FILE_NAME} recorded {}: \
                 its last lines were removed",
                entries.len(),
                head.entries
            ),
        ));
        return;
    }
    if head.entries > 0 {
        let index = (head.entries - 1) as usize;
        if entries[index].hash != head.hash {
            verification.problems.push((
                verification.line_of(index),
                format!(
                    "entry {index} is not the one {HEAD_FILE_NAME} recorded (hash {}): \
                     the journal was rewritten",
                    short(&head.hash)
                ),
            ));
        }
    }
}

/// Checks that the journal still holds the entry whose hash a report printed
/// (`golive journal verify --expect HASH`): entries may follow it, none may be missing.
pub fn check_anchor(entries: &[Entry], hash: &str, verification: &mut Verification) {
    let hash = hash.trim().to_ascii_lowercase();
    if hash == GENESIS || entries.iter().any(|e| e.hash == hash) {
        return;
    }
    verification.problems.push((
        lines_of(entries, verification) + 1,
        format!(
            "no entry has the expected hash {}: lines up to it were removed or rewritten",
            short(&hash)
        ),
    ));
}

fn lines_of(entries: &[Entry], verification: &Verification) -> usize {
    if entries.is_empty() {
        0
    } else {
        verification.line_of(entries.len() - 1)
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn read_head(dir: &Path) -> Result<Option<Head>, String> {
    let path = dir.join(HEAD_FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{} is not readable: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Verifies `text` as the journal of `dir`, including what `journal.head` recorded.
fn verify_with_head(dir: &Path, text: &str) -> (Vec<Entry>, Verification) {
    let (entries, mut verification) = verify_text(text);
    match read_head(dir) {
        Ok(Some(head)) => check_head(&entries, &head, &mut verification),
        Ok(None) => {}
        Err(problem) => verification
            .problems
            .push((lines_of(&entries, &verification) + 1, problem)),
    }
    (entries, verification)
}

pub fn verify_dir(dir: &Path) -> Result<(Vec<Entry>, Verification), JournalError> {
    let path = dir.join(FILE_NAME);
    let text =
        std::fs::read_to_string(&path).map_err(|source| JournalError::Open { path, source })?;
    Ok(verify_with_head(dir, &text))
}

/// An open journal, appended to by one owner: the file is locked while it is open.
pub struct Journal {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// Bytes of complete entries: a failed append is cut back to this length.
    len: u64,
    operator: String,
    next_seq: u64,
    last_hash: String,
    /// A failed append that could not be cut back: nothing more may be appended.
    poisoned: Option<String>,
    pub entries: Vec<Entry>,
    /// What opening found (a torn last line) and what the chain check found.
    pub warnings: Vec<String>,
    /// The chain check at open: a broken chain is no ground for a GO.
    pub verification: Verification,
}

impl Journal {
    /// Opens (or creates) `dir/journal.jsonl` and locks it. A torn last line is cut off and
    /// reported; a broken chain is reported but does not stop golive from starting: the
    /// record of what was acknowledged matters more, and `golive journal verify` names the
    /// line. Another golive holding the journal is an error: two writers fork the chain.
    pub fn open(dir: &Path, operator: &str) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let open_error = |source| JournalError::Open {
            path: path.clone(),
            source,
        };
        let write_error = |source| JournalError::Write {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(open_error)?;
        let mut warnings = Vec::new();
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked { path: path.clone() });
            }
            // A file system without locks: keep recording (losing ticks is worse), say so.
            Err(std::fs::TryLockError::Error(e)) => warnings.push(format!(
                "{}: cannot lock the journal ({e}); do not open this state directory in a \
                 second golive",
                path.display()
            )),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(open_error)?;
        let text = String::from_utf8_lossy(&bytes);
        let (entries, verification) = verify_with_head(dir, &text);
        let mut len = bytes.len() as u64;
        if let Some(line) = verification.torn_tail {
            warnings.push(format!(
                "{}:{line}: the last line was cut short (a write interrupted) and is ignored",
                path.display()
            ));
            // Drop the torn bytes so the next entry starts on a clean line.
            len = bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map(|i| i as u64 + 1)
                .unwrap_or(0);
            file.set_len(len).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
        } else if bytes.last().is_some_and(|&b| b != b'\n') {
            // A whole entry whose newline never reached the disk: end its line, or the
            // next entry would be glued to it.
            file.write_all(b"\n").map_err(write_error)?;
            file.sync_data().map_err(write_error)?;
            len += 1;
        }
        for (line, problem) in &verification.problems {
            warnings.push(format!("{}:{line}: {problem}", path.display()));
        }
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Self {
            next_seq: entries.last().map(|e| e.seq + 1).unwrap_or(0),
            last_hash: verification.final_hash.clone(),
            dir: dir.to_path_buf(),
            path,
            file,
            len,
            operator: operator.to_string(),
            poisoned: None,
            entries,
            warnings,
            verification,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn operator(&self) -> &str {
        &self.operator
    }

    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// Appends `action`, fsync'd before returning: only then may the screen show it. A
    /// failed write is cut back, so what was refused never comes back on a restart.
    pub fn append(&mut self, action: Action, at: Timestamp) -> Result<&Entry, JournalError> {
        if let Some(problem) = &self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
                problem: problem.clone(),
            });
        }
        let seq = self.next_seq;
        let hash = digest(seq, &at, &self.operator, &action, &self.last_hash);
        let entry = Entry {
            seq,
            at,
            operator: self.operator.clone(),
            action,
            prev: self.last_hash.clone(),
            hash: hash.clone(),
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| JournalError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            if let Err(cut) = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data())
            {
                self.poisoned = Some(format!("{source}; cutting back: {cut}"));
            }
            return Err(JournalError::Write {
                path: self.path.clone(),
                source,
            });
        }
        self.len += line.len() as u64;
        self.next_seq += 1;
        self.last_hash = hash;
        if let Err(e) = self.write_head() {
            self.warnings.push(format!(
                "{}: {e} (the journal itself is written)",
                self.dir.join(HEAD_FILE_NAME).display()
            ));
        }
        let index = self.entries.len();
        self.entries.push(entry);
        Ok(&self.entries[index])
    }

    /// Rewrites `journal.head` (a temporary file renamed over it, so it is whole or old).
    fn write_head(&self) -> std::io::Result<()> {
        let head = Head {
            entries: self.next_seq,
            hash: self.last_hash.clone(),
        };
        let tmp = self.dir.join(format!("{HEAD_FILE_NAME}.tmp"));
        let mut file = File::create(&tmp)?;
        file.write_all(&serde_json::to_vec(&head).map_err(std::io::Error::other)?)?;
        file.sync_data()?;
        std::fs::rename(&tmp, self.dir.join(HEAD_FILE_NAME))
    }
}

/// The plan a journal records at its first entry (journals written before golive recorded
/// it have none).
pub fn recorded_plan(entries: &[Entry]) -> Option<RecordedPlan<'_>> {
    match &entries.first()?.action {
        Action::Plan {
            name,
            source,
            sha256,
            text,
        } => Some(RecordedPlan {
            name,
            source,
            sha256,
            text,
        }),
        _ => None,
    }
}

/// The fields of [`Action::Plan`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedPlan<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub sha256: &'a str,
    pub text: &'a str,
}

impl RecordedPlan<'_> {
    /// Why `plan` is not the plan this journal was written under, if it is not.
    pub fn mismatch(&self, plan: &crate::plan::LoadedPlan) -> Option<String> {
        let sha256 = plan.sha256();
        (sha256 != self.sha256).then(|| {
            format!(
                "this journal belongs to the plan \"{}\" from {} (sha256 {}), but the plan \
                 given is \"{}\" from {} (sha256 {}): its text differs, so steps and gates \
                 may not match what was recorded",
                self.name,
                self.source,
                short(self.sha256),
                plan.plan.name,
                plan.source,
                short(&sha256)
            )
        })
    }
}

/// `--operator`, else `GOLIVE_OPERATOR`, else `$USER` or `$LOGNAME`, else "unknown"; an
/// empty value counts as unset.
pub fn operator_name(flag: Option<&str>) -> String {
    let named = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    flag.and_then(named)
        .or_else(|| {
            ["GOLIVE_OPERATOR", "USER", "LOGNAME"]
                .iter()
                .find_map(|var| std::env::var(var).ok().as_deref().and_then(named))
        })
        .unwrap_or_else(|| "unknown".into())
}

impl Action {
    /// The journal record of a finished load test.
    pub fn load_finished(summary: &golive_load::Summary) -> Action {
        let evidence = crate::gates::LoadEvidence::from_summary(summary, None);
        let s = &summary.snapshot;
        Action::LoadFinished {
            requests: s.http_reqs,
            thresholds_ok: summary.thresholds_ok(),
            thresholds: evidence
                .thresholds
                .into_iter()
                .map(|t| (t.metric, t.expr, t.ok, t.measured))
                .collect(),
            aborted: summary.aborted.clone(),
            stats: Some(LoadStats {
                duration_s: s.elapsed.as_secs_f64(),
                rps: s.rps,
                failure_rate: s.failure_rate,
                p50_ms: s.latency.med,
                p90_ms: s.latency.p90,
                p95_ms: s.latency.p95,
                p99_ms: s.latency.p99,
                max_ms: s.latency.max,
                avg_ms: s.latency.avg,
                data_received: s.data_received,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u32) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + i64::from(s)).expect("valid timestamp")
    }

    fn journal_with(n: u32) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = Journal::open(dir.path(), "alice").expect("open");
        for i in 0..n {
            j.append(
                Action::StepChecked {
                    step: format!("step-{i}"),
                },
                at(i),
            )
            .expect("append");
        }
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("read");
        (dir, text)
    }

    #[test]
    fn an_untouched_journal_verifies_and_reopens_where_it_left_off() {
        let (dir, text) = journal_with(3);
        let (entries, v) = verify_text(&text);
        assert!(v.ok(), "{v:?}");
        assert_eq!(entries.len(), 3);
        let mut j = Journal::open(dir.path(), "bob").expect("reopen");
        assert_eq!(j.entries.len(), 3);
        j.append(
            Action::Note {
                step: None,
                text: "go".into(),
            },
            at(9),
        )
        .expect("append");
        let (_, v) = verify_dir(dir.path()).expect("verify");
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.entries, 4);
    }

    #[test]
    fn floats_that_do_not_round_trip_through_a_parse_still_verify() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = Journal::open(dir.path(), "alice").expect("open");
        j.append(
            Action::LoadFinished {
                requests: 48_696,
                thresholds_ok: true,
                thresholds: vec![],
                aborted: None,
                stats: Some(LoadStats {
                    duration_s: 14.919823105999999,
                    rps: 3263.8456672061297,
                    failure_rate: 0.0,
                    p50_ms: 1.252,
                    p90_ms: 5.311,
                    p95_ms: 7.791,
                    p99_ms: 20.943,
                    max_ms: 81.279,
                    avg_ms: 3.0595954287826457,
                    data_received: 8_424_408,
                }),
            },
            at(1),
        )
        .expect("append");
        let (_, v) = verify_dir(dir.path()).expect("verify");
        assert!(v.ok(), "{v:?}");
        drop(j);
        let reopened = Journal::open(dir.path(), "alice").expect("reopen");
        assert!(reopened.warnings.is_empty(), "{:?}", reopened.warnings);
    }

    #[test]
    fn an_edited_line_is_found() {
        let (_dir, text) = journal_with(3);
        let edited = text.replacen("step-1", "step-X", 1);
        let (_, v) = verify_text(&edited);
        assert_eq!(v.problems.len(), 1, "{v:?}");
        assert_eq!(v.problems[0].0, 2);
        assert!(v.problems[0].1.contains("edited"));
    }

    #[test]
    fn reordered_lines_are_found() {
        let (_dir, text) = journal_with(3);
        let lines: Vec<&str> = text.lines().collect();
        let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
        let (_, v) = verify_text(&swapped);
        assert!(!v.ok());
        assert_eq!(v.problems[0].0, 2, "{v:?}");
    }

    #[test]
    fn a_removed_line_is_found() {
        let (_dir, text) = journal_with(3);
        let lines: Vec<&str> = text.lines().collect();
        let removed = format!("{}\n{}\n", lines[0], lines[2]);
        let (_, v) = verify_text(&removed);
        assert!(!v.ok());
        assert_eq!(v.problems[0].0, 2, "{v:?}");
        assert!(v.problems[0].1.contains("removed"));
    }

    #[test]
    fn a_removed_last_line_changes_the_final_hash() {
        let (_dir, text) = journal_with(3);
        let (_, full) = verify_text(&text);
        let lines: Vec<&str> = text.lines().collect();
        let (_, cut) = verify_text(&format!("{}\n{}\n", lines[0], lines[1]));
        assert!(cut.ok());
        assert_ne!(
            full.final_hash, cut.final_hash,
            "the report's final hash tells the truncation"
        );
    }

    #[test]
    fn a_torn_last_line_is_reported_ignored_and_cut_on_open() {
        let (dir, text) = journal_with(2);
        let torn = format!("{text}{{\"seq\":2,\"at\":\"20");
        std::fs::write(dir.path().join(FILE_NAME), &torn).expect("write");
        let (_, v) = verify_text(&torn);
        assert!(v.ok());
        assert_eq!(v.torn_tail, Some(3));
        let mut j = Journal::open(dir.path(), "alice").expect("a torn line never stops golive");
        assert_eq!(j.entries.len(), 2);
        assert!(j.warnings[0].contains("cut short"), "{:?}", j.warnings);
        j.append(
            Action::StepChecked {
                step: "again".into(),
            },
            at(5),
        )
        .expect("append");
        let (_, v) = verify_dir(dir.path()).expect("verify");
        assert!(v.ok() && v.torn_tail.is_none(), "{v:?}");
        assert_eq!(v.entries, 3);
    }

    #[test]
    fn removed_last_lines_are_found_through_the_head_file() {
        let (dir, text) = journal_with(3);
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(
            dir.path().join(FILE_NAME),
            format!("{}\n{}\n", lines[0], lines[1]),
        )
        .expect("write");
        let (_, v) = verify_dir(dir.path()).expect("verify");
        assert_eq!(v.problems.len(), 1, "{v:?}");
        assert_eq!(v.problems[0].0, 3, "{v:?}");
        assert!(v.problems[0].1.contains("last lines were removed"), "{v:?}");
    }

    #[test]
    fn a_journal_one_entry_ahead_of_its_head_verifies() {
        // golive stopped between appending and rewriting the head.
        let (dir, _) = journal_with(3);
        let head_path = dir.path().join(HEAD_FILE_NAME);
        let (entries, _) = verify_dir(dir.path()).expect("verify");
        let behind = Head {
            entries: 2,
            hash: entries[1].hash.clone(),
        };
        std::fs::write(&head_path, serde_json::to_vec(&behind).expect("json")).expect("write");
        let (_, v) = verify_dir(dir.path()).expect("verify");
        assert!(v.ok(), "{v:?}");
    }

    #[test]
    fn a_report_hash_no_longer_in_the_journal_is_found() {
        let (dir, text) = journal_with(3);
        let (entries, _) = verify_dir(dir.path()).expect("verify");
        let reported = entries[2].hash.clone();
        let (entries, mut v) = verify_text(&text);
        check_anchor(&entries, &reported, &mut v);
        assert!(v.ok(), "the reported hash is there: {v:?}");
        let lines: Vec<&str> = text.lines().collect();
        let cut = format!("{}\n{}\n", lines[0], lines[1]);
        let (entries, mut v) = verify_text(&cut);
        check_anchor(&entries, &reported, &mut v);
        assert!(!v.ok());
        assert!(v.problems[0].1.contains("expected hash"), "{v:?}");
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Journal::open(dir.path(), "alice").expect("open");
        match Journal::open(dir.path(), "bob") {
            Err(JournalError::Locked { .. }) => {}
            Err(e) => panic!("expected Locked, got {e}"),
            Ok(_) => panic!("two writers on one journal"),
        }
        drop(first);
        Journal::open(dir.path(), "bob").expect("free again once the first is closed");
    }

    #[test]
    fn a_whole_last_entry_without_its_newline_is_kept_and_its_line_ended() {
        let (dir, text) = journal_with(2);
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text.trim_end_matches('\n')).expect("write");
        let mut j = Journal::open(dir.path(), "alice").expect("open");
        assert_eq!(j.entries.len(), 2);
        j.append(
            Action::StepChecked {
                step: "next".into(),
            },
            at(7),
        )
        .expect("append");
        let (entries, v) = verify_dir(dir.path()).expect("verify");
        assert!(v.ok(), "{v:?}");
        assert_eq!(entries.len(), 3);
    }

    #[test]
    fn the_first_entry_names_the_plan_and_another_plan_text_is_told_apart() {
        let plan = crate::plan::load_with_env("gravl", |_| None).expect("built-in plan");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = Journal::open(dir.path(), "alice").expect("open");
        j.append(
            Action::Plan {
                name: plan.plan.name.clone(),
                source: plan.source.clone(),
                sha256: plan.sha256(),
                text: plan.text.clone(),
            },
            at(0),
        )
        .expect("append");
        let recorded = recorded_plan(&j.entries).expect("a recorded plan");
        assert_eq!(recorded.text, plan.text);
        assert_eq!(recorded.mismatch(&plan), None);
        let mut edited = plan.clone();
        edited.text.push_str("\n# edited\n");
        let said = recorded.mismatch(&edited).expect("a different text");
        assert!(said.contains("its text differs"), "{said}");
    }

    #[test]
    fn a_journal_from_before_the_plan_entry_replays_without_one() {
        let (dir, _) = journal_with(2);
        let (entries, v) = verify_dir(dir.path()).expect("verify");
        assert!(v.ok(), "{v:?}");
        assert_eq!(recorded_plan(&entries), None);
        let state = crate::runbook::state::RunbookState::replay(&entries);
        assert!(state.steps["step-1"].checked);
    }

    #[test]
    fn an_empty_operator_variable_falls_back_to_the_next_source() {
        assert_eq!(operator_name(Some("  ")), operator_name(None));
        assert_eq!(operator_name(Some(" carol ")), "carol");
    }
}
