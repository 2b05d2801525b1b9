//! The demo's Prometheus and Alertmanager stand-in through the real metrics client: the
//! demo plan's queries along its timeline, everything else refused with a message that
//! says it is a stand-in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use golive::demo::standin::{self as monitor, StandIn as MonitorStandIn};
use golive::metrics::alertmanager::AlertState;
use golive::metrics::client::{self, Endpoint};
use golive::metrics::prom::{PromError, QueryData};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

/// A stand-in whose story is already `seconds` old.
async fn at_story_second(seconds: i64) -> (MonitorStandIn, Endpoint) {
    let start = Timestamp::now() - SignedDuration::from_secs(seconds);
    let standin = MonitorStandIn::start_at(1, start).await.unwrap();
    let endpoint = Endpoint::new(standin.url());
    (standin, endpoint)
}

async fn single(endpoint: &Endpoint, query: &str) -> f64 {
    let answer = client::instant(endpoint, query, None, T).await.unwrap();
    let QueryData::Vector(samples) = answer.data else {
        panic!("{answer:?}")
    };
    assert_eq!(samples.len(), 1, "{samples:?}");
    samples[0].value
}

#[tokio::test]
async fn before_the_deploy_errors_are_low_and_only_the_watchdog_fires() {
    let (_standin, ep) = at_story_second(20).await;
    client::ready(&ep, T).await.unwrap();
    assert_eq!(client::buildinfo(&ep, T).await.unwrap(), monitor::VERSION);
    let ratio = single(&ep, monitor::ERROR_RATIO).await;
    assert!(ratio > 0.0 && ratio < 0.002, "{ratio}");
    let traffic = single(&ep, monitor::TRAFFIC).await;
    assert!((18.0..22.0).contains(&traffic), "{traffic}");
    let p95 = single(&ep, monitor::P95).await;
    let p99 = single(&ep, monitor::P99).await;
    assert!(p95 < 0.01 && p99 > p95 && p99 < 0.02, "{p95} {p99}");
    let up = client::instant(&ep, monitor::UP, None, T).await.unwrap();
    let QueryData::Vector(up) = up.data else {
        panic!()
    };
    assert_eq!(up.len(), 2);
    assert!(
        up.iter()
            .all(|s| s.value == 1.0 && s.labels["job"] == "gravl-backend")
    );
    assert_ne!(up[0].labels["instance"], up[1].labels["instance"]);

    let alerts = client::am_alerts(&ep, &[], T).await.unwrap();
    let names: Vec<&str> = alerts
        .iter()
        .map(|a| a.labels["alertname"].as_str())
        .collect();
    assert_eq!(names, ["Watchdog"]);
    let status = client::am_status(&ep, T).await.unwrap();
    assert_eq!(status.cluster, "disabled");
    assert!(status.version.contains("golive-standin"));
}

#[tokio::test]
async fn during_the_bad_deploy_errors_latency_and_the_alert_rise() {
    let (_standin, ep) = at_story_second(70).await;
    let ratio = single(&ep, monitor::ERROR_RATIO).await;
    assert!(ratio > 0.05, "{ratio}");
    assert!(single(&ep, monitor::P99).await > 0.05);
    let filters = [r#"namespace="gravl-staging""#.to_string()];
    // Alertmanager filters on its side; the stand-in returns every alert, the watchdog
    // among them, and golive's `alerts` check applies the matchers.
    let alerts = client::am_alerts(&ep, &filters, T).await.unwrap();
    let firing: Vec<_> = alerts
        .iter()
        .filter(|a| a.labels.get("namespace").map(String::as_str) == Some("gravl-staging"))
        .collect();
    assert_eq!(firing.len(), 1, "{alerts:?}");
    let alert = firing[0];
    assert_eq!(alert.labels["alertname"], "GravlBackendHighErrorRate");
    assert_eq!(alert.labels["severity"], "critical");
    assert_eq!(alert.state, AlertState::Active);
    assert!(alert.annotations["summary"].contains("5xx"));
    let rule_alerts = client::prometheus_alerts(&ep, T).await.unwrap();
    assert!(
        rule_alerts
            .iter()
            .any(|a| a.state == "firing" && a.labels["alertname"] == "GravlBackendHighErrorRate")
    );
}

#[tokio::test]
async fn a_range_over_the_story_shows_the_deploy_and_the_history_before_it() {
    let (_standin, ep) = at_story_second(120).await;
    let end = Timestamp::now();
    let start = end - SignedDuration::from_secs(180);
    let answer = client::range(
        &ep,
        monitor::ERROR_RATIO,
        start,
        end,
        Duration::from_secs(5),
        T,
    )
    .await
    .unwrap();
    let QueryData::Matrix(series) = answer.data else {
        panic!()
    };
    assert_eq!(series.len(), 1);
    let points = &series[0].points;
    // The stand-in answers for times before the story began too, as a real Prometheus
    // holds history: that is what a 30m baseline before the deploy is computed from.
    assert!((36..=37).contains(&points.len()), "{}", points.len());
    assert!(points[0].1 < 0.002, "{points:?}");
    let worst = points.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(
        worst > 0.05 && points.last().unwrap().1 < 0.003,
        "{points:?}"
    );
}

#[tokio::test]
async fn speed_plays_the_story_faster() {
    let standin = MonitorStandIn::start_at(10, Timestamp::now() - SignedDuration::from_secs(6))
        .await
        .unwrap();
    // 6 real seconds at speed 10 is story second 60: the deploy is at its worst.
    let ratio = single(&Endpoint::new(standin.url()), monitor::ERROR_RATIO).await;
    assert!(ratio > 0.05, "{ratio}");
}

#[tokio::test]
async fn other_queries_are_refused_as_a_stand_in() {
    let (_standin, ep) = at_story_second(10).await;
    let err = client::instant(&ep, "rate(node_cpu_seconds_total[5m])", None, T)
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
    assert!(
        error.starts_with("the golive demo stand-in answers only the demo plan's queries"),
        "{error}"
    );
    assert!(error.contains("node_cpu_seconds_total"), "{error}");
    let spaced = "sum( rate( http_requests_total{job=\"gravl-backend\"}[1m] ) )";
    assert!(client::instant(&ep, spaced, None, T).await.is_ok());
}
