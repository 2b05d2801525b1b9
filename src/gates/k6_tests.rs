//! k6's summary files as load evidence: shapes, numbers, judgement, errors.

use super::k6::{self, SummaryFormat};
use super::load::thresholds as verdict;
use super::load_file::{SummaryFile, evidence};
use super::{LoadEvidence, Status};
use jiff::Timestamp;
use serde_json::{Value, json};

const FLAT: &str = include_str!("../../tests/fixtures/k6/gravl-summary-export.json");
const HANDLE: &str = include_str!("../../tests/fixtures/k6/gravl-handle-summary.json");

fn written() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("timestamp")
}

fn gravl_load() -> golive_load::LoadConfig {
    crate::plan::load("gravl")
        .expect("the gravl plan loads")
        .plan
        .load
        .expect("the gravl plan has a load section")
}

fn judged(text: &str) -> LoadEvidence {
    let file = SummaryFile {
        path: "results.json",
        text,
        modified: Some(written()),
    };
    evidence(&file, Some(&gravl_load())).expect("the file reads")
}

fn read_err(text: &str) -> String {
    let file = SummaryFile {
        path: "results.json",
        text,
        modified: Some(written()),
    };
    evidence(&file, Some(&gravl_load())).expect_err("the file is refused")
}

fn threshold<'a>(e: &'a LoadEvidence, metric: &str, expr: &str) -> &'a super::ThresholdEvidence {
    e.thresholds
        .iter()
        .find(|t| t.metric == metric && t.expr == expr)
        .unwrap_or_else(|| panic!("no {metric} {expr} in {:#?}", e.thresholds))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

#[test]
fn each_writer_is_recognised_by_the_shape_of_its_file() {
    assert_eq!(
        k6::recognise(&parse(FLAT)),
        Ok(SummaryFormat::K6SummaryExport)
    );
    assert_eq!(
        k6::recognise(&parse(HANDLE)),
        Ok(SummaryFormat::K6HandleSummary)
    );
    let golive = json!({"metrics": {"http_reqs": {"count": 1}}, "thresholds": {}, "state": {}});
    assert_eq!(k6::recognise(&golive), Ok(SummaryFormat::Golive));
    let k6v2 = json!({"version": "1.0.0", "metadata": {"k6Version": "2.0.0"},
        "config": {"duration": 30}, "results": {"metrics": []}});
    assert_eq!(k6::recognise(&k6v2), Ok(SummaryFormat::K6MachineReadable));
    for other in [json!([1, 2]), json!({"data": {}}), json!({"metrics": {}})] {
        let err = k6::recognise(&other).expect_err("not a summary");
        assert!(err.contains("handleSummary"), "{err}");
    }
}

#[test]
fn the_flat_export_inverts_its_threshold_flags_and_reads_a_rate_value_as_rate() {
    let s = k6::read(FLAT, &parse(FLAT), SummaryFormat::K6SummaryExport).expect("reads");
    let d = &s.metrics["http_req_duration"];
    assert!(
        d.thresholds["p(95)<200"],
        "k6 writes false for a met threshold"
    );
    assert_eq!(d.values["p(95)"], Some(6.98));
    assert!(!d.values.contains_key("p(99)"));
    assert_eq!(s.metrics["http_req_failed"].values["rate"], Some(0.0));
    let secs = s.duration_ms.expect("count over rate") / 1000.0;
    assert!((secs - 30.26).abs() < 0.01, "{secs}");
}

