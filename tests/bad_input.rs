//! Bad input, everywhere: arbitrary bytes and mutated valid documents fed to every reader
//! of files a user hands golive (the plan, manifests, a scenario, the journal, a load
//! summary, the theme and the config). None may panic; each refusal names the file, and
//! the line where the reader knows it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests stop at the first surprise

use golive::runbook::journal::{self, Action, Journal};
use golive::runbook::state::RunbookState;
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;

const GRAVL_PLAN: &str = include_str!("../assets/plans/gravl.yaml");
const GRAVL_CLUSTER: &str = include_str!("../assets/demo/gravl/cluster.yaml");
const GRAVL_POLICIES: &str = include_str!("../assets/demo/gravl/network-policies.yaml");
const GRAVL_SCENARIO: &str = include_str!("../assets/demo/scenarios/gravl.yaml");
const SUMMARY: &str = r#"{"state":{"testRunDurationMs":30000},"metrics":{"http_reqs":{"count":600,"rate":20.0}},"thresholds":{"http_req_duration":[{"expr":"p(95)<200","ok":true,"value":7.0}],"http_reqs":[{"expr":"rate>100","ok":false,"value":20.0}]}}"#;
const K6_FLAT: &str = include_str!("fixtures/k6/gravl-summary-export.json");
const K6_HANDLE: &str = include_str!("fixtures/k6/gravl-handle-summary.json");
const K6_MACHINE: &str = include_str!("fixtures/k6/gravl-machine-readable.json");
const THEME: &str =
    "name = \"mine\"\nparent = \"default\"\n[colors]\npass = \"green\"\nfail = \"#ff0000\"\n";
const CONFIG: &str = "theme = \"light\"\n[keys]\ntoggle = \"x\"\nquit = [\"q\", \"ctrl-q\"]\n";

/// One edit to a valid document: the kinds of damage a hand edit, a bad merge or a
/// truncated copy do.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove `len` bytes.
    Delete(Index, u8),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Replace one byte.
    Replace(Index, u8),
    /// Duplicate a line (a key twice, a list item twice).
    DuplicateLine(Index),
    /// Cut the document here.
    Truncate(Index),
    /// Shift a line's indentation (YAML nests differently).
    Indent(Index, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(b":-[]{}\"'#&*!|>%@`\n\t \\0x\xff\xc3".to_vec());
    prop_oneof![
        (any::<Index>(), 1u8..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<Index>(),
            prop::collection::vec(prop_oneof![interesting.clone(), any::<u8>()], 1..8)
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), prop_oneof![interesting, any::<u8>()])
            .prop_map(|(i, b)| Mutation::Replace(i, b)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<bool>()).prop_map(|(i, d)| Mutation::Indent(i, d)),
    ]
}

