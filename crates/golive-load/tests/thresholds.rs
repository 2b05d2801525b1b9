#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
mod common;

use std::time::Duration;

use golive_load::{LoadConfig, LoadRun, ThresholdState};

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Plan {
    name: String,
    load: LoadConfig,
}

fn parse_plan(yaml: &str) -> Result<Plan, String> {
    serde_saphyr::from_str::<Plan>(yaml).map_err(|e| e.to_string())
}

/// The `load:` example of docs/load.md, read from the docs so they cannot drift from what
/// parses, under a plan `name`.
fn documented_example() -> String {
    const DOCS: &str = include_str!("../../../docs/load.md");
    let start = DOCS
        .find("```yaml\nload:")
        .expect("docs/load.md keeps its ```yaml load: example")
        + "```yaml\n".len();
    let len = DOCS[start..]
        .find("```")
        .expect("the docs example block is closed");
    format!("name: demo\n{}", &DOCS[start..start + len])
}

/// 1-based line and column where `needle` first occurs in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text}"));
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (text[..at].matches('\n').count() + 1, at - line_start + 1)
}

#[test]
fn the_documented_plan_example_parses_validates_and_round_trips() {
    let plan = parse_plan(&documented_example()).unwrap();
    plan.load.validate().unwrap();
    assert_eq!(plan.load.scenarios.len(), 2);
    assert_eq!(plan.load.timeout.0, Duration::from_secs(10));
    let health = &plan.load.scenarios["health"];
    assert_eq!(health.requests[1].name.as_deref(), Some("exercises"));
    assert_eq!(
        health.requests[1].timeout.map(|t| t.0),
        Some(Duration::from_secs(5))
    );
    let long = plan
        .load
        .thresholds
        .iter()
        .find(|(k, _)| k.filter.name.is_some())
        .unwrap();
    assert!(long.1[0].abort_on_fail);
    assert_eq!(
        long.1[0].delay_abort_eval.map(|d| d.0),
        Some(Duration::from_secs(10))
    );
    assert_eq!(plan.load.planned_duration(), Duration::from_secs(30));
    // Serialize → deserialize gives the same config.
    let json = serde_json::to_string(&plan.load).unwrap();
    let back: LoadConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}

#[test]
fn a_bad_threshold_in_a_plan_is_reported_with_line_and_column() {
    let yaml = documented_example().replace("\"p(99)<500\"", "\"p99<500\"");
    let err = parse_plan(&yaml).unwrap_err();
    assert!(err.contains("expected a threshold like p(95)<200"), "{err}");
    assert!(err.contains("p99<500"), "{err}");
    let (line, column) = position(&yaml, "\"p99<500\"");
    assert!(
        err.contains(&format!("line {line} column {column}")),
        "no position {line}:{column} in: {err}"
    );
}

#[test]
fn a_bad_duration_in_a_plan_is_reported_with_line_and_column() {
    let yaml = documented_example().replace("duration: 30s", "duration: 30 seconds");
    let err = parse_plan(&yaml).unwrap_err();
    assert!(err.contains("expected a duration like 30s"), "{err}");
    let (line, _) = position(&yaml, "duration: 30 seconds");
    assert!(
        err.contains(&format!("line {line} column")),
        "no line {line} in: {err}"
    );
}

#[test]
fn unknown_keys_and_metrics_are_plan_errors() {
    let err =
        parse_plan(&documented_example().replace("vus: 10", "vus: 10\n      vu: 3")).unwrap_err();
    assert!(err.contains("vu"), "{err}");
    let err =
        parse_plan(&documented_example().replace("http_reqs:", "http_requests:")).unwrap_err();
    assert!(err.contains("unknown metric"), "{err}");
    let err =
        parse_plan(&documented_example().replace("- GET /health", "- FETCH /health")).unwrap_err();
    assert!(err.contains("expected a request like"), "{err}");
}

#[test]
fn validate_names_the_field_path_of_cross_field_errors() {
    let yaml = documented_example()
        .replace("maxVUs: 100", "maxVUs: 5")
        .replace("http_reqs: [\"rate>100\"]", "http_reqs: [\"p(95)<1\"]");
    let errs = parse_plan(&yaml).unwrap().load.validate().unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|e| e.starts_with("load.scenarios.spike.maxVUs: must be >= preAllocatedVUs (20)")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.starts_with("load.thresholds.http_reqs[0]")),
        "{text:?}"
    );
    let yaml = documented_example().replace("vus: 10", "vus: 10\n      rate: 5");
    let errs = parse_plan(&yaml).unwrap().load.validate().unwrap_err();
    assert_eq!(errs[0].path, "load.scenarios.health.rate");
    assert!(
        errs[0]
            .message
            .contains("not an option of executor constant-vus")
    );
}