#[test]
fn the_gravl_run_fails_its_rate_target_and_leaves_p99_unknown_in_both_k6_shapes() {
    for (text, format) in [
        (FLAT, "k6 --summary-export"),
        (HANDLE, "k6 handleSummary data"),
    ] {
        let e = judged(text);
        assert_eq!(e.requests, 600);
        let source = e.source.as_ref().expect("a source");
        assert_eq!(source.format, format);
        assert!(source.figures.contains("19.83 req/s"), "{}", source.figures);
        assert!(
            source.figures.contains("p(95) 6.98 ms"),
            "{}",
            source.figures
        );
        let rate = threshold(&e, "http_reqs", "rate>100");
        assert_eq!(rate.status(), Status::Fail);
        assert_eq!(rate.measured, "19.83");
        let p99 = threshold(&e, "http_req_duration", "p(99)<500");
        assert_eq!(p99.status(), Status::Unknown);
        assert_eq!(
            p99.unknown.as_deref(),
            Some("k6 did not export p(99); add it to summaryTrendStats")
        );
        assert_eq!(p99.k6_ok, Some(true), "k6's own word is kept beside");
        let p95 = threshold(&e, "http_req_duration", "p(95)<200");
        assert_eq!((p95.status(), p95.k6_ok), (Status::Pass, Some(true)));
        assert_eq!(p95.measured, "6.98 ms");
        // The script's own thresholds the plan does not name are shown, and judged.
        let errors = threshold(&e, "errors", "rate<0.01");
        assert!(errors.script_only);
        assert_eq!(errors.status(), Status::Pass);
        let v = verdict(Some(&e));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(
            v.summary.contains("http_reqs rate>100 (measured 19.83)"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence
                .iter()
                .any(|ev| ev.detail.contains("k6 did not export p(99)")),
            "{:?}",
            v.evidence
        );
    }
}

#[test]
fn a_run_that_meets_everything_but_lacks_p99_is_unknown_never_pass() {
    let mut json = parse(HANDLE);
    json["metrics"]["http_reqs"]["values"]["rate"] = json!(150.0);
    let e = judged(&json.to_string());
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Unknown, "{v:?}");
    assert!(
        v.summary.contains("add it to summaryTrendStats"),
        "{}",
        v.summary
    );
}

#[test]
fn with_every_statistic_exported_and_met_the_gate_passes() {
    let mut json = parse(HANDLE);
    json["metrics"]["http_reqs"]["values"]["rate"] = json!(150.0);
    json["metrics"]["http_req_duration"]["values"]["p(99)"] = json!(14.59);
    let e = judged(&json.to_string());
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert_eq!(
        threshold(&e, "http_req_duration", "p(99)<500").measured,
        "14.59 ms"
    );
}

#[test]
fn a_disagreement_between_k6_and_golive_is_named_and_never_passes() {
    let mut json = parse(FLAT);
    // k6 says p(95)<200 failed, yet the file's own p(95) is 6.98 ms.
    json["metrics"]["http_req_duration"]["thresholds"]["p(95)<200"] = json!(true);
    json["metrics"]["http_reqs"]["rate"] = json!(150.0);
    json["metrics"]["http_req_duration"]["p(99)"] = json!(14.59);
    let e = judged(&json.to_string());
    let p95 = threshold(&e, "http_req_duration", "p(95)<200");
    assert_eq!(p95.status(), Status::Fail);
    let d = p95.disagreement().expect("named");
    assert!(
        d.contains("golive and k6 disagree: k6 found it failed, golive met"),
        "{d}"
    );
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Fail);
    assert!(v.summary.contains("disagree"), "{}", v.summary);
}

#[test]
fn a_file_written_before_the_go_live_started_is_stale_evidence() {
    let mut json = parse(HANDLE);
    json["metrics"]["http_reqs"]["values"]["rate"] = json!(150.0);
    json["metrics"]["http_req_duration"]["values"]["p(99)"] = json!(14.59);
    let started = written()
        .checked_add(jiff::SignedDuration::from_secs(60))
        .expect("t");
    let e = judged(&json.to_string()).against_start(Some(started));
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Unknown, "{v:?}");
    assert!(
        v.summary
            .starts_with("stale evidence: results.json was written"),
        "{}",
        v.summary
    );
    let fresh = judged(&json.to_string()).against_start(Some(written()));
    assert_eq!(verdict(Some(&fresh)).status, Status::Pass);
    let text = json.to_string();
    let undated = SummaryFile {
        path: "results.json",
        text: &text,
        modified: None,
    };
    let e = evidence(&undated, Some(&gravl_load()))
        .expect("reads")
        .against_start(Some(started));
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Unknown, "{v:?}");
    assert!(
        v.summary.contains("has no time it was written"),
        "{}",
        v.summary
    );
}