fn apply(text: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = text.to_vec();
    for m in mutations {
        if out.is_empty() {
            break;
        }
        let line_bounds = |out: &[u8], i: &Index| {
            let at = i.index(out.len());
            let start = out[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let end = out[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |p| at + p + 1);
            (start, end)
        };
        match m {
            Mutation::Delete(i, n) => {
                let at = i.index(out.len());
                let end = (at + *n as usize).min(out.len());
                out.drain(at..end);
            }
            Mutation::Insert(i, bytes) => {
                let at = i.index(out.len() + 1);
                out.splice(at..at, bytes.iter().copied());
            }
            Mutation::Replace(i, b) => {
                let at = i.index(out.len());
                out[at] = *b;
            }
            Mutation::DuplicateLine(i) => {
                let (start, end) = line_bounds(&out, i);
                let line = out[start..end].to_vec();
                out.splice(end..end, line);
            }
            Mutation::Truncate(i) => {
                let at = i.index(out.len());
                out.truncate(at);
            }
            Mutation::Indent(i, deeper) => {
                let (start, _) = line_bounds(&out, i);
                if *deeper {
                    out.splice(start..start, *b"  ");
                } else if out[start..].starts_with(b"  ") {
                    out.drain(start..start + 2);
                }
            }
        }
    }
    out
}

/// Arbitrary bytes, or a valid document damaged by a few mutations.
fn damaged(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => "\\PC{0,300}".prop_map(String::into_bytes),
        4 => prop::collection::vec(mutation(), 1..4).prop_map(move |m| apply(valid.as_bytes(), &m)),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every position the message gives (`FILE:LINE:COL`, `line LINE`) lies within the text
/// (or one past it, for "ended early").
fn position_is_within(message: &str, file: &str, text: &[u8]) {
    let lines = text.split(|&b| b == b'\n').count() + 1;
    let number_after = |at: usize| -> Option<usize> {
        let digits: String = message[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let mut found = Vec::new();
    for (at, _) in message.match_indices("line ") {
        found.extend(number_after(at + 5));
    }
    for (at, _) in message.match_indices(&format!("{file}:")) {
        found.extend(number_after(at + file.len() + 1));
    }
    for line in found {
        assert!(
            line <= lines,
            "line {line} is past the end ({lines} lines): {message}"
        );
    }
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn the_plan_loader_never_panics_and_names_file_and_line(bytes in damaged(GRAVL_PLAN)) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "plan.yaml", &bytes);
        let name = path.to_str().unwrap();
        if let Err(errors) = golive::plan::load_with_env(name, |_| None) {
            for e in &errors.0 {
                prop_assert_eq!(&e.file, name);
                let lines = bytes.split(|&b| b == b'\n').count() + 1;
                prop_assert!(e.line <= lines, "line {} of {}: {}", e.line, lines, e.message);
            }
            let text = errors.to_string();
            prop_assert!(text.contains("plan.yaml"), "{}", text);
        }
    }

    #[test]
    fn the_scenario_parser_never_panics_and_names_file(bytes in damaged(GRAVL_SCENARIO)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = golive_sim::Scenario::from_text("story.yaml", &text) {
            let message = e.to_string();
            prop_assert!(message.contains("story.yaml"), "{}", message);
            position_is_within(&message, "story.yaml", &bytes);
        }
    }

    #[test]
    fn journal_replay_never_panics_and_names_lines_within_the_file(bytes in damaged(valid_journal())) {
        let text = String::from_utf8_lossy(&bytes);
        let (entries, verification) = journal::verify_text(&text);
        let _ = RunbookState::replay_checked(&entries, &verification);
        let lines = text.split_inclusive('\n').count();
        for (line, _) in &verification.problems {
            prop_assert!(*line >= 1 && *line <= lines, "line {} of {}", line, lines);
        }
    }

    #[test]
    fn any_changed_byte_in_a_journal_is_found(at in any::<Index>(), byte in any::<u8>()) {
        let mut bytes = valid_journal().as_bytes().to_vec();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        // The last newline turned into a carriage return ends the same line the same way.
        prop_assume!(!(i + 1 == bytes.len() && byte == b'\r'));
        bytes[i] = byte;
        let damaged = String::from_utf8_lossy(&bytes);
        let (_, v) = journal::verify_text(&damaged);
        prop_assert!(!v.ok() || v.torn_tail.is_some(), "byte {} changed to {:?} went unnoticed", i, byte as char);
    }

    #[test]
    fn opening_a_damaged_journal_never_panics_and_keeps_recording(bytes in damaged(valid_journal())) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), journal::FILE_NAME, &bytes);
        let mut j = Journal::open(dir.path(), "prop").unwrap();
        j.append(Action::Note { step: None, text: "after damage".into() }, jiff::Timestamp::now()).unwrap();
        drop(j);
        let reopened = Journal::open(dir.path(), "prop").unwrap();
        let kept = reopened
            .entries
            .iter()
            .any(|e| matches!(&e.action, Action::Note { text, .. } if text == "after damage"));
        prop_assert!(kept, "the entry appended after the damage is kept");
    }

    #[test]
    fn the_load_summary_reader_never_panics_and_names_file(bytes in damaged(SUMMARY)) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "summary.json", &bytes);
        if let Err(e) = golive::commands::check::read_load_summary(&path, None, None) {
            prop_assert!(e.contains("summary.json"), "{}", e);
            position_is_within(&e, "summary.json", &bytes);
        }
    }

    #[test]
    fn the_k6_summary_readers_never_panic_and_never_pass_what_they_cannot_read(
        bytes in prop_oneof![damaged(K6_FLAT), damaged(K6_HANDLE), damaged(K6_MACHINE)]
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "results.json", &bytes);
        let plan = golive::plan::load_with_env("gravl", |_| None).unwrap().plan.load;
        match golive::commands::check::read_load_summary(&path, plan.as_ref(), None) {
            Err(e) => {
                prop_assert!(e.contains("results.json"), "{}", e);
                position_is_within(&e, "results.json", &bytes);
            }
            // Whatever survives the damage is judged on the Gravl thresholds, which the
            // Gravl run (19.83 req/s against rate>100) can never meet.
            Ok(evidence) => {
                let verdict = golive::gates::load_verdict(Some(&evidence));
                prop_assert_ne!(verdict.status, golive::gates::Status::Pass, "{:?}", verdict);
            }
        }
    }

    #[test]
    fn the_theme_loader_never_panics_and_names_file(bytes in damaged(THEME)) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "mine.toml", &bytes);
        let (_, warnings) = golive::tui::Theme::load("mine", Some(dir.path()), false);
        for w in &warnings {
            if w.contains("mine.toml") {
                position_is_within(w, "mine.toml", &bytes);
            }
        }
        if std::str::from_utf8(&bytes).map(|t| toml::from_str::<toml::Table>(t).is_err()).unwrap_or(true) {
            prop_assert!(warnings.iter().any(|w| w.contains("mine.toml")), "{:?}", warnings);
        }
    }

    #[test]
    fn the_config_loader_never_panics_and_names_file(bytes in damaged(CONFIG)) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config.toml", &bytes);
        let (_, warnings) = golive::tui::config::load_from(&path);
        for w in &warnings {
            prop_assert!(w.contains("config.toml"), "{}", w);
            position_is_within(w, "config.toml", &bytes);
        }
    }

    #[test]
    fn the_netpol_manifest_loader_never_panics_and_names_file(bytes in damaged(GRAVL_POLICIES)) {
        let text = String::from_utf8_lossy(&bytes);
        let mut cluster = golive_netpol::load::ModelBuilder::new();
        if let Err(e) = cluster.add_yaml(&text, "policies.yaml") {
            let message = e.to_string();
            prop_assert!(message.contains("policies.yaml"), "{}", message);
            position_is_within(&message, "policies.yaml", &bytes);
        }
    }
}

