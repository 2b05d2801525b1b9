#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
mod common;

use golive_load::LoadRun;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_counts_as_failure_without_aborting_the_run() {
    let port = common::closed_port();
    let cfg = common::config(&format!(
        "load:
  target: http://127.0.0.1:{port}
  scenarios:
    s: {{executor: constant-vus, vus: 2, duration: 500ms, requests: [GET /]}}
"
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 10, "the run kept going: {}", s.http_reqs);
    assert_eq!(s.http_req_failed, s.http_reqs);
    assert_eq!(s.error_counts, vec![("refused".to_string(), s.http_reqs)]);
    assert!((s.failure_rate - 1.0).abs() < 1e-9);
    // Nothing was sent and no connection was made: no duration, no connecting time.
    assert_eq!(s.latency.count, 0, "{:?}", s.latency);
    assert_eq!(s.connecting.count, 0, "{:?}", s.connecting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_requests_count_in_http_req_duration_at_their_timeout() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  timeout: 200ms
  scenarios:
    s: {{executor: constant-vus, vus: 1, duration: 700ms, requests: [GET /delay?ms=2000]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs >= 3, "{}", s.http_reqs);
    assert_eq!(s.error_counts, vec![("timeout".to_string(), s.http_reqs)]);
    // k6 records an errored request's duration too; a stall beyond the timeout must not
    // leave the percentiles looking fast.
    assert_eq!(s.latency.count, s.http_reqs, "{:?}", s.latency);
    assert!(
        s.latency.min >= 199.0 && s.latency.max < 400.0,
        "{:?}",
        s.latency
    );
    assert_eq!(s.latency_uncorrected.count, s.http_reqs);
    assert_eq!(s.waiting.count, 0, "no response head arrived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeouts_count_as_failures_of_kind_timeout() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  timeout: 150ms
  scenarios:
    s: {{executor: constant-vus, vus: 2, duration: 1s, requests: [GET /delay?ms=2000, GET /]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    let timeouts = s
        .error_counts
        .iter()
        .find(|(k, _)| k == "timeout")
        .map(|(_, n)| *n)
        .unwrap_or(0);
    assert!(timeouts >= 8, "{:?}", s.error_counts);
    // The fast request after each timeout still succeeds on a fresh connection.
    assert_eq!(s.status_counts, vec![(200, s.http_reqs - timeouts)]);
    assert_eq!(s.http_req_failed, timeouts);
    assert!(
        s.elapsed.as_millis() < 1600,
        "in-flight requests end at their timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_timeout_overrides_the_default() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  timeout: 10s
  scenarios:
    s: {{executor: constant-vus, vus: 1, duration: 500ms, requests: [{{path: /delay?ms=1000, timeout: 100ms}}]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs >= 4, "{}", s.http_reqs);
    assert_eq!(s.error_counts, vec![("timeout".to_string(), s.http_reqs)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate_fails_with_kind_tls() {
    let server = common::start_tls().await;
    let cfg = common::config(&format!(
        "load:
  target: https://localhost:{}
  scenarios:
    s: {{executor: constant-vus, vus: 1, duration: 300ms, requests: [GET /]}}
",
        server.addr.port()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 0);
    assert_eq!(s.error_counts, vec![("tls".to_string(), s.http_reqs)]);
    assert_eq!(server.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_skip_tls_verify_accepts_a_self_signed_certificate_over_http2() {
    let server = common::start_tls().await;
    let cfg = common::config(&format!(
        "load:
  target: https://localhost:{}
  insecureSkipTLSVerify: true
  scenarios:
    s: {{executor: constant-vus, vus: 2, duration: 500ms, requests: [GET /, POST /echo]}}
",
        server.addr.port()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert!(s.http_reqs > 10);
    assert_eq!(s.http_req_failed, 0, "{:?}", s.error_counts);
    assert_eq!(server.requests(), s.http_reqs);
    assert_eq!(
        server
            .state
            .http2_requests
            .load(std::sync::atomic::Ordering::SeqCst),
        s.http_reqs,
        "ALPN chose h2"
    );
    // One TLS handshake per VU, recorded as a real duration.
    assert!(s.tls_handshaking.max > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_count_as_failed_with_their_status() {
    let server = common::start().await;
    let cfg = common::config(&format!(
        "load:
  target: {}
  scenarios:
    s: {{executor: constant-vus, vus: 1, duration: 300ms, requests: [GET /error, GET /ok]}}
",
        server.base()
    ));
    let s = LoadRun::start(cfg).unwrap().wait().await.snapshot;
    assert_eq!(s.http_req_failed * 2, s.http_reqs);
    assert_eq!(
        s.status_counts,
        vec![(200, s.http_reqs / 2), (500, s.http_reqs / 2)]
    );
    assert!(s.error_counts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolvable_host_counts_as_dns_failure_without_aborting_the_run() {
    // RFC 6761: `.invalid` never resolves.
    let cfg = common::config(
        "load:
  target: http://nonexistent.invalid
  scenarios:
    s: {executor: constant-vus, vus: 1, duration: 500ms, requests: [GET /]}
",
    );
    let summary = LoadRun::start(cfg).unwrap().wait().await;
    let s = &summary.snapshot;
    assert!(s.http_reqs >= 1, "{}", s.http_reqs);
    assert_eq!(s.http_req_failed, s.http_reqs);
    assert_eq!(s.error_counts, vec![("dns".to_string(), s.http_reqs)]);
    assert!(summary.aborted.is_none(), "{:?}", summary.aborted);
    assert_eq!(s.iterations, s.http_reqs, "every iteration ran to its end");
}
