//! Text from the cluster is untrusted. Whatever a condition's reason or message or an
//! annotation holds, `golive check` writes no control sequence to
//! the terminal, `golive report --format junit` is well-formed XML, and the Markdown
//! report renders no markup from outside. The real binary against the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use proptest::prelude::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::*;

/// The field report's payload: a title change, a screen clear, colour, and markup for
/// both report formats.
const HOSTILE: &str =
    "x\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED</td><script>alert(1)</script> | pipe ]]> & <b>";

fn golive(args: &[&str], kubeconfig: &Path, state: &Path) -> (i32, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--wait", "10"])
        .env("XDG_DATA_HOME", state)
        .env_remove("GOLIVE_CONFIG")
        .output()
        .expect("golive runs");
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{args:?}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), out.stdout)
}

struct Outputs {
    check: Vec<u8>,
    junit: String,
    markdown: String,
}

fn outputs(kubeconfig: &Path, state: &Path) -> Outputs {
    let (_, check) = golive(
        &["check", "--plan", "gravl", "--verbose"],
        kubeconfig,
        state,
    );
    let (_, junit) = golive(
        &["report", "--plan", "gravl", "--format", "junit"],
        kubeconfig,
        state,
    );
    let (_, markdown) = golive(
        &["report", "--plan", "gravl", "--format", "markdown"],
        kubeconfig,
        state,
    );
    Outputs {
        check,
        junit: String::from_utf8(junit).expect("the JUnit report is UTF-8"),
        markdown: String::from_utf8(markdown).expect("the Markdown report is UTF-8"),
    }
}

/// Puts `text` where the cluster's authors can: the issuer's Ready condition message, a
/// certificate's condition reason and message and an annotation.
fn plant(sim: &golive_sim::Sim, text: &str) {
    sim.merge_patch(
        "cert-manager.io/v1",
        "ClusterIssuer",
        None,
        "internal-ca-issuer",
        json!({"status": {"conditions": [{
            "type": "Ready", "status": "False", "reason": "ErrGetKeyPair",
            "message": text, "observedGeneration": 1,
            "lastTransitionTime": "2026-11-24T06:00:00Z"}]}}),
    )
    .expect("patch the issuer");
    sim.merge_patch(
        "cert-manager.io/v1",
        "Certificate",
        Some("gravl-staging"),
        "gravl-staging-tls",
        json!({"metadata": {"annotations": {"golive.test/planted": text}},
               "status": {"conditions": [{
            "type": "Ready", "status": "False", "reason": text,
            "message": text, "observedGeneration": 1,
            "lastTransitionTime": "2026-11-24T06:00:00Z"}]}}),
    )
    .expect("patch the certificate");
}

/// What must never come from the cluster to a terminal: C0 controls but newline and tab
/// (golive's own), DEL, C1 controls (0x9B is CSI, 0x9D OSC), bidi overrides.
fn terminal_unsafe(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn assert_safe(out: &Outputs, baseline_angles: (usize, usize)) {
    for byte in [0x1b_u8, 0x07] {
        assert!(
            !out.check.contains(&byte),
            "byte {byte:#x} in golive check's output:\n{}",
            String::from_utf8_lossy(&out.check)
        );
    }
    let check = String::from_utf8(out.check.clone()).expect("check's output is UTF-8");
    assert_eq!(terminal_unsafe(&check), Vec::<char>::new(), "{check}");
    let doc = roxmltree::Document::parse(&out.junit)
        .unwrap_or_else(|e| panic!("JUnit is not well-formed: {e}\n{}", out.junit));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    assert_eq!(terminal_unsafe(&out.junit), Vec::<char>::new());
    assert_eq!(terminal_unsafe(&out.markdown), Vec::<char>::new());
    assert_eq!(
        angles(&out.markdown),
        baseline_angles,
        "the Markdown report has markup that golive did not write:\n{}",
        out.markdown
    );
}

fn angles(text: &str) -> (usize, usize) {
    (text.matches('<').count(), text.matches('>').count())
}

#[test]
fn the_field_reports_payload_is_shown_not_obeyed() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (sim, dir, kubeconfig) = rt.block_on(gravl_sim(&[]));
    plant(&sim, "plain words");
    let baseline = outputs(&kubeconfig, dir.path());
    plant(&sim, HOSTILE);
    let out = outputs(&kubeconfig, dir.path());
    assert_safe(&out, angles(&baseline.markdown));

    // The operator sees that something odd is there, in every channel.
    let check = String::from_utf8_lossy(&out.check);
    assert!(
        check.contains(r"x\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED</td><script>"),
        "{check}"
    );
    let doc = roxmltree::Document::parse(&out.junit).expect("well-formed");
    let failure = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("cluster-issuers"))
        .find_map(|n| n.children().find(|c| c.has_tag_name("failure")))
        .expect("cluster-issuers fails in JUnit");
    let body = failure.text().unwrap_or("");
    assert!(
        body.contains(r"\x1b]0;PWNED-TITLE\x07")
            && body.contains("<script>alert(1)</script> | pipe ]]> & <b>"),
        "the parser reads the message back as shown text: {body}"
    );
    assert!(
        out.markdown.contains(
            r"&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt; \| pipe \]\]&gt; &amp; &lt;b&gt;"
        ),
        "{}",
        out.markdown
    );
    rt.block_on(sim.shutdown());
}