proptest! {
    // Each case starts a simulated API server on loopback: fewer of them.
    #![proptest_config(cases(48))]

    #[test]
    fn the_simulator_manifest_loader_never_panics_and_names_file(bytes in damaged(GRAVL_CLUSTER)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let started = runtime.block_on(golive_sim::Sim::start(golive_sim::SimConfig {
            manifest_texts: vec![golive_sim::NamedText::new("cluster.yaml", text)],
            ..Default::default()
        }));
        if let Err(e) = started {
            let message = e.to_string();
            prop_assert!(message.contains("cluster.yaml"), "{}", message);
            position_is_within(&message, "cluster.yaml", &bytes);
        }
    }
}

/// A journal of a few entries of different kinds, as the cockpit writes them.
fn valid_journal() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "alice").unwrap();
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let plan = golive::plan::load_with_env("gravl", |_| None).unwrap();
        for action in [
            Action::Plan {
                name: plan.plan.name.clone(),
                source: plan.source.clone(),
                sha256: plan.sha256(),
                text: plan.text.clone(),
            },
            Action::SessionStarted {
                plan: "Gravl".into(),
                version: "0.1.0".into(),
            },
            Action::StepChecked {
                step: "verify-dns".into(),
            },
            Action::Note {
                step: Some("verify-dns".into()),
                text: "ünïcode and \"quotes\"".into(),
            },
            Action::SignOff {
                role: "Security".into(),
                name: "bob".into(),
                approve: true,
                comment: None,
                verdict: "GO".into(),
                gates: vec![("dns".into(), "pass".into())],
            },
        ] {
            j.append(action, at).unwrap();
        }
        std::fs::read_to_string(dir.path().join(journal::FILE_NAME)).unwrap()
    })
}
