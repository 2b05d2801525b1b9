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
