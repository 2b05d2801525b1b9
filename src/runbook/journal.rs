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
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "journal.jsonl";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything an operator or golive itself does during a go-live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
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
    #[error("the journal {path} is damaged: {problem}")]
    Damaged { path: PathBuf, problem: String },
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
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads and checks a journal's text. Never fails: problems are reported with their line.
pub fn verify_text(text: &str) -> (Vec<Entry>, Verification) {
    let mut entries = Vec::new();
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
    }
    let verification = Verification {
        entries: entries.len(),
        final_hash: prev,
        problems,
        torn_tail,
    };
    (entries, verification)
}

pub fn verify_dir(dir: &Path) -> Result<(Vec<Entry>, Verification), JournalError> {
    let path = dir.join(FILE_NAME);
    let text =
        std::fs::read_to_string(&path).map_err(|source| JournalError::Open { path, source })?;
    Ok(verify_text(&text))
}

/// An open journal, appended to by one owner.
pub struct Journal {
    path: PathBuf,
    file: File,
    operator: String,
    next_seq: u64,
    last_hash: String,
    pub entries: Vec<Entry>,
    /// Set when the journal was opened with a torn last line or a broken chain.
    pub warnings: Vec<String>,
}

impl Journal {
    /// Opens (or creates) `dir/journal.jsonl`. A torn last line is cut off and reported;
    /// a broken chain is reported but does not stop golive from starting: the record of
    /// what was acknowledged matters more, and `golive journal verify` names the line.
    pub fn open(dir: &Path, operator: &str) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(JournalError::Open { path, source }),
        };
        let (entries, verification) = verify_text(&text);
        let mut warnings = Vec::new();
        if let Some(line) = verification.torn_tail {
            warnings.push(format!(
                "{}:{line}: the last line was cut short (a write interrupted) and is ignored",
                path.display()
            ));
            // Drop the torn bytes so the next entry starts on a clean line.
            let keep = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|source| JournalError::Open {
                    path: path.clone(),
                    source,
                })?;
            file.set_len(keep as u64)
                .map_err(|source| JournalError::Write {
                    path: path.clone(),
                    source,
                })?;
            file.sync_all().map_err(|source| JournalError::Write {
                path: path.clone(),
                source,
            })?;
        }
        for (line, problem) in &verification.problems {
            warnings.push(format!("{}:{line}: {problem}", path.display()));
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Open {
                path: path.clone(),
                source,
            })?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Self {
            next_seq: entries.last().map(|e| e.seq + 1).unwrap_or(0),
            last_hash: verification.final_hash,
            path,
            file,
            operator: operator.to_string(),
            entries,
            warnings,
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

    /// Appends `action`, fsync'd before returning: only then may the screen show it.
    pub fn append(&mut self, action: Action, at: Timestamp) -> Result<&Entry, JournalError> {
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
        let write_error = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&line).map_err(write_error)?;
        self.file
            .sync_data()
            .map_err(|source| JournalError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.next_seq += 1;
        self.last_hash = hash;
        self.entries.push(entry);
        Ok(self.entries.last().expect("an entry was just pushed"))
    }
}

/// `--operator`, else `GOLIVE_OPERATOR`, else `$USER` or `$LOGNAME`, else "unknown".
pub fn operator_name(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("GOLIVE_OPERATOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|s| !s.trim().is_empty())
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
}