#[test]
fn the_evidence_says_where_the_numbers_came_from() {
    let e = judged(HANDLE);
    let source = e.source.expect("source");
    assert_eq!(source.duration_s, Some(30.2572));
    let shown = source.describe();
    assert!(
        shown.starts_with("k6 handleSummary data results.json · run 30.3 s · written 2027-"),
        "{shown}"
    );
}

#[test]
fn k6_2_machine_readable_summary_gives_its_version_and_time_and_a_counter_rate() {
    let text = json!({
        "version": "1.0.0",
        "metadata": {"generatedAt": "2027-01-15T08:00:00Z", "k6Version": "2.0.1"},
        "config": {"duration": 30.0, "execution": "local", "script": "load-test.js"},
        "results": {"metrics": [
            {"name": "http_reqs", "type": "counter", "contains": "default", "values": {"count": 600}},
            {"name": "http_req_failed", "type": "rate", "contains": "default",
             "values": {"matches": 0, "total": 600, "rate": 0}},
            {"name": "http_req_duration", "type": "trend", "contains": "time",
             "values": {"avg": 2.8, "min": 0.61, "med": 1.94, "max": 21.77, "p(90)": 5.1, "p(95)": 6.98}}
        ]}
    })
    .to_string();
    let e = judged(&text);
    let source = e.source.as_ref().expect("source");
    assert_eq!(source.k6_version.as_deref(), Some("2.0.1"));
    assert_eq!(
        source.written_at,
        Some("2027-01-15T08:00:00Z".parse().expect("ts"))
    );
    assert_eq!(threshold(&e, "http_reqs", "rate>100").measured, "20");
    let p99 = threshold(&e, "http_req_duration", "p(99)<500");
    assert!(
        p99.unknown
            .as_deref()
            .is_some_and(|u| u.starts_with("k6's machine-readable summary holds no p(99)")),
        "{p99:?}"
    );
    assert!(source.describe().contains("· k6 2.0.1 ·"));
}

#[test]
fn a_truncated_file_is_refused_with_its_line_and_column() {
    let cut = &FLAT[..FLAT.find("\"http_req_failed\"").expect("there")];
    let err = read_err(cut);
    let line = cut.lines().count();
    assert!(err.starts_with(&format!("results.json:{line}:")), "{err}");
    assert!(err.contains("the file ends early (truncated?"), "{err}");
}

#[test]
fn malformed_json_is_refused_with_its_line_and_column() {
    let broken = FLAT.replacen("\"count\": 600,", "\"count\": 600,,", 1);
    let err = read_err(&broken);
    assert!(
        err.strip_prefix("results.json:")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit())),
        "{err}"
    );
    assert!(err.contains("not valid JSON"), "{err}");
}

#[test]
fn a_number_of_the_wrong_type_is_refused_where_it_stands() {
    let bad = FLAT.replacen("\"count\": 600,", "\"count\": \"600\",", 1);
    let err = read_err(&bad);
    let line = bad
        .lines()
        .position(|l| l.contains("\"count\": \"600\""))
        .expect("there")
        + 1;
    assert!(
        err.starts_with(&format!(
            "results.json:{line}:13: metrics.http_reqs.count: expected a number, got a string"
        )),
        "{err}"
    );
}

