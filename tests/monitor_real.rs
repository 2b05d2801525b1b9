//! The metrics client against a real Prometheus 2.42 and Alertmanager 0.25 (Debian's
//! `prometheus` and `prometheus-alertmanager`), scraping the demo service whose errors
//! and latency the test sets: no traffic, healthy traffic, an error burst, an alert that
//! fires, is silenced and resolves, a condition held `for` 30 s, a syntax error, Prometheus gone. Missing binaries fail the test
//! (CI installs them in `.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/monitor_procs.rs"]
mod monitor_procs;

use golive::demo::service::DemoService;
use golive::metrics::alertmanager::AlertState;
use golive::metrics::client::{self, Endpoint};
use golive::metrics::prom::{PromError, QueryData};
use monitor_procs::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);

const RATIO: &str = r#"sum(rate(http_requests_total{job="gravl-backend",code=~"5.."}[5s]))
  / sum(rate(http_requests_total{job="gravl-backend"}[5s]))"#;
const P95: &str = r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="gravl-backend"}[5s])))"#;

const RULES: &str = r#"groups:
  - name: gravl
    rules:
      - alert: GravlBackendHighErrorRate
        expr: |
          sum(rate(http_requests_total{job="gravl-backend",code=~"5.."}[5s]))
            / sum(rate(http_requests_total{job="gravl-backend"}[5s])) > 0.05
        for: 0s
        labels: {severity: critical, namespace: gravl-staging}
        annotations: {summary: "gravl-backend answers more than 5% 5xx"}
"#;

