#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
mod common;

use std::process::ExitCode;

use golive_load::cli::{LoadArgs, build_config, parse_threshold_arg, run, run_with_interrupts};
use golive_load::{GoDuration, Metric};

fn ad_hoc(url: String) -> LoadArgs {
    LoadArgs {
        url: Some(url),
        vus: Some(2),
        duration: Some("500ms".parse::<GoDuration>().unwrap()),
        quiet: true,
        ..LoadArgs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_export_writes_k6_shaped_json() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.json");
    let mut args = ad_hoc(server.url("/health"));
    args.thresholds = vec!["p(95)<2000".into(), "http_req_failed:rate<0.01".into()];
    args.summary_export = Some(file.clone());
    assert_eq!(run(args, None).await, ExitCode::SUCCESS);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let m = &json["metrics"];
    for key in ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"] {
        assert!(
            m["http_req_duration"][key].is_number(),
            "http_req_duration.{key} in {json}"
        );
    }
    let reqs = m["http_reqs"]["count"].as_u64().unwrap();
    assert!(reqs > 0);
    assert!(m["http_reqs"]["rate"].as_f64().unwrap() > 0.0);
    assert_eq!(m["http_req_failed"]["rate"], 0.0);
    assert_eq!(m["http_req_failed"]["passes"], 0);
    assert_eq!(m["http_req_failed"]["fails"].as_u64(), Some(reqs));
    for key in [
        "iterations",
        "data_received",
        "data_sent",
        "dropped_iterations",
    ] {
        assert!(m[key]["count"].is_u64(), "{key}");
    }
    assert_eq!(
        json["thresholds"]["http_req_duration"][0]["expr"],
        "p(95)<2000"
    );
    assert_eq!(json["thresholds"]["http_req_duration"][0]["ok"], true);
    assert_eq!(json["thresholds"]["http_req_failed"][0]["ok"], true);
    let ms = json["state"]["duration_ms"].as_u64().unwrap();
    assert!((400..2000).contains(&ms), "{ms}");
    assert_eq!(json["status_codes"]["200"].as_u64(), Some(reqs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_threshold_exits_99() {
    let server = common::start().await;
    let mut args = ad_hoc(server.url("/delay?ms=5"));
    args.thresholds = vec!["p(99)<1".into()];
    assert_eq!(run(args, None).await, ExitCode::from(99));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_flag_runs_constant_arrival_rate() {
    let server = common::start().await;
    let mut args = ad_hoc(server.url("/"));
    args.rate = Some(40.0);
    args.thresholds = vec!["http_reqs:count==20".into()];
    assert_eq!(run(args, None).await, ExitCode::SUCCESS);
    assert_eq!(server.requests(), 20);
}

#[tokio::test]
async fn bad_input_exits_2() {
    let mut args = ad_hoc("http://127.0.0.1:9/".into());
    args.thresholds = vec!["p95<200".into()];
    assert_eq!(run(args, None).await, ExitCode::from(2));
    assert_eq!(
        run(ad_hoc("ftp://example".into()), None).await,
        ExitCode::from(2)
    );
    assert_eq!(run(LoadArgs::default(), None).await, ExitCode::from(2));
}

#[test]
fn threshold_flags_name_their_metric_or_default_to_duration() {
    let (sel, spec) = parse_threshold_arg("p(95)<200").unwrap();
    assert_eq!(sel.metric, Metric::HttpReqDuration);
    assert_eq!(spec.expr.source, "p(95)<200");
    let (sel, _) = parse_threshold_arg("http_req_duration{name:health}:p(99)<100").unwrap();
    assert_eq!(sel.filter.name.as_deref(), Some("health"));
    let (sel, _) = parse_threshold_arg("http_reqs:rate>100").unwrap();
    assert_eq!(sel.metric, Metric::HttpReqs);
    assert!(
        parse_threshold_arg("rate<0.01")
            .unwrap_err()
            .contains("needs a metric")
    );
    assert!(parse_threshold_arg("http_reqs:p(95)<1").is_err());
}

#[test]
fn plan_and_url_are_mutually_exclusive() {
    let plan = golive_load::LoadConfig::ad_hoc(
        "http://127.0.0.1:1/",
        1,
        std::time::Duration::from_secs(1),
        None,
    );
    let err = build_config(&ad_hoc("http://127.0.0.1:1/".into()), Some(plan.clone())).unwrap_err();
    assert!(err.contains("either --plan or --url"));
    let args = LoadArgs {
        thresholds: vec!["p(95)<10".into()],
        insecure: true,
        ..LoadArgs::default()
    };
    let cfg = build_config(&args, Some(plan)).unwrap();
    assert!(cfg.insecure_skip_tls_verify);
    assert_eq!(cfg.thresholds.len(), 1);
}

/// Runs `args` and sends an interrupt (a Ctrl-C) after each delay in turn.
async fn run_interrupted(args: LoadArgs, after: &[u64]) -> ExitCode {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let press = async {
        for ms in after {
            tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
            let _ = tx.send(());
        }
    };
    let (code, ()) = tokio::join!(run_with_interrupts(args, None, rx), press);
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_interrupt_lets_in_flight_requests_finish() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.json");
    let mut args = ad_hoc(server.url("/delay?ms=400"));
    args.duration = Some("10s".parse::<GoDuration>().unwrap());
    args.summary_export = Some(file.clone());
    let started = std::time::Instant::now();
    assert_eq!(run_interrupted(args, &[200]).await, ExitCode::SUCCESS);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // Both VUs' first requests were in flight at the interrupt and completed.
    assert_eq!(json["metrics"]["http_reqs"]["count"], 2);
    assert_eq!(json["state"]["aborted"], "stopped on request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_stops_at_once_prints_what_was_measured_and_exits_105() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.json");
    let mut args = ad_hoc(server.url("/delay?ms=5000"));
    args.duration = Some("10s".parse::<GoDuration>().unwrap());
    args.summary_export = Some(file.clone());
    let started = std::time::Instant::now();
    // The first interrupt waits for the 5 s requests; the second does not.
    assert_eq!(
        run_interrupted(args, &[200, 200]).await,
        ExitCode::from(105)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // k6: interrupted iterations and the requests they waited on are not counted.
    assert_eq!(json["metrics"]["http_reqs"]["count"], 0);
    assert_eq!(json["metrics"]["iterations"]["count"], 0);
    assert!(
        json["state"]["aborted"]
            .as_str()
            .is_some_and(|a| a.contains("at once")),
        "{json}"
    );
    assert_eq!(server.requests(), 2);
}