#[test]
fn a_threshold_that_does_not_fit_its_metric_is_located_at_its_key_quoted_or_not() {
    let bad = "    http_reqs: [\"p(95)<1\"]";
    let yaml = documented_example().replace("    http_reqs: [\"rate>100\"]", bad);
    let errs = parse_plan(&yaml).unwrap().load.validate().unwrap_err();
    assert_eq!(errs[0].path, "load.thresholds.http_reqs[0]", "{errs:?}");
    let (line, _) = position(&yaml, bad);
    assert_eq!(errs[0].locate(&yaml), Some((line, 5)));

    // Single-quoted, with a dot inside the tag value: the path quotes it as one key.
    let bad = "    'http_req_duration{name:api.v1}': ['rate<1']";
    let yaml = documented_example().replace(
        "    http_reqs: [\"rate>100\"]",
        &format!("{bad}\n    http_reqs: [\"rate>100\"]"),
    );
    let errs = parse_plan(&yaml).unwrap().load.validate().unwrap_err();
    assert_eq!(
        errs[0].path, "load.thresholds.\"http_req_duration{name:api.v1}\"[0]",
        "{errs:?}"
    );
    let (line, _) = position(&yaml, bad);
    assert_eq!(errs[0].locate(&yaml), Some((line, 5)));

    // Other paths too, inside a flow mapping; `maxVUs` is not taken for `preAllocatedVUs`.
    let yaml = documented_example().replace("maxVUs: 100", "maxVUs: 5");
    let errs = parse_plan(&yaml).unwrap().load.validate().unwrap_err();
    assert_eq!(errs[0].path, "load.scenarios.spike.maxVUs", "{errs:?}");
    assert_eq!(errs[0].locate(&yaml), Some(position(&yaml, "maxVUs: 5")));
}

fn run_config(base: &str, body: &str) -> LoadConfig {
    common::config(&format!("load:\n  target: {base}\n{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_evaluate_on_tag_filtered_submetrics() {
    let server = common::start().await;
    let cfg = run_config(
        &server.base(),
        "  scenarios:
    s: {executor: constant-vus, vus: 2, duration: 1s, requests: [{path: /delay?ms=1, name: fast}, {path: /delay?ms=60, name: slow}, GET /error]}
  thresholds:
    'http_req_duration{name:fast}': ['p(95)<50', 'med<50']
    'http_req_duration{name:slow}': ['p(95)<50']
    'http_reqs{status:500}': ['count>0']
    'http_req_failed{name:fast}': ['rate==0']
    http_req_failed: ['rate<0.01']
    http_reqs: ['rate>1']
    'http_req_duration{scenario:s}': ['max<1000']
",
    );
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let get = |metric: &str, expr: &str| {
        summary
            .thresholds()
            .iter()
            .find(|t| t.metric == metric && t.expr == expr)
            .unwrap_or_else(|| panic!("{metric} {expr} missing: {:?}", summary.thresholds()))
            .clone()
    };
    assert_eq!(
        get("http_req_duration{name:fast}", "p(95)<50").state,
        ThresholdState::Pass
    );
    assert_eq!(
        get("http_req_duration{name:fast}", "med<50").state,
        ThresholdState::Pass
    );
    let slow = get("http_req_duration{name:slow}", "p(95)<50");
    assert_eq!(slow.state, ThresholdState::Fail);
    assert!(slow.value.unwrap() >= 60.0);
    assert_eq!(
        get("http_reqs{status:500}", "count>0").state,
        ThresholdState::Pass
    );
    assert_eq!(
        get("http_req_failed{name:fast}", "rate==0").state,
        ThresholdState::Pass
    );
    let failed = get("http_req_failed", "rate<0.01");
    assert_eq!(failed.state, ThresholdState::Fail);
    assert!((failed.value.unwrap() - 1.0 / 3.0).abs() < 0.05);
    assert_eq!(get("http_reqs", "rate>1").state, ThresholdState::Pass);
    assert_eq!(
        get("http_req_duration{scenario:s}", "max<1000").state,
        ThresholdState::Pass
    );
    assert!(!summary.thresholds_ok());
    assert!(summary.aborted.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_on_fail_stops_the_run_early() {
    let server = common::start().await;
    let cfg = run_config(
        &server.base(),
        "  scenarios:
    s: {executor: constant-vus, vus: 2, duration: 10s, requests: [GET /error]}
  thresholds:
    http_req_failed: [{threshold: 'rate<0.01', abortOnFail: true}]
",
    );
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    assert!(
        summary.snapshot.elapsed < Duration::from_secs(3),
        "{:?}",
        summary.snapshot.elapsed
    );
    assert!(
        summary
            .aborted
            .as_deref()
            .unwrap()
            .contains("http_req_failed rate<0.01"),
        "{:?}",
        summary.aborted
    );
    assert!(!summary.thresholds_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_abort_eval_postpones_the_abort() {
    let server = common::start().await;
    let cfg = run_config(
        &server.base(),
        "  scenarios:
    s: {executor: constant-vus, vus: 2, duration: 10s, requests: [GET /error]}
  thresholds:
    http_req_failed: [{threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: 2s}]
",
    );
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let elapsed = summary.snapshot.elapsed;
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    assert!(summary.aborted.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_without_samples_is_not_a_pass() {
    let server = common::start().await;
    let cfg = run_config(
        &server.base(),
        "  scenarios:
    s: {executor: constant-vus, vus: 1, duration: 300ms, requests: [GET /a]}
  thresholds:
    'http_req_duration{status:500}': ['p(95)<100']
    'http_reqs{status:500}': ['count<1']
",
    );
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let states: Vec<_> = summary
        .thresholds()
        .iter()
        .map(|t| (t.metric.clone(), t.state))
        .collect();
    assert!(
        states.contains(&(
            "http_req_duration{status:500}".into(),
            ThresholdState::NoData
        )),
        "{states:?}"
    );
    assert!(
        states.contains(&("http_reqs{status:500}".into(), ThresholdState::Pass)),
        "{states:?}"
    );
    assert!(!summary.thresholds_ok());
}