#[test]
fn k6_json_output_is_told_apart_from_a_summary() {
    let stream = concat!(
        r#"{"type":"Metric","data":{"name":"http_reqs","type":"counter"},"metric":"http_reqs"}"#,
        "\n",
        r#"{"type":"Point","data":{"time":"2027-01-15T08:00:00Z","value":1},"metric":"http_reqs"}"#,
        "\n"
    );
    let err = read_err(stream);
    assert!(err.contains("`--out json` stream of samples"), "{err}");
}

#[test]
fn something_else_says_what_golive_reads() {
    let err = read_err(r#"{"hello": "world"}"#);
    assert!(err.contains("k6's `--summary-export`"), "{err}");
}

#[test]
fn a_missing_submetric_and_a_null_statistic_are_unknown_with_the_reason() {
    let mut load = gravl_load();
    load.thresholds.insert(
        golive_load::MetricSelector::parse("http_req_duration{name:health}").expect("selector"),
        vec![serde_json::from_value(json!("p(95)<100")).expect("spec")],
    );
    let mut json = parse(HANDLE);
    json["metrics"]["http_req_duration"]["values"]["p(95)"] = Value::Null;
    let text = json.to_string();
    let file = SummaryFile {
        path: "results.json",
        text: &text,
        modified: Some(written()),
    };
    let e = evidence(&file, Some(&load)).expect("reads");
    let health = threshold(&e, "http_req_duration{name:health}", "p(95)<100");
    assert!(
        health
            .unknown
            .as_deref()
            .is_some_and(|u| u.contains("k6 exports a submetric only when a threshold")),
        "{health:?}"
    );
    let p95 = threshold(&e, "http_req_duration", "p(95)<200");
    assert_eq!(p95.status(), Status::Unknown);
    assert!(
        p95.unknown.as_deref().is_some_and(|u| u.contains("null")),
        "{p95:?}"
    );
}

/// A `golive load --summary-export` file as the load engine writes it.
fn golive_export(rate: f64, p99: f64, thresholds: Value) -> String {
    json!({
        "metrics": {
            "http_req_duration": {"avg": 2.9, "min": 0.8, "med": 2.1, "max": 40.0,
                                  "p(90)": 5.0, "p(95)": 6.98, "p(99)": p99, "p(99.9)": 30.0,
                                  "count": 600},
            "http_reqs": {"count": 600, "rate": rate},
            "http_req_failed": {"rate": 0.0, "passes": 0, "fails": 600},
        },
        "thresholds": thresholds,
        "state": {"duration_ms": 30000, "aborted": null, "thresholds_ok": true}
    })
    .to_string()
}

#[test]
fn golives_own_export_is_judged_on_its_numbers_against_the_plans_thresholds() {
    // An export whose own thresholds are all met but which the plan's targets fail: the
    // Gravl run again (19.83 req/s against rate>100).
    let only_p95 = json!({"http_req_duration": [{"expr": "p(95)<200", "ok": true, "value": 6.98}]});
    let e = judged(&golive_export(19.83, 12.0, only_p95.clone()));
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Fail, "{v:#?}");
    assert!(!threshold(&e, "http_reqs", "rate>100").ok);
    assert_eq!(threshold(&e, "http_reqs", "rate>100").measured, "19.83");
    assert!(threshold(&e, "http_req_duration", "p(99)<500").ok);
    assert_eq!(
        threshold(&e, "http_req_duration", "p(95)<200").k6_ok,
        Some(true)
    );
    let source = e.source.expect("source");
    assert_eq!(source.format, "golive load --summary-export");
    assert_eq!(source.duration_s, Some(30.0));

    // The same run at the planned rate passes.
    let e = judged(&golive_export(120.0, 12.0, only_p95));
    assert_eq!(
        verdict(Some(&e)).status,
        Status::Pass,
        "{:#?}",
        e.thresholds
    );
}