/// The single value of an instant vector, or `None` when it is empty.
async fn ratio(prom: &Endpoint) -> Option<f64> {
    let answer = client::instant(prom, RATIO, None, T).await.unwrap();
    let QueryData::Vector(samples) = answer.data else {
        panic!("the ratio is not a vector: {answer:?}")
    };
    assert!(samples.len() <= 1, "{samples:?}");
    samples.first().map(|s| s.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_and_alertmanager_answer_the_client() {
    let started = Instant::now();
    let service = DemoService::start().await.unwrap();
    let am = start_alertmanager();
    let prom = start_prometheus(&service.url(), Some(&am.url), RULES);
    let prom_ep = Endpoint::new(&prom.url);
    let am_ep = Endpoint::new(&am.url);
    wait_ready(&prom_ep, Some(&am_ep), &[&prom, &am]).await;

    let version = client::buildinfo(&prom_ep, T).await.unwrap();
    assert!(version.starts_with("2."), "{version}");
    let status = client::am_status(&am_ep, T).await.unwrap();
    assert_eq!(status.cluster, "disabled");
    assert!(status.version.starts_with("0."), "{}", status.version);

    let err = client::instant(&prom_ep, "sum(rate(http_requests_total[1m])", None, T)
        .await
        .unwrap_err();
    let PromError::Api {
        status,
        error_type,
        error,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((status, error_type.as_str()), (400, "bad_data"));
    assert!(error.contains("parse error"), "{error}");

    // Scraped, but nobody called the service: no request series, so no ratio at all.
    wait_for("the first scrape of the demo service", || async {
        let up = client::instant(&prom_ep, r#"up{job="gravl-backend"}"#, None, T).await;
        matches!(up, Ok(a) if matches!(&a.data, QueryData::Vector(s) if s.len() == 1 && s[0].value == 1.0))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ratio(&prom_ep).await,
        None,
        "no traffic must be no data, not 0"
    );

    let traffic = Traffic::start(&service.url());
    wait_for("a ratio over healthy traffic", || async {
        ratio(&prom_ep).await.is_some()
    })
    .await;
    assert_eq!(
        ratio(&prom_ep).await,
        Some(0.0),
        "healthy traffic is a real 0"
    );

    service.set_faults(0.3, Duration::from_millis(40));
    wait_for("the error ratio to rise", || async {
        ratio(&prom_ep).await.is_some_and(|r| r > 0.05)
    })
    .await;
    let r = ratio(&prom_ep).await.unwrap();
    assert!(r > 0.0 && r < 1.0, "{r}");
    wait_for("p95 above the injected 40 ms", || async {
        let answer = client::instant(&prom_ep, P95, None, T).await.unwrap();
        matches!(&answer.data, QueryData::Vector(s) if s.len() == 1 && s[0].value > 0.025)
    })
    .await;

    let filter = [r#"alertname="GravlBackendHighErrorRate""#.to_string()];
    wait_for("the alert to reach Alertmanager", || async {
        let alerts = client::am_alerts(&am_ep, &filter, T).await.unwrap();
        alerts.len() == 1 && alerts[0].state == AlertState::Active
    })
    .await;
    let alerts = client::am_alerts(&am_ep, &filter, T).await.unwrap();
    assert_eq!(alerts[0].labels["namespace"], "gravl-staging");
    assert_eq!(
        alerts[0].annotations["summary"],
        "gravl-backend answers more than 5% 5xx"
    );
    assert!(alerts[0].starts_at.is_some() && !alerts[0].fingerprint.is_empty());
    let rule_alerts = client::prometheus_alerts(&prom_ep, T).await.unwrap();
    assert!(
        rule_alerts
            .iter()
            .any(|a| a.labels["alertname"] == "GravlBackendHighErrorRate" && a.state == "firing"),
        "{rule_alerts:?}"
    );

    let silence = create_silence(&am.url, "GravlBackendHighErrorRate").await;
    wait_for("the alert to be silenced", || async {
        let alerts = client::am_alerts(&am_ep, &filter, T).await.unwrap();
        alerts.len() == 1 && alerts[0].state == AlertState::Suppressed
    })
    .await;
    let alerts = client::am_alerts(&am_ep, &filter, T).await.unwrap();
    assert_eq!(alerts[0].silenced_by, [silence]);

    traffic.stop().await;
    let prom_url = prom.url.clone();
    drop(prom);
    let err = client::instant(&prom_ep, RATIO, None, T).await.unwrap_err();
    assert!(
        matches!(&err, PromError::Unreachable { url, .. } if url.starts_with(&prom_url)),
        "{err:?}"
    );
    drop(am);
    eprintln!("end to end in {:?}", started.elapsed());
}

#[tokio::test]
async fn demo_metrics_pass_promtool() {
    require("promtool");
    let service = DemoService::start().await.unwrap();
    let traffic = Traffic::start(&service.url());
    tokio::time::sleep(Duration::from_millis(300)).await;
    service.set_faults(0.5, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(300)).await;
    traffic.stop().await;
    let text = scrape(&format!("{}/metrics", service.url())).await;
    assert!(text.contains(r#"code="500""#), "{text}");
    assert!(text.contains(r#"le="+Inf""#), "{text}");
    let mut check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A JSON value's shape: keys and kinds, with arrays reduced to their distinct element
/// shapes. Values differ between the stand-in and Prometheus; shapes must not.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = items.iter().map(shape).collect();
            shapes.sort_by_key(|s| s.to_string());
            shapes.dedup();
            Value::Array(shapes)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

async fn get_json(url: &str) -> serde_json::Value {
    let text = scrape(url).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
}

fn query_url(base: &str, path: &str, pairs: &[(&str, String)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    format!("{base}{path}?{}", q.finish())
}

const WATCHDOG: &str = r#"groups:
  - name: pipeline
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
        annotations: {summary: "Always firing: proves the alerting pipeline works end to end."}
"#;

/// Where a stand-in's JSON differs in shape from real Prometheus's and Alertmanager's,
/// for the same `queries` (instant and range), errors, build info and alert lists.
async fn shape_differences(real: &str, am: &str, fake: &str, queries: &[&str]) -> Vec<String> {
    let mut differences = Vec::new();
    let mut compare = |what: String, r: &serde_json::Value, f: &serde_json::Value| {
        if shape(r) != shape(f) {
            differences.push(format!("{what}:\n  real     {r}\n  stand-in {f}"));
        }
    };
    for query in queries {
        let instant =
            |base: &str| query_url(base, "/api/v1/query", &[("query", query.to_string())]);
        // Wait until the real one has data: rate() needs two scrapes in its window.
        wait_for(&format!("real data for {query}"), || async {
            let v = get_json(&instant(real)).await;
            v["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        })
        .await;
        let (r, f) = (
            get_json(&instant(real)).await,
            get_json(&instant(fake)).await,
        );
        compare(format!("instant {query}"), &r, &f);

        let end = jiff::Timestamp::now();
        let range = |base: &str| {
            query_url(
                base,
                "/api/v1/query_range",
                &[
                    ("query", query.to_string()),
                    (
                        "start",
                        golive::metrics::prom::unix_text(end - jiff::SignedDuration::from_secs(10)),
                    ),
                    ("end", golive::metrics::prom::unix_text(end)),
                    ("step", "1".into()),
                ],
            )
        };
        let (r, f) = (get_json(&range(real)).await, get_json(&range(fake)).await);
        compare(format!("range {query}"), &r, &f);
    }

    let bad = |base: &str| query_url(base, "/api/v1/query", &[("query", "nonsense(".into())]);
    let (r, f) = (get_json(&bad(real)).await, get_json(&bad(fake)).await);
    compare("bad_data".into(), &r, &f);

    let path = "/api/v1/status/buildinfo";
    let (r, f) = (
        get_json(&format!("{real}{path}")).await,
        get_json(&format!("{fake}{path}")).await,
    );
    compare(path.into(), &r, &f);

    let watchdog = |base: &str| {
        query_url(
            base,
            "/api/v2/alerts",
            &[("filter", r#"alertname="Watchdog""#.into())],
        )
    };
    wait_for("the Watchdog in Alertmanager", || async {
        get_json(&watchdog(am))
            .await
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    let (r, f) = (
        get_json(&watchdog(am)).await,
        get_json(&watchdog(fake)).await,
    );
    compare("/api/v2/alerts".into(), &r, &f);
    let path = "/api/v2/status";
    let (r, f) = (
        get_json(&format!("{am}{path}")).await,
        get_json(&format!("{fake}{path}")).await,
    );
    compare(path.into(), &r, &f);

    let path = "/api/v1/alerts";
    let (r, f) = (
        get_json(&format!("{real}{path}")).await,
        get_json(&format!("{fake}{path}")).await,
    );
    let empty = serde_json::Value::Null;
    let fake_alert = f["data"]["alerts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["labels"]["alertname"] == "Watchdog"))
        .unwrap_or(&empty);
    compare(
        "/api/v1/alerts (the Watchdog)".into(),
        &r["data"]["alerts"][0],
        fake_alert,
    );
    differences
}

/// Prometheus scraping the demo service as `gravl-backend` with an always-firing
/// Watchdog, and Alertmanager receiving it; both ready, the service under traffic.
async fn real_servers() -> (DemoService, Proc, Proc, Traffic) {
    let service = DemoService::start().await.unwrap();
    let am = start_alertmanager();
    let prom = start_prometheus(&service.url(), Some(&am.url), WATCHDOG);
    wait_ready(
        &Endpoint::new(&prom.url),
        Some(&Endpoint::new(&am.url)),
        &[&prom, &am],
    )
    .await;
    let traffic = Traffic::start(&service.url());
    (service, prom, am, traffic)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_answers_in_the_same_shapes_as_real_prometheus() {
    use golive::demo::standin::{self as monitor, StandIn as MonitorStandIn};
    let (_service, prom, am, traffic) = real_servers().await;
    let standin = MonitorStandIn::start_at(
        1,
        jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30),
    )
    .await
    .unwrap();
    let differences = shape_differences(&prom.url, &am.url, &standin.url(), monitor::QUERIES).await;
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    traffic.stop().await;
}

/// The monitoring gates themselves (not only the client) over the real servers, as
/// `golive check` asks them: no traffic is unknown, healthy traffic passes on a real 0,
/// an error burst fails, a firing alert fails until silenced, a stopped Prometheus is
/// unknown with its error, never pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitoring_gates_judge_real_prometheus_and_alertmanager() {
    use golive::gates::Status;
    let service = DemoService::start().await.unwrap();
    let am = start_alertmanager();
    let prom = start_prometheus(&service.url(), Some(&am.url), RULES);
    let prom_ep = Endpoint::new(&prom.url);
    wait_ready(&prom_ep, Some(&Endpoint::new(&am.url)), &[&prom, &am]).await;
    let text = format!(
        r#"name: monitored
monitoring:
  prometheus: {{url: "{p}"}}
  alertmanager: {{url: "{a}"}}
gates:
  - id: error-rate
    title: errors
    group: monitoring
    checks:
      - prometheus:
          query: (sum(rate(http_requests_total{{job="gravl-backend",code=~"5.."}}[5s])) or vector(0)) / sum(rate(http_requests_total{{job="gravl-backend"}}[5s]))
          condition: "< 0.05"
          min_traffic: {{query: 'sum(rate(http_requests_total{{job="gravl-backend"}}[5s]))', above: 0.5}}
  - id: error-rate-held
    title: errors held for 30s
    group: monitoring
    checks:
      - prometheus:
          query: (sum(rate(http_requests_total{{job="gravl-backend",code=~"5.."}}[5s])) or vector(0)) / sum(rate(http_requests_total{{job="gravl-backend"}}[5s]))
          condition: "< 0.05"
          for: 30s
          every: 15s
  - id: alerts
    title: alerts
    group: monitoring
    checks:
      - alerts: {{matchers: ['namespace="gravl-staging"']}}
  - id: scraped
    title: scraped
    group: monitoring
    checks:
      - scraped: {{job: gravl-backend}}
"#,
        p = prom.url,
        a = am.url
    );
    let plan = golive::plan::parse("monitored.yaml", &text, |_| None).expect("the plan parses");
    let judge = || async {
        let metrics =
            golive::metrics::poll::once(&plan.plan, &Default::default(), &Default::default())
                .await
                .expect("monitored");
        let ctx = golive::gates::Context::new(jiff::Timestamp::now())
            .with_metrics(Some(std::sync::Arc::new(metrics)));
        let view = golive::cluster::ClusterView::new("", "", []);
        plan.plan
            .gates
            .iter()
            .map(|g| {
                let v = golive::gates::evaluate_gate(g, &view, &ctx);
                (v.id.clone(), (v.status, v.summary))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    wait_for("the first scrape", || async {
        judge().await["scraped"].0 == Status::Pass
    })
    .await;
    let quiet = judge().await;
    assert_eq!(
        quiet["error-rate"].0,
        Status::Unknown,
        "{:?}",
        quiet["error-rate"]
    );
    assert!(
        quiet["error-rate"].1.contains("no traffic"),
        "{:?}",
        quiet["error-rate"]
    );
    assert_eq!(quiet["alerts"].0, Status::Pass, "{:?}", quiet["alerts"]);

    let traffic = Traffic::start(&service.url());
    wait_for("a pass over healthy traffic", || async {
        judge().await["error-rate"].0 == Status::Pass
    })
    .await;
    assert!(judge().await["error-rate"].1.starts_with("0 meets < 0.05"));

    service.set_faults(0.3, Duration::ZERO);
    let burst = Instant::now();
    wait_for("the error burst to fail the gate", || async {
        judge().await["error-rate"].0 == Status::Fail
    })
    .await;
    // `for: 30s`: the same condition, held. Bad but not yet for 30 s is pending (warn),
    // judged from a range query over the last 30 s at a 15 s step, as `golive check` does.
    let early = judge().await;
    assert_eq!(
        early["error-rate-held"].0,
        Status::Warn,
        "{:?}",
        early["error-rate-held"]
    );
    wait_for("the firing alert to fail the alerts gate", || async {
        judge().await["alerts"].0 == Status::Fail
    })
    .await;
    assert_eq!(
        judge().await["alerts"].1,
        "firing: GravlBackendHighErrorRate"
    );
    create_silence(&am.url, "GravlBackendHighErrorRate").await;
    wait_for("the silenced alert to stop failing", || async {
        judge().await["alerts"].0 == Status::Pass
    })
    .await;
    // Held for 30 s (and a step): now the held gate fails too.
    let deadline = burst + Duration::from_secs(75);
    loop {
        let now = judge().await;
        if now["error-rate-held"].0 == Status::Fail {
            eprintln!(
                "held gate failed {:?} after the burst began",
                burst.elapsed()
            );
            assert!(
                burst.elapsed() >= Duration::from_secs(28),
                "{:?}",
                now["error-rate-held"]
            );
            break;
        }
        assert_eq!(
            now["error-rate-held"].0,
            Status::Warn,
            "{:?}",
            now["error-rate-held"]
        );
        assert!(
            Instant::now() < deadline,
            "the held gate never failed: {:?}",
            now["error-rate-held"]
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Resolved: the errors stop, the rule stops firing, Prometheus tells Alertmanager, and
    // the alert leaves the active list; the gate passes with nothing to show for it.
    service.set_faults(0.0, Duration::ZERO);
    let am_ep = Endpoint::new(&am.url);
    wait_for("the alert to resolve", || async {
        client::am_alerts(&am_ep, &[], T).await.is_ok_and(|alerts| {
            !alerts
                .iter()
                .any(|a| a.labels["alertname"] == "GravlBackendHighErrorRate")
        })
    })
    .await;
    let resolved = judge().await;
    assert_eq!(
        resolved["alerts"],
        (Status::Pass, "no alert firing".to_string())
    );
    assert_eq!(
        resolved["error-rate"].0,
        Status::Pass,
        "{:?}",
        resolved["error-rate"]
    );
    // `golive check` judges `for` over the last 30 s only (the issue's rule for a single
    // run): once that window is not bad throughout, the held gate is no longer failing.
    // Clearing after good has held as long is the cockpit's, over its own history
    // (`gates::monitor::held`, tested on its own).

    traffic.stop().await;
    drop(prom);
    let gone = judge().await;
    assert_eq!(
        gone["error-rate"].0,
        Status::Unknown,
        "{:?}",
        gone["error-rate"]
    );
    assert!(
        gone["error-rate"].1.contains("cannot reach"),
        "{:?}",
        gone["error-rate"]
    );
    assert_eq!(gone["scraped"].0, Status::Unknown);
    drop(am);
}

/// `golive check --deployed-at` (and the report's journaled deploy moment) against the
/// real Prometheus: the baseline is the query's mean over the window before the deploy,
/// the samples since come from a range query, and an error ratio that meets the absolute
/// condition but is far worse than before the deploy fails. Without a deploy moment the
/// evidence says no comparison was made; with one before any data, it says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_before_the_deploy_moment_fails_a_regression_the_condition_allows() {
    use golive::gates::Status;
    use golive::metrics::poll::{Deploy, once};
    let service = DemoService::start().await.unwrap();
    let prom = start_prometheus(&service.url(), None, WATCHDOG);
    let prom_ep = Endpoint::new(&prom.url);
    wait_ready(&prom_ep, None, &[&prom]).await;
    let before_any_data = jiff::Timestamp::now();
    let text = format!(
        r#"name: baselined
monitoring:
  prometheus: {{url: "{p}"}}
gates:
  - id: error-rate
    title: errors no worse than before the deploy
    group: monitoring
    checks:
      - prometheus:
          query: (sum(rate(http_requests_total{{job="gravl-backend",code=~"5.."}}[5s])) or vector(0)) / sum(rate(http_requests_total{{job="gravl-backend"}}[5s]))
          condition: "< 0.5"
          baseline: {{window: 30s, max_increase: 50%, min_increase: 0.01, min_samples: 2}}
          every: 15s
  - id: error-rate-held
    title: errors no worse than before the deploy, held 15s
    group: monitoring
    checks:
      - prometheus:
          query: (sum(rate(http_requests_total{{job="gravl-backend",code=~"5.."}}[5s])) or vector(0)) / sum(rate(http_requests_total{{job="gravl-backend"}}[5s]))
          condition: "< 0.5"
          baseline: {{window: 30s, max_increase: 50%, min_increase: 0.01, min_samples: 1}}
          for: 15s
          every: 15s
"#,
        p = prom.url
    );
    let plan = golive::plan::parse("baselined.yaml", &text, |_| None).expect("the plan parses");
    let judge_gate = |deploy: Deploy, gate: usize| {
        let plan = &plan;
        async move {
            let metrics = once(&plan.plan, &Default::default(), &deploy)
                .await
                .expect("monitored");
            let ctx = golive::gates::Context::new(jiff::Timestamp::now())
                .with_metrics(Some(std::sync::Arc::new(metrics)));
            let view = golive::cluster::ClusterView::new("", "", []);
            golive::gates::evaluate_gate(&plan.plan.gates[gate], &view, &ctx)
        }
    };
    let judge = |deploy: Deploy| judge_gate(deploy, 0);
    // Healthy traffic for the whole baseline window, then the deploy, then 30% errors.
    let traffic = Traffic::start(&service.url());
    tokio::time::sleep(Duration::from_secs(36)).await;
    let deployed = jiff::Timestamp::now();
    service.set_faults(0.3, Duration::ZERO);
    tokio::time::sleep(Duration::from_secs(20)).await;

    let regressed = judge(Deploy {
        at: Some(deployed),
        ..Deploy::default()
    })
    .await;
    let shown = format!("{regressed:#?}");
    assert_eq!(regressed.status, Status::Fail, "{shown}");
    assert!(shown.contains("worse than the baseline"), "{shown}");
    assert!(shown.contains("samples from"), "{shown}");
    // With `for`, the past 15 s (a range query) is judged against the baseline too: worse
    // throughout, so it fails, not merely warns.
    let held = judge_gate(
        Deploy {
            at: Some(deployed),
            ..Deploy::default()
        },
        1,
    )
    .await;
    let shown = format!("{held:#?}");
    assert_eq!(held.status, Status::Fail, "{shown}");

    // No deploy moment: the absolute condition (< 0.5) alone decides, and says so.
    let alone = judge(Deploy::default()).await;
    let shown = format!("{alone:#?}");
    assert_eq!(alone.status, Status::Pass, "{shown}");
    assert!(
        shown.contains("no baseline: relative comparison not made"),
        "{shown}"
    );

    // A deploy moment before Prometheus had any data: no baseline, in words; the
    // comparison is not made rather than passed.
    let too_early = judge(Deploy {
        at: Some(before_any_data - jiff::SignedDuration::from_secs(120)),
        ..Deploy::default()
    })
    .await;
    let shown = format!("{too_early:#?}");
    assert!(shown.contains("no data for"), "{shown}");
    assert_ne!(too_early.status, Status::Fail, "{shown}");
    traffic.stop().await;
}