/// A piece of text someone could write into a status or annotation.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<char>().prop_map(String::from),
        "[ -~]{0,12}",
        prop::sample::select(vec![
            "\x1b]0;PWNED\x07",
            "\x1b]52;c;cGFzc3dvcmQ=\x07",
            "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
            "\x1b[2J\x1b[H",
            "\x1b[6n",
            "\u{9b}31m",
            "\u{9d}0;t\u{9c}",
            "\x08\x08\x08ok",
            "\rpass ✓",
            "\n  ✓ cluster-issuers pass",
            "\u{202e}evil\u{202c}",
            "\u{2067}x\u{2069}",
            "</td><script>alert(1)</script>",
            "]]>",
            "<![CDATA[",
            "&amp;",
            "| pipe |",
            "`code`",
            "\u{fffe}\u{ffff}",
            "\0",
        ])
        .prop_map(String::from),
        // Bytes off the wire: the API server sends invalid UTF-8 as U+FFFD.
        prop::collection::vec(any::<u8>(), 0..8)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (1usize..4).prop_map(|n| "long ".repeat(n * 1500)),
    ]
}

#[test]
fn arbitrary_cluster_text_never_reaches_a_terminal_or_breaks_a_report() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (sim, dir, kubeconfig) = rt.block_on(gravl_sim(&[]));
    plant(&sim, "plain words");
    let baseline = angles(&outputs(&kubeconfig, dir.path()).markdown);
    let config = ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(pieces in prop::collection::vec(piece(), 1..8))| {
        let text: String = pieces.concat();
        plant(&sim, &text);
        assert_safe(&outputs(&kubeconfig, dir.path()), baseline);
    });
    rt.block_on(sim.shutdown());
}

/// Everything the cockpit wrote to its terminal while it showed `hostile` in a condition.
fn cockpit_bytes(hostile: &str) -> (Vec<u8>, String) {
    use expectrl::Expect;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (sim, dir, kubeconfig) = rt.block_on(gravl_sim(&[]));
    plant(&sim, hostile);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_golive"));
    cmd.args(["run", "--plan", "gravl", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("TERM", "xterm-256color")
        .env("GOLIVE_OPERATOR", "pty-tester")
        .env_remove("NO_COLOR")
        .env_remove("GOLIVE_CONFIG");
    let mut session = expectrl::Session::spawn(cmd).expect("spawn golive run");
    session
        .get_process_mut()
        .set_window_size(160, 45)
        .expect("window size");
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(45).expect("rows"),
        std::num::NonZeroU16::new(160).expect("cols"),
        0,
    );
    let mut raw = Vec::new();
    let mut pump = |session: &mut expectrl::session::OsSession, parser: &mut vt100::Parser| {
        let mut buf = [0u8; 65536];
        while let Ok(n) = session.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            parser.process(&buf[..n]);
            raw.extend_from_slice(&buf[..n]);
        }
    };
    let wait = |what: &str,
                session: &mut expectrl::session::OsSession,
                parser: &mut vt100::Parser,
                pump: &mut dyn FnMut(&mut expectrl::session::OsSession, &mut vt100::Parser),
                done: &dyn Fn(&str) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            pump(session, parser);
            if done(&parser.screen().contents()) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                parser.screen().contents()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait("the gates", &mut session, &mut parser, &mut pump, &|s| {
        s.contains("cluster-issuers")
    });
    // Filter down to cluster-issuers (the selection no longer depends on which gate
    // failed first), then open its details, which show the condition message.
    session.send("/cluster-issuers\r").expect("keys");
    wait(
        "the filtered gates",
        &mut session,
        &mut parser,
        &mut pump,
        &|s| !s.contains("cert-manager     "),
    );
    session.send("\r").expect("keys");
    wait(
        "the issuer's evidence",
        &mut session,
        &mut parser,
        &mut pump,
        &|s| s.contains("Details  gate cluster-issuers") && s.contains("PWNED-TITLE"),
    );
    let screen = parser.screen().contents();
    session.send("q").expect("quit");
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send("y").expect("confirm");
    std::thread::sleep(std::time::Duration::from_millis(500));
    pump(&mut session, &mut parser);
    let pid = session.get_process().pid().to_string();
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    rt.block_on(sim.shutdown());
    (raw, screen)
}

#[test]
fn the_cockpit_shows_cluster_control_sequences_and_never_sends_them() {
    // Sequences golive never writes itself: a title (OSC 0), a clipboard write (OSC 52),
    // a cursor report request, an odd 256-colour pair, raw C1 CSI and OSC, a bidi override.
    let hostile = "PWNED-TITLE\x1b]0;PWNED\x07\x1b]52;c;cGFzcw==\x07\x1b[6n\x1b[38;5;199m\u{9b}2J\u{9d}8;;x\u{202e}evil";
    let (raw, screen) = cockpit_bytes(hostile);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("\x1b]"),
        "an OSC sequence reached the terminal"
    );
    for sequence in ["\x1b[6n", "\x1b[38;5;199m"] {
        assert!(
            !text.contains(sequence),
            "{sequence:?} reached the terminal"
        );
    }
    for c in ['\u{9b}', '\u{9d}', '\u{202e}'] {
        assert!(!text.contains(c), "{c:?} reached the terminal");
    }
    assert!(
        screen.contains(r"PWNED-TITLE\x1b]0;PWNED\x07"),
        "the operator sees the escapes:\n{screen}"
    );
}