#[test]
fn a_hand_edited_ok_in_golives_export_does_not_pass_and_the_disagreement_is_named() {
    let edited = json!({"http_req_duration": [{"expr": "p(99)<500", "ok": true, "value": 900.0}]});
    let e = judged(&golive_export(120.0, 900.0, edited));
    let t = threshold(&e, "http_req_duration", "p(99)<500");
    assert!(!t.ok);
    assert_eq!(t.k6_ok, Some(true));
    let detail = t.detail();
    assert!(
        detail.contains("golive and the exporting run disagree"),
        "{detail}"
    );
    assert!(!detail.contains("k6"), "{detail}");
    assert_eq!(verdict(Some(&e)).status, Status::Fail);
}

#[test]
fn a_statistic_golives_export_lacks_is_unknown_never_pass() {
    let text = json!({
        "metrics": {"http_reqs": {"count": 500, "rate": 150.0},
                    "http_req_failed": {"rate": 0.0, "passes": 0, "fails": 500}},
        "thresholds": {"http_req_duration": [{"expr": "p(95)<200", "ok": true, "value": 3.1}]},
        "state": {"duration_ms": 5000, "aborted": null, "thresholds_ok": true}
    })
    .to_string();
    let e = judged(&text);
    let t = threshold(&e, "http_req_duration", "p(99)<500");
    assert_eq!(
        t.unknown.as_deref(),
        Some("the export holds no p(99) of http_req_duration")
    );
    // p(95) comes from the exported threshold's own value.
    assert!(threshold(&e, "http_req_duration", "p(95)<200").ok);
    assert_eq!(verdict(Some(&e)).status, Status::Unknown);
}

#[test]
fn an_exported_run_stopped_early_never_passes_even_with_its_thresholds_met() {
    let mut json: Value = serde_json::from_str(&golive_export(
        120.0,
        12.0,
        json!({"http_reqs": [{"expr": "rate>100", "ok": true, "value": 120.0}]}),
    ))
    .expect("json");
    json["state"]["aborted"] = "stopped on request".into();
    let e = judged(&json.to_string());
    let v = verdict(Some(&e));
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.summary.contains("stopped on request"), "{}", v.summary);
}

#[test]
fn the_error_position_helper_finds_nested_keys_in_order() {
    let text = "{\n  \"a\": {\"count\": 1},\n  \"b\": {\n    \"count\": 2\n  }\n}";
    assert_eq!(k6::locate(text, &["b", "count"]), Some((4, 5)));
    assert_eq!(k6::locate(text, &["c"]), None);
}

#[test]
fn a_load_section_runs_scenarios_or_judges_a_file_never_both() {
    let gravl = crate::plan::BUILTIN
        .iter()
        .find(|(n, _)| *n == "gravl")
        .map(|(_, t)| *t)
        .expect("the gravl plan");
    let both = gravl.replacen("\nload:\n", "\nload:\n  from: results.json\n", 1);
    let err = crate::plan::parse("plan.yaml", &both, |_| None)
        .expect_err("both refused")
        .to_string();
    assert!(err.contains("load.from"), "{err}");
    assert!(
        err.contains("either runs scenarios or judges a summary file"),
        "{err}"
    );
    let start = gravl.find("\nload:\n").expect("load") + 1;
    let end = gravl.find("\nrunbook:\n").expect("runbook") + 1;
    let only_file = format!(
        "{}load:\n  from: results.json\n  thresholds:\n    http_reqs: [\"rate>100\"]\n{}",
        &gravl[..start],
        &gravl[end..]
    );
    let plan = crate::plan::parse("plan.yaml", &only_file, |_| None).expect("a file alone is fine");
    assert_eq!(
        plan.plan.load.and_then(|l| l.from).as_deref(),
        Some("results.json")
    );
}

#[test]
fn a_key_written_with_unicode_escapes_is_still_located() {
    let text = "{\n  \"metrics\": {\n    \"caf\\u00e9\": {\"avg\": \"slow\"}\n  }\n}";
    assert_eq!(k6::locate(text, &["metrics", "café"]), Some((3, 5)));
    assert_eq!(k6::locate(text, &["metrics", "café", "avg"]), Some((3, 19)));
}
